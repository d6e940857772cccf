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


def test_a_week_without_a_figure_is_a_gap_not_a_zero() -> None:
    periods = TREND.periods[:3]
    gap = charts.render_trend_png(
        Trend(periods=periods, index={"care": [3.0, None, 3.0]}), title="t"
    )
    full = charts.render_trend_png(
        Trend(periods=periods, index={"care": [3.0, 3.0, 3.0]}), title="t"
    )
    middle = charts.point(1, 3.0, weeks=3)
    green = (0x1B, 0x9E, 0x77)
    assert _pixel(full, middle) == green  # the line through the middle week
    red, green_, blue = _pixel(gap, middle)
    assert red == green_ == blue  # no line there: only the background or a grid line
    assert _pixel(gap, charts.point(0, 3.0, weeks=3)) == green  # the figures that exist
    assert _pixel(gap, charts.point(2, 3.0, weeks=3)) == green
    assert _pixel(gap, charts.point(1, 1.0, weeks=3)) != green  # and no point at the bottom
