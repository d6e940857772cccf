"""Deal updates as the CRMs send them, a workspace whose reps they are about, and what the
app made of them."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from bot.app.webhooks import DealWebhooks
from bot.core import deals, teams
from bot.core.deals import DealUpdate, NudgeContent
from bot.core.deals.rules import Moment, route
from bot.core.prompts import DealChange, MomentKey, default_bank
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import DealEvent, Delivery, Person
from slack_emulator.delivery import slack_signature  # an implementation independent of the app's
from tests.support.db import rows
from tests.support.stack import WEBHOOK_SECRET, Stack, start_app, trust

KEY = "unit-test-pseudonym-key-0123"
SECRET = "unit-test-webhook-secret"
WS = "T1"
LONDON, NEW_YORK = "U0LONDON", "U0NEWYORK"
ZONES = {LONDON: "Europe/London", NEW_YORK: "America/New_York"}
PLANNED = (deals.NUDGED, deals.DEFERRED)  # in the running app: which depends on the time of day

# -- what the CRMs send ------------------------------------------------------------------


def deal(
    event_id: str = "crm-123", rep: dict[str, str] | None = None, **changes: Any
) -> dict[str, Any]:
    """A deal webhook body: the PRODUCT.md example (LONDON's deal) with ``changes`` (a value
    of ``...`` removes the field)."""
    body = {
        "event_id": event_id,
        "deal_id": "D-42",
        "deal_name": "Acme renewal",
        "rep": {"slack_user_id": LONDON} if rep is None else rep,
        "change": "close_date_changed",
        "from": "2026-11-30",
        "to": "2027-01-15",
        "occurred_at": "2026-11-22T10:00:00Z",
    }
    return {k: v for k, v in {**body, **changes}.items() if v is not ...}


VALID = deal()


def hubspot_event(**changes: Any) -> dict[str, Any]:
    """One event of a HubSpot webhook batch: a deal moved to ``contractsent``."""
    event = {
        "eventId": 100,
        "subscriptionId": 7,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": 1764064800000,  # 2025-11-25T10:00:00Z
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": 987,
        "changeSource": "CRM",
        "propertyName": "dealstage",
        "propertyValue": "contractsent",
    }
    event.update(changes)
    return event


def metadata_event(payload: dict[str, Any], event_type: str = "deal_updated") -> dict[str, Any]:
    """What Slack sends when the CRM's app posts a message with deal metadata."""
    return {
        "type": "message_metadata_posted",
        "app_id": "A0CRM",
        "bot_id": "B0CRM",
        "user_id": "U0CRMBOT",
        "team_id": "T0001",
        "channel_id": "C0SALES",
        "metadata": {"event_type": event_type, "event_payload": payload},
        "message_ts": f"{time.time():.6f}",
    }


def signed_headers(
    body: str | bytes, secret: str = WEBHOOK_SECRET, timestamp: str | None = None
) -> dict[str, str]:
    """The headers of a deal webhook request signed with ``secret`` at ``timestamp`` (now)."""
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "X-Trustbot-Request-Timestamp": timestamp,
        "X-Trustbot-Signature": slack_signature(secret, timestamp, body),
    }


def update(event_id: str = "e1", **changes: Any) -> DealUpdate:
    """The normalised deal update of the PRODUCT.md example, with ``changes``."""
    base = DealUpdate(
        event_id=event_id,
        deal_id="D-42",
        deal_name="Acme renewal",
        change=DealChange.CLOSE_DATE_CHANGED,
        occurred_at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        from_value="2026-11-30",
        to_value="2027-01-15",
        rep_user_id=LONDON,
    )
    return replace(base, **changes)


# -- the domain, on a database -----------------------------------------------------------


async def deals_runtime(db: Database, clock: ManualClock) -> Runtime:
    """Workspace WS with team ``sales`` (reps in London and New York)."""
    settings = load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY, TRUSTBOT_WEBHOOK_SECRET=SECRET)
    rt = Runtime(settings=settings, db=db, clock=clock)
    await ensure_workspace(db, WS, clock)
    await teams.create(db, WS, "UADMIN", "sales", "C1", clock)
    await teams.add_people(db, WS, "UADMIN", "sales", list(ZONES), teams.REP, clock)
    async with db.session() as s:
        for user, tz in ZONES.items():
            s.add(Person(workspace_id=WS, user_id=user, tz=tz))
    return rt


async def accept(rt: Runtime, *updates: DealUpdate, source: str = deals.WEBHOOK) -> list[int]:
    """Store ``updates`` as received from ``source``; the new events' ids."""
    return [r.id for r in await deals.store(rt, WS, source, list(updates))]


async def stored_events(rt: Runtime) -> list[DealEvent]:
    async with rt.db.session() as s:
        return list((await s.exec(select(DealEvent).order_by(col(DealEvent.id)))).all())


