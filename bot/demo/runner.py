"""``trustbot demo``: the whole product, offline, on a clock that is moved rather than waited on.

The real app (:class:`bot.server.TrustbotServer`, over HTTP or Socket Mode on loopback) talks
to the project's Slack emulator; the database is SQLite in the output folder. A driver on this
thread plays everyone else:

* the admin sets the team up with real ``/trust`` commands;
* the simulated CRM POSTs signed deal updates to ``/webhooks/deals``;
* the reps (:mod:`bot.demo.personas`) click the buttons of the DMs the app posted, and write
  notes in the modal it opens;
* the scheduler: the driver moves the shared :class:`~bot.runtime.clock.ManualClock` week by
  week and runs the server's own jobs (:data:`bot.app.jobs.JOBS`) at the moments they matter:
  planning check-ins, the sweep for reminders and closing, the digest post. The outbox worker
  inside the server delivers the DMs; the driver waits for the outbox to drain.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import and_, func, or_
from sqlmodel import col, select

from bot.app import jobs
from bot.app import server as app_server
from bot.core import checkins
from bot.core.deals import email_cache
from bot.core.prompts import PromptBank, default_bank
from bot.demo import render
from bot.demo.crm import Crm, WebhookSender
from bot.demo.personas import Behaviour, Rep, team
from bot.demo.report import report
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock, utc
from bot.runtime.settings import Settings, load_settings
from bot.slack import digest_post
from bot.slack.client import make_client
from bot.slack.installations import BOT_SCOPES
from bot.slack.kit.checkin import (
    ANSWER_ACTION,
    NOTE_ACTION,
    NOTE_BLOCK,
    NOTE_INPUT,
    SHARE_BLOCK,
    SHARE_INPUT,
)
from bot.slack.users import email_resolver
from bot.storage import Database
from bot.storage.migrate import upgrade
from bot.storage.models import CheckinRound, DealEvent, Delivery, Note, Response
from slack_emulator import SlackEmulator

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
"""Monday 5 January 2026, 08:00 UTC. The default six weeks cross no daylight-saving change in
the cast's zones; longer runs do (US, Europe, Australia), and the app's slots follow them."""

TEAM_NAME = "field-sales"
CHANNEL_ID, CHANNEL_NAME = "C0DEMODIGEST", "sales-leadership"
ADMIN = ("U0DEMOADMIN", "alex", "Alex Admin", "Europe/London")
MANAGER = ("U0DEMOMGR", "mia", "Mia Chen", "Europe/London")
CHECKIN_DAY, CHECKIN_TIME = "tue", "10:00"
GROUP_WINDOW = timedelta(hours=3)
"""Rep-local slots this close together are reached in one clock move, so a DM may arrive up to
3 h after its slot (well inside the 6 h after which a missed slot is skipped); 0 would stop
the clock at every rep's own slot, at the cost of the outbox worker's idle poll each time."""
DISABLED_PROMPTS = ("internal_trust.heard_before_judged", "internal_trust.supported")
"""Turned off with ``/trust prompts disable``: one question per dimension keeps the run short."""
PLAN_AFTER = timedelta(hours=8)  # Monday 08:00 UTC: the week's round can be planned
REMINDER_AFTER = timedelta(days=3, hours=12)  # Thursday 12:00 UTC: every reminder is due
CLOSE_AFTER = timedelta(days=5, hours=12)  # Saturday 12:00 UTC: every check-in has closed
DIGEST_AFTER = timedelta(days=7, hours=9, minutes=1)  # next Monday 09:01 UTC (team is UTC)

BOT_TOKEN = "xoxb-demo"  # noqa: S105 - the emulator's, nothing real
APP_TOKEN = "xapp-demo"  # noqa: S105
SIGNING_SECRET = "demo-signing-secret"  # noqa: S105
PSEUDONYM_KEY = "demo-pseudonym-key-0123456789"
WEBHOOK_SECRET = "demo-webhook-secret"  # noqa: S105

POLL = 0.02
DB_POLL = 0.05
WAIT = 20.0


class DemoError(Exception):
    """The demo could not go on; the message says why."""


@dataclass(frozen=True)
class Options:
    weeks: int = 6
    team_size: int = 8
    out: Path = Path("demo-out")
    seed: int = 7
    transport: str = "http"


@dataclass
class Seen:
    """A DM as the driver first saw it: when (simulated) and what the outbox said it was."""

    channel: str
    ts: str
    user: str
    kind: str
    at: datetime


@dataclass
class PostedDigest:
    period_start: date
    channel: str
    ts: str
    at: datetime
    file_id: str | None


@dataclass
class Outcome:
    """What the run produced, for the report."""

    options: Options
    reps: list[Rep]
    featured: Rep
    setup: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    seen: dict[str, Seen] = field(default_factory=dict)
    first_checkin: dict[str, Any] | None = None
    digests: list[PostedDigest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    webhook_statuses: dict[int, int] = field(default_factory=dict)
    clicks: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    charts: list[Path] = field(default_factory=list)
    elapsed: float = 0.0


def settings_for(emu: SlackEmulator, database_url: str) -> Settings:
    """Every setting given explicitly, so nothing from the environment or ``.env`` leaks in."""
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_CLIENT_ID=None,
        SLACK_CLIENT_SECRET=None,
        SLACK_API_URL=emu.api_url,
        TRUSTBOT_DATABASE_URL=database_url,
        TRUSTBOT_PSEUDONYM_KEY=PSEUDONYM_KEY,
        TRUSTBOT_WEBHOOK_SECRET=WEBHOOK_SECRET,
        TRUSTBOT_ADMINS=(),
    )


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of JSON data (several times faster than ``copy.deepcopy``)."""
    copied: dict[str, Any] = json.loads(json.dumps(value))
    return copied


