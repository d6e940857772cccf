"""Posting the weekly digest: the message to the team's channel, then the trend chart.

The thin Slack side of :mod:`bot.digests`: the figures come frozen from the domain, the
blocks from :mod:`bot.slack.digest_blocks`, the PNG from :mod:`bot.charts` (rendered in a
worker thread) and the upload goes through ``files_upload_v2``.

* the weekly job calls :func:`post_due_digests` on every tick;
* ``/trust digest <team> now`` calls :func:`post_digest` with ``repost=True``;
* ``/trust digest <team> preview`` sends :func:`preview_digest` ephemerally.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot import charts, digests
from bot.runtime import Runtime
from bot.slack.digest_blocks import (
    chart_alt_text,
    chart_filename,
    chart_title,
    digest_message,
)
from bot.storage.models import Team

log = logging.getLogger(__name__)

__all__ = ["PostResult", "post_digest", "post_due_digests", "preview_digest"]


@dataclass(frozen=True)
class PostResult:
    """What happened to one team's digest for one week."""

    team_id: int
    period_start: date
    posted: bool
    channel_id: str | None = None
    message_ts: str | None = None
    file_id: str | None = None
    detail: str = ""


def _labels(figures: dict[str, Any]) -> dict[str, str]:
    shown = {
        str(d.get("dimension")): str(d.get("label") or d.get("dimension"))
        for d in figures.get("dimensions") or ()
    }
    return {**digests.DIMENSION_LABELS, **shown}


async def _upload_chart(
    client: AsyncWebClient, team: Team, channel: str, figures: dict[str, Any]
) -> str | None:
    period = str(figures["period_start"])
    png = await charts.trend_chart(
        figures.get("trend") or {}, title=chart_title(team.name, period), labels=_labels(figures)
    )
    try:
        upload = await client.files_upload_v2(
            channel=channel,
            content=png,
            filename=chart_filename(team.name, period),
            title=chart_title(team.name, period),
            alt_txt=chart_alt_text(figures),
        )
    except (SlackApiError, SlackClientError) as error:  # the digest itself is posted already
        log.warning("digest chart for team %s not uploaded: %s", team.id, error)
        return None
    file = upload.get("file") or {}
    return str(file.get("id")) if file.get("id") else None


async def post_digest(
    runtime: Runtime,
    client: AsyncWebClient,
    team: Team,
    period_start: date | None = None,
    *,
    repost: bool = False,
) -> PostResult:
    """Post the team's digest for ``period_start`` (default: the last complete week) to
    ``team.channel_id``, then its chart.

    A week is posted by the schedule once; with ``repost=True`` (``/trust digest <team> now``)
    an already posted week is posted again, with the same frozen figures. Raises
    :class:`bot.digests.DigestError` for a week that is not over, and Slack errors from
    ``chat.postMessage`` (the claim is given back so the next tick tries again).
    """
    assert team.id is not None
    period = period_start or digests.latest_period(team, runtime.clock.now())
    result = await digests.digest_for(runtime, team, period, publish=True)
    digest = result.digest
    assert digest.id is not None
    if not result.claimed and not repost:
        return PostResult(
            team.id,
            period,
            posted=False,
            channel_id=digest.channel_id,
            message_ts=digest.message_ts,
            detail="already posted",
        )
    figures = result.figures
    chart = charts.has_points(figures.get("trend"))
    message = digest_message(figures, team_name=team.name, chart=chart, reposted=not result.claimed)
    try:
        response = await client.chat_postMessage(channel=team.channel_id, **message)
    except BaseException:
        if result.claimed:
            await digests.release(runtime, digest.id)
        raise
    channel, ts = str(response["channel"]), str(response["ts"])
    if result.claimed:
        await digests.mark_posted(runtime, digest.id, channel, ts)
    file_id = await _upload_chart(client, team, channel, figures) if chart else None
    return PostResult(
        team.id,
        period,
        posted=True,
        channel_id=channel,
        message_ts=ts,
        file_id=file_id,
        detail="posted" if result.claimed else "posted again",
    )


async def preview_digest(
    runtime: Runtime, team: Team, period_start: date | None = None
) -> dict[str, Any]:
    """``{"text", "blocks"}`` of the digest for an ephemeral preview to an admin.

    The figures shown are frozen exactly as a post would freeze them: the digest posted later
    shows the same numbers. Raises :class:`bot.digests.DigestError` for a week not over.
    """
    period = period_start or digests.latest_period(team, runtime.clock.now())
    result = await digests.digest_for(runtime, team, period, publish=False)
    return digest_message(result.figures, team_name=team.name, preview=True)


async def post_due_digests(runtime: Runtime, client: AsyncWebClient) -> list[PostResult]:
    """Post every digest that is due now (the weekly job's tick): figures for all due teams
    are computed in one batch, then each is posted once. A failure is logged and retried at
    the next tick; it does not stop the other teams."""
    due = await digests.due_digests(runtime)
    if not due:
        return []
    await digests.prepare(runtime, [(d.team, d.period_start) for d in due])
    results = []
    for item in due:
        try:
            results.append(await post_digest(runtime, client, item.team, item.period_start))
        except Exception:
            log.exception(
                "digest for team %s, week of %s not posted; retried at the next tick",
                item.team.id,
                item.period_start,
            )
    return results
