"""The digest's chart: the trust index per dimension over the last 8 weeks, as a PNG.

Drawn from a digest's stored ``trend`` figures only (already checked by the k rule), on
matplotlib's Agg backend (its canvas set explicitly, whatever ``matplotlib.use`` says) and an
explicit :class:`~matplotlib.figure.Figure` (no pyplot global
state), so several charts can render at once in worker threads. :func:`trend_chart` runs
the drawing off the event loop with :func:`asyncio.to_thread`. matplotlib (with numpy and
PIL, about 45 MB) is imported on the first chart, not when the app starts.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

__all__ = ["has_points", "render_trend_png", "trend_chart"]

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


def has_points(trend: Mapping[str, Any] | None) -> bool:
    """Whether the trend has at least one value to draw."""
    index = (trend or {}).get("index") or {}
    return any(v is not None for values in index.values() for v in values or ())


def render_trend_png(
    trend: Mapping[str, Any],
    *,
    title: str,
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """A PNG line chart of ``trend`` (``{"periods": [iso...], "index": {dim: [v or None]}}``).

    Weeks without a shown figure are gaps in the line, never zeros. Blocking: call it from a
    thread (:func:`trend_chart`).
    """
    periods: Sequence[str] = trend.get("periods") or ()
    index: Mapping[str, Sequence[float | None]] = trend.get("index") or {}
    names = labels or {}
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    xs = list(range(len(periods)))
    for i, (dimension, values) in enumerate(index.items()):
        ys = [float("nan") if v is None else float(v) for v in values]
        axes.plot(
            xs[: len(ys)],
            ys,
            marker="o",
            linewidth=2,
            color=_COLOURS[i % len(_COLOURS)],
            label=names.get(dimension, dimension),
        )
    axes.set_xticks(xs)
    axes.set_xticklabels([date.fromisoformat(p).strftime("%-d %b") for p in periods])
    axes.set_ylim(0.8, 5.2)
    axes.set_yticks([1, 2, 3, 4, 5])
    axes.set_ylabel("Trust index (1–5)")
    axes.set_xlabel("Week starting")
    axes.grid(True, alpha=0.3)
    axes.set_title(title, fontsize=11)
    if index:
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    else:
        axes.text(0.5, 0.5, "not enough responses", ha="center", transform=axes.transAxes)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


async def trend_chart(
    trend: Mapping[str, Any], *, title: str, labels: Mapping[str, str] | None = None
) -> bytes:
    """:func:`render_trend_png` in a worker thread, so the event loop keeps serving Slack."""
    return await asyncio.to_thread(render_trend_png, trend, title=title, labels=labels)