def _round_id(raw: str) -> str:
    return raw.split("|", 1)[0]


def _answer_of(raw: object, action_id: str) -> str:
    """The answer a button or option stands for: after the ``|`` of its value, else the last
    segment of its action id."""
    text = str(raw or "")
    return text.split("|", 1)[1] if "|" in text else action_id.rsplit(":", 1)[-1]


def chosen(message: dict[str, Any] | None, prompt_id: str) -> str | None:
    """The answer a check-in message shows as picked for ``prompt_id``."""
    for block in (message or {}).get("blocks") or []:
        if block.get("block_id") != f"a|{prompt_id}":
            continue
        for element in block.get("elements") or []:
            if element.get("type") == "static_select":
                option = element.get("initial_option") or {}
                return _answer_of(option.get("value"), "") if option else None
            if element.get("style") == "primary":
                return _answer_of(element.get("value"), element.get("action_id", ""))
    return None


class Driver:
    """Everyone but the app: admin, reps, CRM and the scheduler's ticks."""

    def __init__(
        self,
        emu: SlackEmulator,
        server_url: str,
        settings: Settings,
        clock: ManualClock,
        outcome: Outcome,
        advance: Callable[[str], None],
    ) -> None:
        self.emu = emu
        self.server_url = server_url
        self.settings = settings
        self.clock = clock
        self.out = outcome
        self.advance = advance
        self.bank: PromptBank = default_bank()
        seed = outcome.options.seed
        self.behaviour = {
            rep.user_id: Behaviour(rep, random.Random(f"{seed}:{rep.user_id}"), offset=i)
            for i, rep in enumerate(outcome.reps)
        }
        self.crm = Crm(outcome.reps, random.Random(f"{seed}:crm"), start=START.date())
        self.late: dict[str, Seen] = {}
        self.webhook_ok = True

    # -- plumbing -------------------------------------------------------------

    def warn(self, text: str) -> None:
        if text not in self.out.warnings:
            self.out.warnings.append(text)

    async def until(self, check: Callable[[], object], what: str, limit: float = WAIT) -> bool:
        """Poll ``check`` briefly until it is true; a warning (not a crash) after ``limit`` s."""
        deadline = time.monotonic() + limit
        while not check():
            if time.monotonic() > deadline:
                self.warn(f"timed out waiting for {what}")
                return False
            await asyncio.sleep(POLL)
        return True

    async def until_db(self, count: Callable[[], Any], what: str, limit: float = WAIT) -> None:
        """Poll a database count until it is zero (a warning after ``limit`` seconds)."""
        deadline = time.monotonic() + limit
        while await count():
            if time.monotonic() > deadline:
                self.warn(f"timed out waiting for {what}")
                return
            await asyncio.sleep(DB_POLL)

    def message(self, seen: Seen) -> dict[str, Any] | None:
        """The DM as it reads now, copied under the emulator's lock (its ``message()`` copies
        outside the lock, which races with the app's ``chat.update``)."""
        state = self.emu.state
        with state.lock:
            found = state.get_message(seen.channel, seen.ts)
            return _copy(found) if found else None

    def peek(self, seen: Seen, check: Callable[[dict[str, Any]], bool]) -> bool:
        """``check`` the live DM under the emulator's lock, without copying it."""
        state = self.emu.state
        with state.lock:
            found = state.get_message(seen.channel, seen.ts)
            return found is not None and check(found)

    async def _busy_outbox(self) -> int:
        """Rows being sent, or due."""
        now = self.clock.now()
        due = and_(col(Delivery.status) == "pending", col(Delivery.next_attempt_at) <= now)
        async with self.rt.db.session() as session:
            query = select(func.count()).where(or_(col(Delivery.status) == "sending", due))
            return int((await session.exec(query)).one())

    async def _unprocessed_deals(self) -> int:
        async with self.rt.db.session() as session:
            query = select(func.count()).where(DealEvent.status == "accepted")
            return int((await session.exec(query)).one())

    async def settle(self) -> None:
        """Wait for accepted deal updates to be planned and for the outbox to drain."""
        await self.until_db(self._unprocessed_deals, "deal updates to be processed")
        await self.until_db(self._busy_outbox, "the outbox to deliver due DMs")

    async def tick(self) -> None:
        """The planner job: learn stale time zones, then plan the rounds that are near."""
        await jobs.run("checkins.plan", self.jobs)

    async def move_to(self, instant: datetime) -> None:
        if instant > self.clock.now():
            self.clock.set(instant)
        await self.tick()

    # -- the admin --------------------------------------------------------------

    async def trust(self, text: str) -> dict[str, Any]:
        """``/trust <text>`` as the admin, in the digest channel; the (ephemeral) answer."""
        reply = await self.emu.asend_command(
            "/trust", text, user_id=ADMIN[0], channel_id=CHANNEL_ID
        )
        if reply.status != 200:
            raise DemoError(f"/trust {text}: the app answered HTTP {reply.status}")
        body: dict[str, Any] | None = None
        if isinstance(reply.body, dict) and (reply.body.get("blocks") or reply.body.get("text")):
            body = reply.body
        else:
            url = reply.response_url

            def answered() -> bool:
                return bool(self.emu.response_url_posts(url))

            if await self.until(answered, f"the answer to /trust {text}", limit=10):
                body = self.emu.response_url_posts(url)[0].body
        if body is None:
            raise DemoError(f"/trust {text}: no answer from the app")
        self.out.setup.append((f"/trust {text}", body))
        if ":warning:" in str(body.get("text", "")):
            raise DemoError(f"/trust {text} was refused: {body.get('text')}")
        return body

    async def set_up(self) -> None:
        reps = " ".join(f"<@{r.user_id}>" for r in self.out.reps)
        size = len(self.out.reps)
        k = max(3, min(5, size - 2))
        await self.trust(f"team create {TEAM_NAME} <#{CHANNEL_ID}|{CHANNEL_NAME}>")
        await self.trust(f"team add {TEAM_NAME} {reps}")
        await self.trust(f"team manager {TEAM_NAME} <@{MANAGER[0]}>")
        await self.trust(f"schedule {TEAM_NAME} {CHECKIN_DAY} {CHECKIN_TIME}")
        await self.trust(f"anonymity {TEAM_NAME} {k}")
        for prompt_id in DISABLED_PROMPTS:
            await self.trust(f"prompts disable {prompt_id}")
        await self.trust("team list")

    # -- DMs -----------------------------------------------------------------------

    async def _kinds(self, delivery_ids: Iterable[int]) -> dict[int, str]:
        ids = list(delivery_ids)
        if not ids:
            return {}
        async with self.rt.db.session() as session:
            rows = await session.exec(
                select(Delivery.id, Delivery.kind).where(col(Delivery.id).in_(ids))
            )
            return {i: str(kind) for i, kind in rows.all() if i is not None}

    async def collect(self, reps: Sequence[Rep]) -> list[Seen]:
        """DMs that arrived since the last look, labelled checkin / nudge / reminder."""
        fresh: list[tuple[Rep, dict[str, Any], int | None]] = []
        state = self.emu.state
        for rep in reps:
            with state.lock:
                channel = state.dm_by_user.get(rep.user_id)
                new = [
                    _copy(m)
                    for ts, m in state.messages.get(channel or "", {}).items()
                    if ts not in self.out.seen
                ]
            for message in sorted(new, key=lambda m: float(m["ts"])):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                raw = str(payload.get("delivery_id"))
                fresh.append((rep, message, int(raw) if raw.isdigit() else None))
        kinds = await self._kinds(d for _, _, d in fresh if d is not None)
        now = self.clock.now()
        found = []
        for rep, message, delivery_id in fresh:
            kind = kinds.get(delivery_id, "dm") if delivery_id is not None else "dm"
            if kind == "dm" and "still open" in str(message.get("text", "")):
                kind = "reminder"
            seen = Seen(str(message["channel"]), str(message["ts"]), rep.user_id, kind, now)
            self.out.seen[seen.ts] = seen
            first = self.out.first_checkin is None and rep == self.out.featured
            if kind == "checkin" and first:
                self.out.first_checkin = message
            found.append(seen)
        return found

    async def click(
        self, user: str, action_id: str, seen: Seen, value: str | None = None
    ) -> dict[str, Any] | None:
        """Click ``action_id`` in the DM as it stands now. The message as it was before the
        click, or None when the click could not be made or the app did not acknowledge it."""
        before = self.message(seen)
        if before is None:
            self.warn(f"a DM to a rep disappeared ({seen.ts})")
            return None
        delivery = await self.emu.asend_click(user, action_id, message=before, value=value)
        self.out.clicks += 1
        if not delivery.ok:
            self.warn(f"a click on {action_id} was not acknowledged (HTTP {delivery.status})")
            return None
        return before

    def _progress(self, week: int) -> float:
        return week / max(1, self.out.options.weeks - 1)

    async def answer_checkin(self, rep: Rep, seen: Seen, week: int) -> None:
        behaviour = self.behaviour[rep.user_id]
        message = self.message(seen) or {}
        for block in message.get("blocks") or []:
            block_id = str(block.get("block_id") or "")
            if block.get("type") != "actions" or not block_id.startswith("a|"):
                continue
            prompt_id = block_id[2:]
            if not self.bank.has_prompt(prompt_id) or not behaviour.answers_question():
                continue
            prompt = self.bank.prompt(prompt_id)
            elements = block.get("elements") or []
            if elements and elements[0].get("type") == "static_select":
                options = elements[0].get("options") or []
                values = [_answer_of(o.get("value"), "") for o in options]
                value = behaviour.answer(prompt, values, self._progress(week))
                raw = f"{_round_id(str(options[0].get('value')))}|{value}"
                clicked = await self.click(rep.user_id, f"{ANSWER_ACTION}:{prompt_id}", seen, raw)
            else:
                values = [_answer_of(e.get("value"), e.get("action_id", "")) for e in elements]
                value = behaviour.answer(prompt, values, self._progress(week))
                action_id = f"{ANSWER_ACTION}:{prompt_id}:{value}"
                clicked = await self.click(rep.user_id, action_id, seen)
            if clicked is None:
                continue

            def shown(pid: str = prompt_id, v: str = value) -> bool:
                return self.peek(seen, lambda m: chosen(m, pid) == v)

            await self.until(shown, "a check-in answer to show in the DM")
        note = behaviour.note(week)
        if note is not None and NOTE_ACTION in str(message.get("blocks")):
            await self.write_note(rep, seen, *note)

    def opened_since(self, user: str, index: int) -> dict[str, Any] | None:
        """The first modal opened for ``user`` after view event ``index`` (read in place:
        ``views_opened()`` copies every view ever published, Home tabs included)."""
        state = self.emu.state
        with state.lock:
            for event in state.view_events[index:]:
                if event["user"] == user and event["kind"] in ("open", "push", "ack_push"):
                    return _copy(event["view"])
        return None

    async def write_note(self, rep: Rep, seen: Seen, text: str, shared: bool) -> None:
        """The "Add a note" button, then the modal the app opens, typed into and submitted."""
        with self.emu.state.lock:
            index = len(self.emu.state.view_events)
        if await self.click(rep.user_id, NOTE_ACTION, seen) is None:
            return
        if not await self.until(
            lambda: self.opened_since(rep.user_id, index), "the note modal to open"
        ):
            return
        view = self.opened_since(rep.user_id, index) or {}
        option = next(
            (
                b["element"]["options"][0]
                for b in view.get("blocks") or []
                if b.get("block_id") == SHARE_BLOCK
            ),
            None,
        )
        values = {
            NOTE_BLOCK: {NOTE_INPUT: {"type": "plain_text_input", "value": text}},
            SHARE_BLOCK: {
                SHARE_INPUT: {
                    "type": "checkboxes",
                    "selected_options": [option] if shared and option else [],
                }
            },
        }
        submitted = await self.emu.asend_view_submission(rep.user_id, view, values)
        if not submitted.ok or (isinstance(submitted.body, dict) and submitted.body):
            self.warn("a note was refused by the modal")
            return
        await self.until(
            lambda: self.peek(seen, lambda m: "Edit note" in str(m.get("blocks"))),
            "the note to show in the DM",
        )

    def _prompt_in(self, action_id: str) -> str | None:
        return next((part for part in action_id.split(":") if self.bank.has_prompt(part)), None)

    async def answer_nudge(self, rep: Rep, seen: Seen, week: int) -> None:
        """Answer a deal nudge with clicks: every question (a row of buttons or a select
        whose action id names a prompt) gets the persona's answer."""
        behaviour = self.behaviour[rep.user_id]
        message = self.message(seen) or {}
        for block in message.get("blocks") or []:
            if block.get("type") != "actions":
                continue
            questions: dict[str, list[tuple[str, str, str | None]]] = {}
            for element in block.get("elements") or []:
                action_id = str(element.get("action_id") or "")
                prompt_id = self._prompt_in(action_id)
                if prompt_id is None:
                    continue
                if element.get("type") == "button":
                    answer = _answer_of(element.get("value"), action_id)
                    questions.setdefault(prompt_id, []).append((answer, action_id, None))
                elif element.get("type") == "static_select":
                    for option in element.get("options") or []:
                        picked = str(option.get("value"))
                        questions.setdefault(prompt_id, []).append(
                            (_answer_of(picked, ""), action_id, picked)
                        )
            for prompt_id, options in questions.items():
                prompt = self.bank.prompt(prompt_id)
                value = behaviour.answer(prompt, [o[0] for o in options], self._progress(week))
                _, clicked, option_value = next(o for o in options if o[0] == value)
                before = await self.click(rep.user_id, clicked, seen, option_value)
                if before is None:
                    return

                def changed(old: dict[str, Any] | None = before) -> bool:
                    return not self.peek(seen, lambda m: m == old)

                await self.until(changed, "a nudge answer to show in the DM", limit=5)

    async def rep_turn(self, rep: Rep, arrived: list[Seen], week: int) -> None:
        """A rep reads the DMs that just arrived and acts as their persona would."""
        behaviour = self.behaviour[rep.user_id]
        for seen in arrived:
            if seen.kind == "checkin":
                timing = behaviour.timing()
                if timing == "prompt":
                    await self.answer_checkin(rep, seen, week)
                elif timing == "late":
                    self.late[rep.user_id] = seen
            elif seen.kind == "nudge" and behaviour.answers_nudge():
                await self.answer_nudge(rep, seen, week)

    # -- the CRM ---------------------------------------------------------------------

    async def deal_updates(self, reps: Sequence[Rep]) -> None:
        if not self.webhook_ok:
            return
        url = f"{self.server_url}/webhooks/deals"
        for rep in reps:
            for update in self.crm.updates(rep, self.clock.now()):
                status = await self.sender.send(update)
                self.out.webhook_statuses[status] = self.out.webhook_statuses.get(status, 0) + 1
                if status == 404:
                    self.webhook_ok = False
                    self.warn(
                        f"POST {url} answered 404: the deal webhook is not mounted in this "
                        "build, so the deal updates (and their nudges) were left out"
                    )
                    return
                if status not in (200, 202):
                    self.warn(f"POST /webhooks/deals answered {status}")

    # -- a week ------------------------------------------------------------------------

    async def _slots(self, period: date) -> list[tuple[datetime, str]]:
        async with self.rt.db.session() as session:
            rows = await session.exec(
                select(Delivery.planned_at, Delivery.next_attempt_at, Delivery.user_id)
                .join(CheckinRound, col(CheckinRound.id) == col(Delivery.round_id))
                .where(
                    CheckinRound.period_start == period,
                    Delivery.kind == "checkin",
                    Delivery.status == "pending",
                )
            )
            return sorted((utc(planned or due), user) for planned, due, user in rows.all())

    @staticmethod
    def groups(slots: list[tuple[datetime, str]]) -> list[tuple[datetime, set[str]]]:
        """Slots gathered into clock moves: each move reaches the last slot of its group."""
        found: list[tuple[datetime, datetime, set[str]]] = []
        for at, user in slots:
            if found and at - found[-1][0] <= GROUP_WINDOW:
                first, _, users = found[-1]
                found[-1] = (first, at, users | {user})
            else:
                found.append((at, at, {user}))
        return [(last, users) for _, last, users in found]

    async def week(self, week: int) -> None:
        period = checkins.week_start(START.date()) + timedelta(days=7 * week)
        monday = datetime.combine(period, dtime(0), UTC)
        label = f"Week {week + 1}/{self.out.options.weeks}"
        by_id = {r.user_id: r for r in self.out.reps}

        self.advance(f"{label} · check-ins and deal nudges")
        await self.move_to(monday + PLAN_AFTER)
        slots = await self._slots(period)
        if not slots:
            self.warn(f"no check-in was planned for the week of {period}")
        turns: list[asyncio.Task[None]] = []
        for at, users in self.groups(slots):
            await self.move_to(at)
            reps = [by_id[u] for u in sorted(users) if u in by_id]
            await self.deal_updates(reps)
            await self.settle()
            arrived = await self.collect(reps)
            # reps click while the clock moves on to the next slot (as people do)
            turns += [
                asyncio.create_task(
                    self.rep_turn(rep, [s for s in arrived if s.user == rep.user_id], week)
                )
                for rep in reps
            ]
        await asyncio.gather(*turns)

        self.advance(f"{label} · reminders")
        await self.move_to(monday + REMINDER_AFTER)
        await jobs.run("checkins.sweep", self.jobs)
        await self.settle()
        await self.collect(self.out.reps)
        late, self.late = self.late, {}
        await asyncio.gather(
            *(self.answer_checkin(by_id[user], seen, week) for user, seen in late.items())
        )

        self.advance(f"{label} · check-ins close")
        await self.move_to(monday + CLOSE_AFTER)
        await jobs.run("checkins.sweep", self.jobs)
        await self.settle()
        await self.collect(self.out.reps)

        self.advance(f"{label} · digest")
        await self.move_to(monday + DIGEST_AFTER)
        await jobs.run("checkins.sweep", self.jobs)
        posted = await jobs.run("digests.post", self.jobs)
        for result in posted if isinstance(posted, list) else ():
            if (
                isinstance(result, digest_post.PostResult)
                and result.posted
                and result.channel_id
                and result.message_ts
            ):
                self.out.digests.append(
                    PostedDigest(
                        result.period_start,
                        result.channel_id,
                        result.message_ts,
                        self.clock.now(),
                        result.file_id,
                    )
                )
        if not any(d.period_start == period for d in self.out.digests):
            self.warn(f"no digest was posted for the week of {period}")

    async def stats(self) -> dict[str, Any]:
        async with self.rt.db.session() as session:
            answers = (await session.exec(select(func.count()).select_from(Response))).one()
            nudge_answers = (
                await session.exec(
                    select(func.count()).where(col(Response.context).startswith("nudge:"))
                )
            ).one()
            notes = (await session.exec(select(Note.shared))).all()
            deliveries = (
                await session.exec(
                    select(Delivery.kind, Delivery.status, func.count()).group_by(
                        col(Delivery.kind), col(Delivery.status)
                    )
                )
            ).all()
            events = (
                await session.exec(
                    select(DealEvent.status, func.count()).group_by(col(DealEvent.status))
                )
            ).all()
        return {
            "answers": int(answers),
            "nudge_answers": int(nudge_answers),
            "notes": len(notes),
            "shared_notes": sum(1 for shared in notes if shared),
            "deliveries": {f"{kind} {status}": int(n) for kind, status, n in deliveries},
            "deal_events": {str(status): int(n) for status, n in events},
        }

    async def run(self) -> None:
        self.rt = Runtime(
            settings=self.settings,
            db=Database(self.settings.TRUSTBOT_DATABASE_URL),
            clock=self.clock,
        )
        self.client = make_client(self.settings)
        resolve = email_resolver(self.client, email_cache(self.rt))
        self.jobs = jobs.JobContext(self.rt, self.client, resolve)
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.sender = WebhookSender(
            f"{self.server_url}/webhooks/deals", WEBHOOK_SECRET, self.clock, session
        )
        try:
            self.advance("Setting up the team with /trust")
            await self.set_up()
            for week in range(self.out.options.weeks):
                await self.week(week)
            await self.settle()
            self.out.stats = await self.stats()
        finally:
            await session.close()
            await self.rt.db.dispose()