async def nudges(rt: Runtime) -> list[Delivery]:
    """Every outbox row (only nudges are planned here), in the order they were planned."""
    async with rt.db.session() as s:
        return list((await s.exec(select(Delivery).order_by(col(Delivery.id)))).all())


async def planned_for(rt: Runtime, user: str) -> DealEvent:
    """The one stored deal event, planned: it forgets its rep, the open nudge names ``user``."""
    [event] = await stored_events(rt)
    assert (event.status, event.rep_user_id, event.rep_email) == (deals.NUDGED, None, None)
    assert [d.user_id for d in await nudges(rt)] == [user]
    return event


def moment_of(update: Any) -> Moment:
    """The moment a deal update routes to, from what it changed (a stored
    :class:`~bot.storage.models.DealEvent` or a parsed CRM change)."""
    return route(update.change, update.from_value, update.to_value).moment


async def nudged_moment(rt: Runtime, hooks: DealWebhooks) -> MomentKey:
    """The moment of the one nudge planned, once the webhooks' work after the ack is done."""
    await hooks.drain()
    [delivery] = await nudges(rt)
    return (await deals.nudge_context(rt, delivery)).moment


async def no_lookup(workspace_id: str, email: str) -> str | None:
    raise AssertionError(f"no e-mail lookup expected, got {email}")


class Directory:
    """A stand-in for users.lookupByEmail that counts its calls (the real one is tested
    end to end against the emulator)."""

    def __init__(self, users: dict[str, str], fail: bool = False) -> None:
        self.users = users
        self.fail = fail
        self.calls: list[str] = []

    async def __call__(self, workspace_id: str, email: str) -> str | None:
        self.calls.append(email)
        if self.fail:
            raise ConnectionError("Slack is unreachable")
        return self.users.get(email)


# -- the running app ---------------------------------------------------------------------


def team_with(stack: Stack, *reps: str) -> None:
    """Team ``sales`` with ``reps``, made by ``/trust``."""
    assert "created" in trust(stack, "team create sales <#C0SALES|sales-managers>")
    assert "Added" in trust(stack, "team add sales " + " ".join(f"<@{r}>" for r in reps))


def deal_events(stack: Stack) -> list[DealEvent]:
    return rows(stack.database_url, DealEvent, order_by=col(DealEvent.id))


def nudge_deliveries(stack: Stack) -> list[Delivery]:
    return rows(stack.database_url, Delivery, col(Delivery.kind) == "nudge")


def settled(stack: Stack, count: int) -> list[DealEvent] | None:
    """The app's ``count`` deal events once none is waiting to be processed."""
    found = deal_events(stack)
    if len(found) == count and all(e.status != deals.ACCEPTED for e in found):
        return found
    return None


def nudge_content(key: MomentKey, **changes: Any) -> NudgeContent:
    """What a nudge DM shows for the deal moment ``key`` (the bank's title, intro, questions,
    rule and note), about deal D-42 of U1 in team 1, with ``changes``."""
    moment = default_bank().moment(key)
    base = NudgeContent(
        delivery_id=9,
        deal_event_id=3,
        workspace_id="T1",
        user_id="U1",
        team_id=1,
        deal_id="D-42",
        deal_name="Acme renewal",
        change=DealChange.STAGE_CHANGED,
        moment=key,
        from_value="Proposal",
        to_value="Negotiation/Review",
        occurred_at=datetime(2026, 11, 23, 15, tzinfo=UTC),
        title=moment.title,
        intro=moment.intro,
        prompt_ids=moment.prompts,
        rule=moment.rule,
        answer_context="nudge:x",
        note=moment.note,
    )
    return replace(base, **changes)


async def nudged_event(
    session: Any, pseudonyms: Any, workspace_id: str, deal: str, at: datetime, event_id: str
) -> str:
    """A deal update about ``deal`` received and nudged at ``at``, added to ``session``; the
    keyed ``Response.context`` its nudge's answers are stored under."""
    event = DealEvent(
        workspace_id=workspace_id,
        source="webhook",
        event_id=event_id,
        deal_id=f"D-{deal}",
        deal_name=deal,
        change="stage_changed",
        status=deals.NUDGED,
        occurred_at=at,
        received_at=at,
    )
    session.add(event)
    await session.flush()
    assert event.id is not None
    return deals.answer_context(pseudonyms, workspace_id, event.id)


class ClockStack(Stack):
    """The running app on a manual clock (``clock``), with team ``sales`` of ``reps``."""

    clock: ManualClock


def clock_stack(emulator: Any, database_url: str, at: datetime, *reps: str) -> ClockStack:
    clock = ManualClock(at)
    found = ClockStack(
        emulator, start_app(emulator, database_url, "http", clock), "http", database_url
    )
    found.clock = clock
    team_with(found, *reps)
    return found


def dm_with(stack: Stack, user: str, words: str) -> dict[str, Any] | None:
    """The user's newest DM whose blocks hold ``words``."""
    found = [m for m in stack.emulator.dm_messages(user) if words in str(m.get("blocks"))]
    return found[-1] if found else None
