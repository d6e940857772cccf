"""The digest's chart, read in five seconds: the team's trust index over the last weeks
against its own usual level, the focus dimension beside it, and participation underneath.

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
import math
from collections.abc import Mapping, Sequence
from datetime import date

from PIL import Image, ImageDraw, ImageFont

from bot.core.digests.figures import Trend

__all__ = ["point", "render_trend_png", "trend_chart", "usual", "value_range"]

TEAM, USUAL, FOCUS, BARS = "#1f3b73", "#6b6b6b", "#c2410c", "#9db4d9"
WIDTH, HEIGHT = 800, 450  # pixels of the PNG: legible on a phone at half width
_SCALE = 2  # drawn this many times larger, then scaled down (antialiasing)
_INK, _GRID, _MUTED, _PAPER = "#1a1a1a", "#e3e3e3", "#555555", "#ffffff"
_MARGIN = {"left": 56, "right": 190, "top": 64, "bottom": 138}
_BARS_HEIGHT = 56  # the participation strip under the index
MIN_WEEKS = 4  # the axis shows at least this many weeks, never 8 empty ones


def value_range(values: Sequence[float]) -> tuple[float, float]:
    """The index axis: the data with half a point around it, within 1..5 (a zoom that keeps
    week-to-week noise from looking flat or dramatic: at least 1.5 points tall)."""
    if not values:
        return 1.0, 5.0
    low, high = max(1.0, min(values) - 0.5), min(5.0, max(values) + 0.5)
    while high - low < 1.5:
        low, high = max(1.0, low - 0.25), min(5.0, high + 0.25)
    return low, high


def point(
    i: int, value: float, weeks: int, y_range: tuple[float, float] = (1.0, 5.0)
) -> tuple[float, float]:
    """Where week ``i`` of ``weeks`` with ``value`` is drawn, in the PNG's pixels."""
    left, right = _MARGIN["left"], WIDTH - _MARGIN["right"]
    top, bottom = _MARGIN["top"], HEIGHT - _MARGIN["bottom"]
    low, high = y_range
    step = (right - left) / max(weeks, 1)
    return left + step * (i + 0.5), bottom - (value - low) / (high - low) * (bottom - top)


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


def _first_week(trend: Trend) -> int:
    """The first week with anything to draw, so that week one is not a dot on an empty axis."""
    series: list[Sequence[float | int | None]] = [
        trend.overall,
        trend.answered,
        *trend.index.values(),
    ]
    found = [i for values in series for i, v in enumerate(values) if v is not None]
    first = min(found, default=len(trend.periods) - 1)
    return max(0, min(first, len(trend.periods) - MIN_WEEKS))


def usual(values: Sequence[float | None]) -> float | None:
    """The team's usual level: the mean of up to 4 weeks shown before the last, from 2."""
    shown = [v for v in values[:-1][-4:] if v is not None]
    return sum(shown) / len(shown) if len(shown) >= 2 else None


