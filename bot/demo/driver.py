"""The demo's driver: the admin's /trust commands, the CRM's deal updates and the scheduler's
ticks on a clock that is moved week by week; the reps' clicks are :mod:`bot.demo.hands`."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import aiohttp
from sqlalchemy import and_, func, or_
from sqlmodel import col, select

from bot.app import jobs
from bot.core import checkins, deals, verdicts
from bot.core.deals import email_cache, outcomes
from bot.core.prompts import PromptBank, default_bank
from bot.core.rep_page import rep_page
from bot.demo.crm import Crm, WebhookSender
from bot.demo.hands import Hands
from bot.demo.model import (
    ADMIN,
    CHANNEL_ID,
    CHANNEL_NAME,
    CHECKIN_DAY,
    CHECKIN_TIME,
    CLOSE_AFTER,
    DELIVERY_ID,
    DELIVERY_NAME,
    DIGEST_AFTER,
    GROUP_WINDOW,
    MANAGER,
    PLAN_AFTER,
    PROMPT_CHANGES,
    REMINDER_AFTER,
    START,
    TEAM_NAME,
    WEBHOOK_SECRET,
    Candor,
    Coaching,
    DemoError,
    Outcome,
    PostedDigest,
    Seen,
)
from bot.demo.personas import INVESTMENT, RISKS, Behaviour, Rep
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock, utc
from bot.runtime.settings import Settings
from bot.slack import digest_post
from bot.slack.client import make_client
from bot.slack.kit.checkin import answer_label
from bot.slack.users import email_resolver
from bot.storage import Database
from bot.storage.models import CheckinRound, DealEvent, Delivery, Note, Response, Team
from slack_emulator import SlackEmulator

MANAGER_SELF_CHECK = ("yes", "partly", "no", "partly")  # the manager's honest weeks


class Driver(Hands):
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
        await self.trust(f"delivery {TEAM_NAME} <#{DELIVERY_ID}|{DELIVERY_NAME}>")
        for action, prompt_id in PROMPT_CHANGES:
            await self.trust(f"prompts {action} {prompt_id}")
        await self.trust("team list")

    # -- the CRM ---------------------------------------------------------------------

    def fit_of(self, message: dict[str, Any]) -> str | None:
        """The hidden fit of the deal a nudge names (a candid rep sees it after meeting)."""
        text = str(message.get("text") or "")
        for worked in self.crm.deals.values():
            for deal in worked:
                if f"({deal.name})" in text:
                    return deal.fit
        return None

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
            return sorted((utc(planned or due), str(user)) for planned, due, user in rows.all())

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
        await self.manager_turn(week)

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
        await self.settle()  # the team summaries the digest planned reach the reps
        await self.collect(self.out.reps)

    async def manager_turn(self, week: int) -> None:
        """The manager answers their own check-in: an estimate a little rosier than the team
        (what the perception gap is there to show), and an honest self-check."""
        await self.settle()
        manager = MANAGER[0]
        for message in reversed(self.emu.dm_messages(manager)):
            buttons = {
                str(e.get("action_id")): str(e.get("value"))
                for b in message.get("blocks") or []
                if b.get("type") == "actions"
                for e in b.get("elements") or []
            }
            if not any(a.startswith("manager.answer:") for a in buttons):
                continue
            wanted = ["internal_trust.bad_news:4"]
            wanted += [
                f"{item}:{MANAGER_SELF_CHECK[(week + i) % len(MANAGER_SELF_CHECK)]}"
                for i, item in enumerate(
                    ("self.neutral_first", "self.coach_not_control", "self.reward_behaviour")
                )
            ]
            for choice in wanted:
                action = f"manager.answer:{choice}"
                if action not in buttons:
                    continue
                current = self.emu.message(str(message["channel"]), str(message["ts"]))
                click = await self.emu.asend_click(manager, action, message=current)
                self.out.clicks += 1
                if not click.ok:
                    self.warn(f"the manager's click on {action} was not acknowledged")
                await self.settle()
            self.out.manager_checkin = (str(message["channel"]), str(message["ts"]))
            return
        self.warn(f"no manager check-in arrived in week {week + 1}")

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

    async def coaching(self) -> Coaching:
        """What the run shows about coaching rather than judging: each week's questions, the
        reps who qualified out or admitted a risk (what they read back, and their behaviour
        trend with and without those answers), and seed 000's verdicts against outcomes."""
        bank, workspace = self.bank, self.emu.state.team_id
        async with self.rt.db.session() as session:
            rounds = (
                await session.exec(select(CheckinRound).order_by(col(CheckinRound.period_start)))
            ).all()
            events = (await session.exec(select(DealEvent))).all()
            stored = (await session.exec(select(Response).order_by(col(Response.id)))).all()
        weeks = [
            (r.period_start, [p for p in r.prompt_ids if bank.prompt(p).kind != "text"])
            for r in rounds
        ]
        periods = sorted({row.period_start for row in stored})
        reps = {  # each rep's pseudonym of every week (they change weekly)
            who: r
            for r in self.out.reps
            for who in self.rt.pseudonyms.weeks(workspace, r.user_id, periods)
        }
        nudged = {
            deals.answer_context(self.rt.pseudonyms, workspace, e.id): e
            for e in events
            if e.id is not None
        }
        by_context: dict[str, list[Response]] = {}
        for row in stored:
            by_context.setdefault(row.context, []).append(row)

        def trend(rep: Rep, skip: Sequence[Response] = ()) -> list[tuple[date, float]]:
            """The rep's weekly mean score (as their own page shows it), without ``skip``."""
            weekly: dict[date, list[int]] = {}
            for row in stored:
                mine = reps.get(row.pseudonym) == rep
                if mine and row.score is not None and row not in skip:
                    weekly.setdefault(row.period_start, []).append(row.score)
            return [(week, round(sum(s) / len(s), 2)) for week, s in sorted(weekly.items())]

        rule = bank.investment_rule
        found: list[Candor] = []
        for context, given in by_context.items():
            event, rep = nudged.get(context), reps.get(given[0].pseudonym)
            admitted = [
                r
                for r in given
                if (r.prompt_id in INVESTMENT and r.value == "no")
                or (r.prompt_id in RISKS and r.value == "yes")
            ]
            if event is None or rep is None or not admitted:
                continue
            decided = verdicts.decide(rule, {r.prompt_id: r.value for r in given}, bank)
            first = bank.prompt(admitted[0].prompt_id)
            said = first.feedback_for(admitted[0].value)
            assert said is not None
            feedback, step = said.text, said.next
            if decided is not None and decided.name == "stop" and decided.said.next:
                feedback, step = decided.said.message, decided.said.next
            routed = deals.route(event.change, event.from_value, event.to_value)
            found.append(
                Candor(
                    rep=rep.name,
                    deal=event.deal_name,
                    moment=bank.moment(deals.moment_key(routed)).title,
                    answers=[
                        (
                            bank.prompt(r.prompt_id).text,
                            answer_label(bank.prompt(r.prompt_id), r.value) or r.value,
                            None if r.score is None else str(r.score),
                        )
                        for r in admitted
                    ],
                    feedback=feedback,
                    next_step=step,
                    verdict=decided.said.label if decided else None,
                    trend=trend(rep),
                    trend_without=trend(rep, admitted),
                )
            )
        stops = [c for c in found if c.verdict == rule.stop.label]
        risks = [c for c in found if c.verdict is None]
        rest = [c for c in found if c not in stops and c not in risks]
        shown = (stops[:1] + risks[:1] + rest[:1] + stops[1:] + risks[1:])[:3]
        async with self.rt.db.session() as session:
            team = (await session.exec(select(Team).where(Team.name == TEAM_NAME))).one()
        line = outcomes.summary(await outcomes.team_outcomes(self.rt, team))
        return Coaching(weeks, shown, await verdicts.outcomes(self.rt, workspace), line)

    async def own_page(self) -> None:
        """A rep opens their App Home at the end of the run: the rep who logged the most trust
        evidence (the featured rep on a tie), so the run shows a blind-spot view (seed 004)
        as a rep sees it."""
        workspace = self.emu.state.team_id
        logged: list[tuple[int, int, Rep]] = []
        for rep in self.out.reps:
            page = await rep_page(self.rt, workspace, rep.user_id, self.bank)
            if page.blind_spot is not None:
                featured = rep == self.out.featured
                logged.append((page.blind_spot.asked, int(featured), rep))
        if not logged:
            self.warn("no rep logged trust evidence, so no blind-spot view to show")
            return
        rep = max(logged, key=lambda found: found[:2])[2]
        before = len(self.emu.views_published(rep.user_id))
        await self.emu.asend_event({"type": "app_home_opened", "user": rep.user_id, "tab": "home"})
        if await self.until(
            lambda: len(self.emu.views_published(rep.user_id)) > before, "the rep's App Home"
        ):
            self.out.home = (rep, self.emu.views_published(rep.user_id)[-1])

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
            self.out.coaching = await self.coaching()
            await self.own_page()
        finally:
            await session.close()
            await self.rt.db.dispose()
