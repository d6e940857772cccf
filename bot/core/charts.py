"""The digest's chart: the trust index per dimension over the last 8 weeks, as a PNG.

Drawn from a digest's stored ``trend`` figures only (already checked by the k rule) with
Pillow: lines and markers on a supersampled canvas, scaled down for smooth edges, and
Pillow's bundled scalable font. Each call draws on its own image, so several charts can
render at once in worker threads; :func:`trend_chart` runs the drawing off the event loop
with :func:`asyncio.to_thread`. (It was matplotlib: a server posting digests held some
73 MB more for it, numpy and their caches; with Pillow, some 16 MB.)
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping, Sequence
from datetime import date

from PIL import Image, ImageDraw, ImageFont

from bot.core.digests.figures import Trend

__all__ = ["point", "render_trend_png", "trend_chart"]

_COLOURS = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
)
WIDTH, HEIGHT = 800, 420  # pixels of the PNG
_SCALE = 2  # drawn this many times larger, then scaled down (antialiasing)
_Y_MIN, _Y_MAX = 0.8, 5.2  # the index runs 1..5
_INK, _GRID, _MUTED = "#222222", "#dddddd", "#555555"
_MARGIN = {"left": 70, "right": 160, "top": 42, "bottom": 62}


def point(i: int, value: float, weeks: int) -> tuple[float, float]:
    """Where week ``i`` of ``weeks`` with ``value`` is drawn, in the PNG's pixels."""
    left, right = _MARGIN["left"], WIDTH - _MARGIN["right"]
    top, bottom = _MARGIN["top"], HEIGHT - _MARGIN["bottom"]
    step = (right - left) / max(weeks, 1)
    return left + step * (i + 0.5), bottom - (value - _Y_MIN) / (_Y_MAX - _Y_MIN) * (bottom - top)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size * _SCALE)


def _segments(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points: a week without a figure is a gap, never a zero."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def render_trend_png(
    trend: Trend,
    *,
    title: str,
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """A PNG line chart of ``trend`` (a digest's 8 weeks of each dimension's index).

    Weeks without a shown figure are gaps in the line, never zeros. Blocking: call it from a
    thread (:func:`trend_chart`).
    """
    periods: Sequence[str] = trend.periods
    index: Mapping[str, Sequence[float | None]] = trend.index
    names = labels or {}
    s = _SCALE
    image = Image.new("RGB", (WIDTH * s, HEIGHT * s), "white")
    draw = ImageDraw.Draw(image)
    small, normal, big = _font(10), _font(11), _font(14)
    left, top = _MARGIN["left"] * s, _MARGIN["top"] * s
    right, bottom = (WIDTH - _MARGIN["right"]) * s, (HEIGHT - _MARGIN["bottom"]) * s

    weeks = len(periods)

    def x_of(i: int) -> float:
        return point(i, _Y_MIN, weeks)[0] * s

    def y_of(value: float) -> float:
        return point(0, value, weeks)[1] * s

    draw.text(((left + right) / 2, top / 2), title, fill=_INK, font=big, anchor="mm")
    for tick in range(1, 6):  # the grid and the y axis
        y = y_of(tick)
        draw.line([(left, y), (right, y)], fill=_GRID, width=s)
        draw.text((left - 8 * s, y), str(tick), fill=_INK, font=normal, anchor="rm")
    for i, period in enumerate(periods):  # the x axis
        label = date.fromisoformat(period).strftime("%-d %b")
        draw.line([(x_of(i), bottom), (x_of(i), bottom + 4 * s)], fill=_INK, width=s)
        draw.text((x_of(i), bottom + 7 * s), label, fill=_INK, font=normal, anchor="mt")
    draw.rectangle([(left, top), (right, bottom)], outline=_INK, width=s)
    draw.text(
        ((left + right) / 2, bottom + 30 * s), "Week starting", fill=_INK, font=normal, anchor="mt"
    )
    ylabel = Image.new("RGB", (int(bottom - top), 18 * s), "white")
    ImageDraw.Draw(ylabel).text(
        (ylabel.width / 2, ylabel.height / 2), "Trust index (1 to 5)", fill=_INK, font=normal,
        anchor="mm",
    )  # fmt: skip
    image.paste(ylabel.rotate(90, expand=True), (18 * s, int(top)))

    for i, (dimension, values) in enumerate(index.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        points = [None if v is None else (x_of(n), y_of(float(v))) for n, v in enumerate(values)]
        for run in _segments(points[: len(periods)]):
            if len(run) > 1:
                draw.line(run, fill=colour, width=2 * s, joint="curve")
            for x, y in run:
                r = 4 * s
                draw.ellipse([(x - r, y - r), (x + r, y + r)], fill=colour)
        legend_y = top + (14 + 18 * i) * s
        draw.line(
            [(right + 12 * s, legend_y), (right + 32 * s, legend_y)], fill=colour, width=2 * s
        )
        draw.text(
            (right + 38 * s, legend_y), names.get(dimension, dimension), fill=_INK, font=small,
            anchor="lm",
        )  # fmt: skip
    if not index:
        draw.text(
            ((left + right) / 2, (top + bottom) / 2), "not enough responses", fill=_MUTED,
            font=normal, anchor="mm",
        )  # fmt: skip
    out = io.BytesIO()
    image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


async def trend_chart(
    trend: Trend, *, title: str, labels: Mapping[str, str] | None = None
) -> bytes:
    """:func:`render_trend_png` in a worker thread, so the event loop keeps serving Slack."""
    return await asyncio.to_thread(render_trend_png, trend, title=title, labels=labels)