# --------------------------------------------------------------------------- the whole run


def _prepare(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("transcript.jsonl", "trustbot.db", "trustbot.db-wal", "trustbot.db-shm"):
        (out / name).unlink(missing_ok=True)
    for old in out.glob("trust-index-*.png"):
        old.unlink()


def _workspace(emu: SlackEmulator, reps: list[Rep]) -> render.Directory:
    names = render.Directory()
    for user_id, name, real_name, tz in (ADMIN, MANAGER):
        emu.add_user(user_id, name=name, real_name=real_name, tz=tz, is_admin=user_id == ADMIN[0])
        names.users[user_id] = name
    for rep in reps:
        emu.add_user(rep.user_id, name=rep.name, real_name=rep.real_name, tz=rep.tz)
        names.users[rep.user_id] = rep.name
    emu.add_channel(CHANNEL_ID, name=CHANNEL_NAME, members=[ADMIN[0], MANAGER[0]])
    names.channels[CHANNEL_ID] = CHANNEL_NAME
    return names


def run(options: Options, console: Console, *, started: float | None = None) -> Outcome:
    """Run the demo, print it to ``console`` and write the files to ``options.out``.
    ``started`` (``time.monotonic()``) is when the command began, for the time reported."""
    started = time.monotonic() if started is None else started
    reps = team(options.team_size)
    featured = next((r for r in reps if r.persona.key == "newcomer"), reps[0])
    outcome = Outcome(options=options, reps=reps, featured=featured)
    out = options.out
    _prepare(out)
    database_url = f"sqlite:///{(out / 'trustbot.db').resolve()}"
    upgrade(database_url)
    handler = logging.FileHandler(out / "trustbot.log", mode="w", encoding="utf-8")
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    clock = ManualClock(START)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task(
        "Starting the Slack emulator and Trustbot", total=options.weeks * 4 + 1
    )
    steps = 0

    def advance(description: str) -> None:
        nonlocal steps
        if steps:
            progress.advance(task)
        steps += 1
        progress.update(task, description=description)

    try:
        with SlackEmulator(
            scopes=BOT_SCOPES,  # app.yml's bot scopes: Slack refuses a call they do not allow
            signing_secret=SIGNING_SECRET,
            bot_token=BOT_TOKEN,
            app_token=APP_TOKEN,
            team_name="Acme Sales",
            transcript_path=out / "transcript.jsonl",
        ) as emu:
            names = _workspace(emu, reps)
            with progress:
                _simulate(emu, options, database_url, clock, outcome, advance)
                progress.update(task, completed=options.weeks * 4 + 1, description="Done")
            outcome.webhook_statuses = dict(sorted(outcome.webhook_statuses.items()))
            if emu.validation_failures:
                outcome.warnings.append(
                    f"the emulator refused {len(emu.validation_failures)} Block Kit payload(s)"
                )
            outcome.charts = _save_charts(emu, out)
            outcome.elapsed = time.monotonic() - started
            report(console, emu, names, outcome, admin=ADMIN[1], channel=CHANNEL_NAME)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    return outcome


def _simulate(
    emu: SlackEmulator,
    options: Options,
    database_url: str,
    clock: ManualClock,
    outcome: Outcome,
    advance: Callable[[str], None],
) -> None:
    """The app on a thread of its own, the driver on this one, until the last digest."""
    settings = settings_for(emu, database_url)
    server = app_server.TrustbotServer(
        lambda: Runtime(settings=settings, db=Database(database_url), clock=clock),
        host="127.0.0.1",
        port=0,
        socket_mode=options.transport == "socket",
        log_level="warning",
        schedule=False,
    )
    thread = app_server.ServerThread(server).start()
    try:
        if options.transport == "socket":
            if not emu.wait_for_socket(timeout=10):
                raise DemoError("the app did not connect over Socket Mode")
        else:
            emu.connect_http(f"{thread.url}/slack/events")
        driver = Driver(emu, thread.url, settings, clock, outcome, advance)
        asyncio.run(driver.run())
    finally:
        thread.stop()


def _save_charts(emu: SlackEmulator, out: Path) -> list[Path]:
    saved = []
    for file in emu.files:
        content = file.get("content")
        name = Path(str(file.get("name") or "")).name
        if isinstance(content, bytes) and name.endswith(".png"):
            path = out / name
            path.write_bytes(content)
            saved.append(path)
    return saved
