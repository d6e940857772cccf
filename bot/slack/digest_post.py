"""Posting the weekly digest: the message to the team's channel, then the trend chart.

The thin Slack side of :mod:`bot.digests`: the figures come frozen from the domain, the
blocks from :mod:`bot.slack.digest_blocks`, the PNG from :mod:`bot.charts` (rendered in a
worker thread) and the upload goes through ``files_upload_v2``.

* the weekly job calls :func:`post_due_digests` on every tick;
* ``/trust digest <team> now`` calls :func:`post_digest` with ``repost=True``;
* ``/trust digest <team> preview`` sends :func:`preview_digest` ephemerally.

Exactly once, also across a crash: a poster holds a lease (``digest:<team>:<week>``) from
before it claims the week until the message is recorded, and the message carries
``metadata={"event_type": "trustbot_digest", "event_payload": {"digest_id": id}}``. A claim
with no live lease was left by a process that died mid-post: :func:`recover_claims` (run at
every tick) looks for its message in the channel and records it, or gives the claim back so
the week is posted now.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import admins, charts, digests, lease
from bot.runtime import Runtime, allocator
from bot.slack.client import ClientSource, client_for
from bot.slack.history import HistoryBusy, find_by_metadata, pacer_of
from bot.slack.kit.blocks import inert, notice
from bot.slack.kit.digest import (
    chart_alt_text,
    chart_filename,
    chart_title,
    digest_message,
)
from bot.storage.models import Team

log = logging.getLogger(__name__)

__all__ = [
    "ChannelRefused",
    "PostResult",
    "post_digest",
    "post_due_digests",
    "preview_digest",
    "recover_claims",
]

EVENT_TYPE = "trustbot_digest"
CLAIM_TTL = timedelta(minutes=5)
"""How long a poster holds a week's claim unrecorded before it counts as dead."""
SEARCH_MARGIN = timedelta(seconds=5)


class ChannelRefused(Exception):
    """Slack will not take the digest in the team's channel (archived, the app not in it,
    not found): the week is not tried again by the schedule (``first``: this post found it
    out, so the admins are told now)."""

    def __init__(self, team: Team, period: date, error: str, *, first: bool) -> None:
        self.team, self.period, self.error, self.first = team, period, error, first
        super().__init__(f"{error}: {digests.what_to_do(error, team.name)}")

    def advice(self) -> str:
        """What to tell an admin: what happened and what to do, the team name made inert."""
        return (
            f"The `{inert(self.team.name)}` digest for the week of {self.period:%d %b %Y} was not "
            f"posted in <#{self.team.channel_id}>: "
            f"{digests.what_to_do(self.error, inert(self.team.name))}."
        )


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


async def _upload_chart(
    client: AsyncWebClient, team: Team, channel: str, figures: digests.Figures
) -> str | None:
    period = figures.period_start.isoformat()
    labels = {**digests.DIMENSION_LABELS, **figures.labels()}
    png = await charts.trend_chart(
        figures.trend,
        title=chart_title(team.name, period),
        labels=labels,
        focus=figures.focus.dimension if figures.focus else None,
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
    name, holder = _lease_name(team.id, period), secrets.token_hex(8)
    held = await lease.acquire(runtime.db, name, holder, CLAIM_TTL, runtime.clock)
    try:  # without the lease another process is posting this week now: claim nothing
        return await _post(runtime, client, team, period, publish=held, repost=repost)
    finally:
        if held:
            await lease.drop(runtime.db, name, holder)


def _lease_name(team_id: int, period: date) -> str:
    return f"digest:{team_id}:{period.isoformat()}"


def _metadata(digest_id: int) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"digest_id": digest_id}}


