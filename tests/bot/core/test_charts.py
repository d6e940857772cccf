"""The trend chart: a PNG drawn from stored figures, off the event loop."""

from __future__ import annotations

import io
import threading

import pytest

from bot.core import charts
from bot.core.digests import Trend

TREND = Trend.model_validate(
    {
        "periods": [f"2026-{m:02d}-{d:02d}" for m, d in ((10, 5), (10, 12), (10, 19), (10, 26))]
        + ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"],
        "index": {
            "care": [None, None, 3.0, 3.5, None, 4.0, 4.2, 3.9],
            "candor": [2.0, 2.5, 2.5, None, None, 3.0, 3.1, 3.3],
        },
    }
)


def test_the_chart_is_a_png() -> None:
    png = charts.render_trend_png(TREND, title="Trust index", labels={"care": "Care"})
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5_000


def test_the_same_figures_draw_the_same_chart() -> None:
    assert charts.render_trend_png(TREND, title="t") == charts.render_trend_png(TREND, title="t")


def test_an_empty_trend_still_draws() -> None:
    empty = Trend(periods=TREND.periods, index={})
    assert not empty.has_points()
    assert charts.render_trend_png(empty, title="t").startswith(b"\x89PNG")
    assert TREND.has_points()


async def test_drawing_runs_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    draw = charts.render_trend_png

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        threads.append(threading.get_ident())
        return draw(*args, **kwargs)

    monkeypatch.setattr(charts, "render_trend_png", spy)
    png = await charts.trend_chart(TREND, title="t")
    assert png.startswith(b"\x89PNG")
    assert threads and threads[0] != threading.get_ident()


def _pixel(png: bytes, xy: tuple[float, float]) -> tuple[int, int, int]:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return image.getpixel((round(xy[0]), round(xy[1])))  # type: ignore[return-value]


def _hex(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))


def test_a_week_without_a_figure_is_a_gap_not_a_zero() -> None:
    periods = TREND.periods[:4]
    gap = charts.render_trend_png(
        Trend(periods=periods, index={}, overall=[3.0, None, 3.0, 3.0]), title="t"
    )
    full = charts.render_trend_png(
        Trend(periods=periods, index={}, overall=[3.0, 3.0, 3.0, 3.0]), title="t"
    )
    y_range = charts.value_range([3.0])
    middle = charts.point(1, 3.0, 4, y_range)
    team = _hex(charts.TEAM)
    assert _pixel(full, middle) == team  # the line through the second week
    red, green, blue = _pixel(gap, middle)
    assert red == green == blue  # no line there: only the background or a grid line
    assert _pixel(gap, charts.point(0, 3.0, 4, y_range)) == team  # the figures that exist
    assert _pixel(gap, charts.point(2, 3.0, 4, y_range)) == team
    assert _pixel(gap, charts.point(1, y_range[0], 4, y_range)) != team  # nothing at the bottom


def test_week_one_is_not_a_dot_on_an_empty_eight_week_axis() -> None:
    """The axis starts at the first week with figures (at least 4 weeks wide): a team's
    first digest draws its point on a 4-week axis, not in the corner of 8."""
    periods = TREND.periods
    first = Trend(periods=periods, overall=[None] * 7 + [3.0], answered=[None] * 7 + [6])
    png = charts.render_trend_png(first, title="t")
    y_range = charts.value_range([3.0])
    assert _pixel(png, charts.point(3, 3.0, 4, y_range)) == _hex(charts.TEAM)


def test_the_focus_and_participation_are_drawn_beside_the_team_index() -> None:
    trend = Trend(
        periods=TREND.periods[-4:],
        index={"candor": [2.6, 2.8, None, 2.7]},
        overall=[3.4, 3.6, 3.5, 3.7],
        answered=[8, 7, 8, 6],
        asked=[8, 8, 8, 8],
    )
    png = charts.render_trend_png(trend, title="t", labels={"candor": "Candor"}, focus="candor")
    y_range = charts.value_range([3.4, 3.6, 3.5, 3.7, 2.6, 2.8, 2.7, 3.5])
    assert _pixel(png, charts.point(0, 2.6, 4, y_range)) == _hex(charts.FOCUS)
    assert _pixel(png, charts.point(0, 3.4, 4, y_range)) == _hex(charts.TEAM)
    x, _ = charts.point(0, 3.0, 4, y_range)
    bar_bottom = charts.HEIGHT - charts._MARGIN["bottom"] + 40 + charts._BARS_HEIGHT - 3
    assert _pixel(png, (x, bar_bottom)) == _hex(charts.BARS)  # week one's participation bar


def test_the_axis_zooms_to_the_figures_but_never_below_one_and_a_half_points() -> None:
    assert charts.value_range([3.4, 3.7]) == pytest.approx((2.65, 4.45))  # noise stays small
    assert charts.value_range([1.2, 4.9]) == (1.0, 5.0)  # ... and stays within 1..5
    assert charts.value_range([]) == (1.0, 5.0)