def render_trend_png(
    trend: Trend,
    *,
    title: str,
    labels: Mapping[str, str] | None = None,
    focus: str | None = None,
) -> bytes:
    """A PNG of the team index over the weeks against its usual level, the focus dimension
    beside it, and participation as bars underneath. Opaque and light with dark ink, so it
    reads the same in Slack's dark theme; large type for a phone.

    Weeks without a shown figure are gaps in the line, never zeros. Blocking: call it from a
    thread (:func:`trend_chart`).
    """
    first = _first_week(trend)
    periods = trend.periods[first:]
    weeks = len(periods)
    overall = [None if v is None else float(v) for v in trend.overall[first:]]
    focused = [None if v is None else float(v) for v in trend.index.get(focus or "", [])[first:]]
    if not any(v is not None for v in overall) and focus is None:
        # figures of v1 carry no team index: draw the mean of the dimensions shown
        columns = list(zip(*(v[first:] for v in trend.index.values()), strict=False))
        overall = [
            sum(x for x in column if x is not None) / len([x for x in column if x is not None])
            if any(x is not None for x in column)
            else None
            for column in columns
        ]
    base = usual(overall)
    values = [v for v in (*overall, *focused, base) if v is not None]
    y_range = value_range(values)
    names = labels or {}
    s = _SCALE
    image = Image.new("RGB", (WIDTH * s, HEIGHT * s), _PAPER)
    draw = ImageDraw.Draw(image)
    small, normal, big = _font(13), _font(15), _font(19)
    left, top = _MARGIN["left"] * s, _MARGIN["top"] * s
    right, bottom = (WIDTH - _MARGIN["right"]) * s, (HEIGHT - _MARGIN["bottom"]) * s

    def x_of(i: int) -> float:
        return point(i, 1.0, weeks, y_range)[0] * s

    def y_of(value: float) -> float:
        return point(0, value, weeks, y_range)[1] * s

    draw.rectangle([(0, 0), (WIDTH * s - 1, HEIGHT * s - 1)], outline=_GRID, width=2 * s)
    draw.text((left, 14 * s), title, fill=_INK, font=big, anchor="lt")
    draw.text(
        (left, 40 * s), "Team trust index (1 to 5) against its usual level", fill=_MUTED,
        font=small, anchor="lt",
    )  # fmt: skip
    tick = math.ceil(y_range[0] * 2) / 2
    while tick <= y_range[1] + 1e-9:  # the grid, every half point
        y = y_of(tick)
        draw.line([(left, y), (right, y)], fill=_GRID, width=s)
        draw.text((left - 8 * s, y), f"{tick:.1f}", fill=_INK, font=small, anchor="rm")
        tick += 0.5

    def label_at_end(series: Sequence[float | None], text: str, colour: str, nudge: int) -> None:
        last = next(((i, v) for i, v in reversed(list(enumerate(series))) if v is not None), None)
        if last is not None:
            draw.text(
                (right + 10 * s, y_of(last[1]) + nudge * s), text, fill=colour, font=normal,
                anchor="lm",
            )  # fmt: skip

    if base is not None:  # the usual level, dashed
        y, x = y_of(base), left
        while x < right:
            draw.line([(x, y), (min(x + 10 * s, right), y)], fill=USUAL, width=2 * s)
            x += 16 * s
        last_team = next((v for v in reversed(overall) if v is not None), None)
        close = last_team is not None and abs(y_of(last_team) - y) < 22 * s
        label_y = y + (12 * s if close and y_of(last_team or 0) <= y else -12 * s if close else 0)
        draw.text(
            (right + 10 * s, label_y), f"usual {base:.1f}", fill=USUAL, font=small, anchor="lm"
        )
    for series, colour, width, radius in ((focused, FOCUS, 3, 5), (overall, TEAM, 5, 7)):
        points = [None if v is None else (x_of(n), y_of(v)) for n, v in enumerate(series)]
        for run in _segments(points):
            if len(run) > 1:
                draw.line(run, fill=colour, width=width * s, joint="curve")
            for px, py in run:
                r = radius * s
                draw.ellipse([(px - r, py - r), (px + r, py + r)], fill=colour)
    latest = next((v for v in reversed(overall) if v is not None), None)
    if latest is not None:
        label_at_end(overall, f"Team {latest:.1f}", TEAM, 0)
    if focus is not None:
        last_focus = next((v for v in reversed(focused) if v is not None), None)
        name = names.get(focus, focus)
        text = f"Focus: {name}" + (f" {last_focus:.1f}" if last_focus is not None else "")
        label_at_end(focused, text, FOCUS, 14)
        if last_focus is None:
            draw.text((right + 10 * s, top), text, fill=FOCUS, font=normal, anchor="lm")
    if latest is None:
        draw.text(
            ((left + right) / 2, (top + bottom) / 2), "not enough answers yet", fill=_MUTED,
            font=normal, anchor="mm",
        )  # fmt: skip

    # participation: a bar per week (answered of asked), with its label
    bars_top = bottom + 40 * s
    bars_bottom = bars_top + _BARS_HEIGHT * s
    answered, asked = trend.answered[first:], trend.asked[first:]
    most = max([a for a in (*answered, *asked) if a], default=1)
    step = (right - left) / max(weeks, 1)
    for i, period in enumerate(periods):
        bar_x = x_of(i)
        label = date.fromisoformat(period).strftime("%-d %b")
        draw.text((bar_x, bottom + 8 * s), label, fill=_INK, font=small, anchor="mt")
        a = answered[i] if i < len(answered) else None
        b = asked[i] if i < len(asked) else None
        if a is None:
            continue
        half = step * 0.3
        if b:
            full = bars_bottom - b / most * _BARS_HEIGHT * s
            draw.rectangle(
                [(bar_x - half, full), (bar_x + half, bars_bottom)], outline=BARS, width=s
            )
        height = a / most * _BARS_HEIGHT * s
        draw.rectangle(
            [(bar_x - half, bars_bottom - height), (bar_x + half, bars_bottom)], fill=BARS
        )
        text = f"{a}/{b}" if b else str(a)
        draw.text((bar_x, bars_bottom - height - 3 * s), text, fill=_INK, font=small, anchor="mb")
    draw.text(
        (right + 10 * s, (bars_top + bars_bottom) / 2), "answered / asked", fill=_MUTED,
        font=small, anchor="lm",
    )  # fmt: skip
    out = io.BytesIO()
    image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


async def trend_chart(
    trend: Trend,
    *,
    title: str,
    labels: Mapping[str, str] | None = None,
    focus: str | None = None,
) -> bytes:
    """:func:`render_trend_png` in a worker thread, so the event loop keeps serving Slack."""
    return await asyncio.to_thread(render_trend_png, trend, title=title, labels=labels, focus=focus)