async def _post(
    runtime: Runtime,
    client: AsyncWebClient,
    team: Team,
    period: date,
    *,
    publish: bool,
    repost: bool,
) -> PostResult:
    assert team.id is not None
    result = await digests.digest_for(runtime, team, period, publish=publish)
    digest = result.digest
    assert digest.id is not None
    if not result.claimed and not repost:
        return PostResult(
            team.id,
            period,
            posted=False,
            channel_id=digest.channel_id,
            message_ts=digest.message_ts,
            detail="already posted" if digest.message_ts else "being posted",
        )
    figures = result.figures
    if team.digest_to == "dm":  # to the managers only: the outbox DMs them (mark_posted)
        if not result.claimed:
            return PostResult(team.id, period, posted=False, detail="sent to its managers by DM")
        await digests.mark_posted(runtime, digest.id, digests.DM_ONLY, digests.DM_ONLY)
        return PostResult(
            team.id, period, posted=True, channel_id=digests.DM_ONLY, detail="sent by DM"
        )
    chart = figures.trend.has_points()
    message = digest_message(
        figures, team_name=team.name, chart=chart, reposted=not result.claimed, team_id=team.id
    )
    try:
        response = await client.chat_postMessage(
            channel=team.channel_id, **message, metadata=_metadata(digest.id)
        )
    except SlackApiError as error:
        code = str(error.response.get("error") or "")
        if code not in digests.CHANNEL_ERRORS:
            if result.claimed:
                await digests.release(runtime, digest.id)
            raise
        first = result.claimed and await digests.mark_unpostable(runtime, digest.id, code)
        raise ChannelRefused(team, period, code, first=first) from None
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


async def redraw_posted(runtime: Runtime, client: AsyncWebClient, digest_ids: list[int]) -> int:
    """Update the posted messages of these digests to their stored figures (after forget-me
    took a note out of them); returns how many were updated. A message Slack will not let us
    edit any more is logged and left."""
    updated = 0
    found = await digests.posted(runtime, digest_ids)
    places: list[tuple[digests.StoredDigest, Team, str | None, str | None]] = [
        (digest, team, digest.channel_id, digest.message_ts)
        for digest, team in found
        if digest.channel_id != digests.DM_ONLY
    ]
    by_id = {digest.id: (digest, team) for digest, team in found}
    for digest_id, channel, ts in await digests.dm_copies(runtime, digest_ids):
        if digest_id in by_id:  # the managers' DM copies are redrawn too
            places.append((*by_id[digest_id], channel, ts))
    for digest, team, where, stamp in places:
        assert where is not None and stamp is not None
        message = digest_message(digest.figures, team_name=team.name, chart=False, team_id=team.id)
        try:
            await client.chat_update(channel=where, ts=stamp, **message)
        except SlackApiError as error:
            log.warning("digest %s not redrawn: %s", digest.id, error.response.get("error"))
            continue
        updated += 1
    return updated


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


async def _find_posted(
    runtime: Runtime, client: AsyncWebClient, team: Team, digest: digests.StoredDigest
) -> str | None:
    """The ts of the message that posted ``digest`` in its channel, if there is one: read
    from when its post began (claims from before that was recorded: from the week's end,
    before which no digest is posted), within the workspace's history pace."""
    assert digest.channel_id is not None
    week_over = datetime.combine(digest.period_start + timedelta(days=6), time(), tzinfo=UTC)
    since = digest.claimed_at - SEARCH_MARGIN if digest.claimed_at else week_over
    return await find_by_metadata(
        client,
        digest.channel_id,
        since=since,
        event_type=EVENT_TYPE,
        key="digest_id",
        value=digest.id,
        pacer=pacer_of(runtime),
        workspace_id=team.workspace_id,
    )


async def recover_claims(runtime: Runtime, clients: ClientSource) -> int:
    """Settle weeks claimed by a poster that died before recording its message: a message
    found in the channel is recorded (never posted again); otherwise the claim is given back
    and the week is due again. Claims whose poster is alive (holds the lease) are left alone.
    Returns how many claims were settled."""
    settled = 0
    for team, digest in await digests.unsettled(runtime):
        client = await client_for(clients, team.workspace_id)
        if client is None:
            continue  # the app was uninstalled there
        name, holder = _lease_name(digest.team_id, digest.period_start), secrets.token_hex(8)
        if not await lease.acquire(runtime.db, name, holder, CLAIM_TTL, runtime.clock):
            continue  # being posted right now
        try:
            if all(d.id != digest.id for _, d in await digests.unsettled(runtime)):
                continue  # its poster finished meanwhile
            try:
                ts = await _find_posted(runtime, client, team, digest)
            except HistoryBusy as busy:  # looked at again at a later tick
                log.info("digest %s (team %s): %s", digest.id, team.id, busy)
                continue
            except (SlackApiError, SlackClientError, LookupError) as error:
                log.warning(
                    "digest %s (team %s): could not look for its message, left claimed: %s",
                    digest.id,
                    team.id,
                    error,
                )
                continue
            assert digest.channel_id is not None
            if ts is not None:
                await digests.mark_posted(runtime, digest.id, digest.channel_id, ts)
                log.warning(
                    "digest %s (team %s): a crashed post had landed; recorded, not reposted",
                    digest.id,
                    team.id,
                )
            else:
                await digests.release(runtime, digest.id)
                log.warning(
                    "digest %s (team %s): a crashed post never landed; posting it again",
                    digest.id,
                    team.id,
                )
            settled += 1
        finally:
            await lease.drop(runtime.db, name, holder)
    return settled


async def tell_admins(
    runtime: Runtime, client: AsyncWebClient, workspace_id: str, text: str
) -> int:
    """DM ``text`` to the workspace's Trustbot admins (``TRUSTBOT_ADMINS`` and those added
    with ``/trust admin add``); how many got it. A DM Slack refuses is logged and skipped."""
    told = 0
    people = sorted(
        {*runtime.settings.TRUSTBOT_ADMINS, *await admins.listed(runtime.db, workspace_id)}
    )
    for user_id in people:
        try:
            await client.chat_postMessage(channel=user_id, **notice(text))
            told += 1
        except SlackApiError as error:
            log.warning("admin %s not told: %s", user_id, error.response.get("error"))
    if not people:
        log.warning("workspace %s has no Trustbot admin to tell: %s", workspace_id, text)
    return told


PREPARE_BATCH = 100
"""Teams whose figures are computed together before they are posted: a few queries per
batch, and memory bounded by a batch's answers, not the whole workspace's."""


async def post_due_digests(runtime: Runtime, clients: ClientSource) -> list[PostResult]:
    """Post every digest that is due now (the weekly job's tick), each with its workspace's
    client: figures are computed for up to :data:`PREPARE_BATCH` teams at a time, then each
    is posted once. A failure is logged and retried at the next tick; it does not stop the
    other teams. Claims left by a crashed poster are settled first (:func:`recover_claims`).
    Teams of a workspace that uninstalled the app are skipped."""
    try:
        await recover_claims(runtime, clients)
    except Exception:
        log.exception("digest claims not recovered; tried again at the next tick")
    due = []
    for candidate in await digests.due_digests(runtime):
        client = await client_for(clients, candidate.team.workspace_id)
        if client is not None:
            due.append((candidate, client))
    results = []
    for start in range(0, len(due), PREPARE_BATCH):
        batch = due[start : start + PREPARE_BATCH]
        await digests.prepare(runtime, [(d.team, d.period_start) for d, _ in batch])
        allocator.trim()  # what the batch's counting freed, before the posts
        for item, client in batch:
            try:
                results.append(await post_digest(runtime, client, item.team, item.period_start))
            except ChannelRefused as refused:
                log.warning(
                    "digest for team %s, week of %s not posted, not tried again this week: %s",
                    item.team.id,
                    item.period_start,
                    refused.error,
                )
                if refused.first:
                    await tell_admins(runtime, client, item.team.workspace_id, refused.advice())
            except Exception:
                log.exception(
                    "digest for team %s, week of %s not posted; retried at the next tick",
                    item.team.id,
                    item.period_start,
                )
    return results
