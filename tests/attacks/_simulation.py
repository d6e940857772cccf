"""Realistic use of Trustbot for several weeks, through the product's own domain functions.

One workspace, three teams whose memberships overlap (``north``; ``north-plus``, which is
``north`` and one more rep; ``south``, which shares that rep), reps in London, New York and
Tokyo, deal updates of every change kind, weekly check-ins answered (or not) by reps who
click quickly, within the hour, hours later or the next day, shared and private notes, a
manager's estimate, a snooze, an opt-out, a forget-me, and every week's digest frozen and
posted. A :class:`~bot.runtime.clock.ManualClock` moves through the weeks event by event.

No Slack: what the app's periodic jobs (:mod:`bot.app.jobs`) and its outbox worker
(:mod:`bot.slack.sender`) do is done here with the same core calls, minus the posting
(:meth:`Simulation.tick`); a rep's click is the core call its listener makes. Keep
:meth:`Simulation.tick` in step with the jobs when one gains a step that changes stored
data (a scrub after a check-in closes, say), or the dump will not show it.

Answers the product refuses (:class:`~bot.core.answers.AnswerError`: the rep was forgotten
meanwhile, a check-in it decided not to send, ...) are counted in :attr:`Log.refused`, not
raised: refusing is the product's right, and the sanity test checks enough got through.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.core import (
    admins,
    answers,
    checkins,
    deals,
    digests,
    nudges,
    outbox,
    people,
    privacy,
    recipients,
    teams,
)
from bot.core.deals import DealUpdate
from bot.core.prompts import DealChange, default_bank
from bot.core.workspaces import ensure_workspace
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.models import Delivery, ManagerEstimate
from tests.attacks._dump import Dump, dump_database

WS = "T0ACME0001"
KEY = "attack-simulation-pseudonym-key-0123456789"
START = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # a Monday
WEEKS = 4
END = START + timedelta(weeks=WEEKS, days=4)  # the last week's check-ins closed, digest posted
WORKER = "worker-1"

LONDON, NEW_YORK, TOKYO = "Europe/London", "America/New_York", "Asia/Tokyo"
QUICK = (15.0, 50.0)  # seconds after the DM arrives
WITHIN_HOUR = (300.0, 2400.0)
HOURS_LATER = (2 * 3600.0, 6 * 3600.0)
NEXT_DAY = (18 * 3600.0, 26 * 3600.0)


def user_id(name: str) -> str:
    """A Slack-like user ID: ``U0ALICE00``."""
    return "U0" + name.upper().ljust(7, "0")


@dataclass(frozen=True)
class Persona:
    name: str
    tz: str
    answers: float  # chance of answering a DM at all
    delay: tuple[float, float]  # seconds between the DM and the first click
    level: int  # the score they usually give
    notes: float = 0.3  # chance of writing a note to a check-in
    shares: float = 0.5  # chance a note is shared

    @property
    def id(self) -> str:
        return user_id(self.name)


ALICE = Persona("alice", LONDON, 0.95, QUICK, 4, notes=0.5, shares=0.7)
BOB = Persona("bob", LONDON, 0.85, WITHIN_HOUR, 3)
CARA = Persona("cara", NEW_YORK, 0.9, QUICK, 5, notes=0.2, shares=1.0)
DAN = Persona("dan", NEW_YORK, 0.8, HOURS_LATER, 3, notes=0.4, shares=0.0)  # opts out, week 4
EVE = Persona("eve", TOKYO, 0.9, QUICK, 4)
FAY = Persona("fay", LONDON, 0.95, WITHIN_HOUR, 2, notes=1.0, shares=1.0)  # forgotten, week 3
GUS = Persona("gus", NEW_YORK, 0.85, WITHIN_HOUR, 4)  # north-plus and south
HAL = Persona("hal", TOKYO, 0.75, HOURS_LATER, 3, notes=0.2)  # snoozed in week 3
IDA = Persona("ida", LONDON, 0.8, NEXT_DAY, 4)
JON = Persona("jon", NEW_YORK, 0.7, QUICK, 2, notes=0.2)  # the CRM names him by e-mail
KAI = Persona("kai", TOKYO, 0.9, WITHIN_HOUR, 5)  # joins south in week 2
LEO = Persona("leo", LONDON, 0.3, HOURS_LATER, 3)  # mostly skips
REPS = (ALICE, BOB, CARA, DAN, EVE, FAY, GUS, HAL, IDA, JON, KAI, LEO)
MIA, NED, ADA = user_id("mia"), user_id("ned"), user_id("ada")  # managers, admin
STAFF = {MIA: LONDON, NED: NEW_YORK, ADA: LONDON}

NORTH = [ALICE, BOB, CARA, DAN, EVE, FAY]
TEAMS: dict[str, tuple[list[Persona], list[str], int]] = {  # reps, managers, k
    "north": (NORTH, [MIA], 5),
    "north-plus": ([*NORTH, GUS], [MIA], 5),  # north and one more person
    "south": ([GUS, HAL, IDA, JON, LEO], [NED], 3),  # KAI joins in week 2
}
EMAILS = {JON.id: "jon.doe@acme.example"}

KINDS = tuple(DealChange)
VALUES: dict[DealChange, tuple[str | None, str | None]] = {
    DealChange.CREATED: (None, "Discovery"),  # after first contact: asked at once
    DealChange.STAGE_CHANGED: ("Discovery", "Proposal"),
    DealChange.CLOSE_DATE_CHANGED: ("2026-12-15", "2027-01-29"),
    DealChange.AMOUNT_CHANGED: ("40000", "52000"),
    DealChange.DISCOUNT_REQUESTED: (None, "15%"),
    DealChange.WON: ("Negotiation", "Closed Won"),
    DealChange.LOST: ("Proposal", "Closed Lost"),
}
COMPANIES = ("Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Stark", "Wayne")
NOTES = (
    "The forecast call felt rushed again",
    "I could bring the pricing worry to my manager this week",
    "Handover to delivery is where we lose trust",
    "Two clients asked for references we could not give",
    "I pushed a close date because the client asked, not the quarter",
)


def name_of(user: str) -> str:
    for persona in REPS:
        if persona.id == user:
            return persona.name
    return {MIA: "mia (manager)", NED: "ned (manager)", ADA: "ada (admin)"}.get(user, user)


def settings_runtime(db: Database, clock: ManualClock) -> Runtime:
    return Runtime(settings=load_settings(TRUSTBOT_PSEUDONYM_KEY=KEY), db=db, clock=clock)


@dataclass
class Log:
    """What the simulation did, in its own words (not read back from the database)."""

    weeks: list[date] = field(default_factory=list)
    teams: dict[str, int] = field(default_factory=dict)  # name -> id
    checkin_answers: Counter[str] = field(default_factory=Counter)  # user -> rounds answered
    checkins_skipped: Counter[str] = field(default_factory=Counter)  # user -> rounds not
    nudge_answers: dict[str, set[str]] = field(default_factory=dict)  # change -> users
    deal_events: Counter[str] = field(default_factory=Counter)  # change -> stored
    notes: list[tuple[str, str, bool]] = field(default_factory=list)  # (user, text, shared)
    estimates: list[tuple[str, int]] = field(default_factory=list)  # (manager, team id)
    forgotten: list[str] = field(default_factory=list)
    digests: list[tuple[str, date]] = field(default_factory=list)  # (team, week) posted
    sent: Counter[str] = field(default_factory=Counter)  # kind -> DMs sent
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> DMs not sent
    refused: Counter[str] = field(default_factory=Counter)  # reason -> clicks refused
    answered_by: set[str] = field(default_factory=set)  # users with at least one answer


Action = Callable[[], Awaitable[None]]


class Simulation:
    """The event loop: scripted events, hourly ticks of the jobs, and the reps' clicks."""

    def __init__(self, db: Database, seed: int = 15) -> None:
        self.clock = ManualClock(START)
        self.rt = settings_runtime(db, self.clock)
        self.seed = seed
        self.bank = default_bank()
        self.log = Log()
        self._queue: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()
        self._events = itertools.count(1000)
        self._deals: dict[str, list[tuple[str, str]]] = {}

    def at(self, when: datetime, action: Action) -> None:
        heapq.heappush(self._queue, (when, next(self._order), action))

    def rng(self, *key: object) -> random.Random:
        """The chances of one event, seeded by what it is: the same run on SQLite and on
        PostgreSQL, whatever order the databases return rows in."""
        return random.Random("|".join(map(str, (self.seed, *key))))

    async def run(self) -> Log:
        await self.set_up()
        hour = START
        while hour <= END:
            self.at(hour, self.tick)
            if hour.hour % 6 == 0:
                self.at(hour, self.slow_tick)
            hour += timedelta(hours=1)
        for week in range(WEEKS):
            self.plan_week(week)
        while self._queue:
            when, _, action = heapq.heappop(self._queue)
            if when > self.clock.now():
                self.clock.set(when)
            await action()
        return self.log

    # -- set-up and the week's script ----------------------------------------------------

    async def set_up(self) -> None:
        db, clock = self.rt.db, self.clock
        await ensure_workspace(db, WS, clock, "Acme")
        await admins.add(db, WS, ADA, ADA, clock)
        for i, (name, (reps, managers, k)) in enumerate(TEAMS.items()):
            team = await teams.create(db, WS, ADA, name, f"C0DIGEST{i}", clock)
            assert team.id is not None
            self.log.teams[name] = team.id
            await teams.add_people(db, WS, ADA, name, [r.id for r in reps], teams.REP, clock)
            await teams.add_people(db, WS, ADA, name, managers, teams.MANAGER, clock)
            if k != 5:
                await teams.update(db, WS, ADA, name, clock, k=k, notes_k=k)
            clock.advance(37)
        zones = {r.id: r.tz for r in REPS if r is not KAI} | STAFF
        await people.set_timezones(db, WS, zones, clock)

    def plan_week(self, week: int) -> None:
        monday = START.replace(hour=0) + timedelta(weeks=week)
        self.log.weeks.append(monday.date())
        if week == 1:
            self.at(monday + timedelta(hours=10), self.kai_joins)
            self.at(monday + timedelta(days=1, hours=11, minutes=12), self.estimate)
        if week == 2:
            self.at(monday + timedelta(hours=8, minutes=5), self.hal_snoozes)
            self.at(monday + timedelta(days=3, hours=12, minutes=30), self.fay_forgets)
        if week == 3:
            self.at(monday + timedelta(hours=8, minutes=40), self.dan_opts_out)
        if week > 0:  # what the time-zone job learns from users.info every week
            self.at(monday + timedelta(hours=6, minutes=1), self.refresh_zones)
        for i, rep in enumerate(REPS):
            if (i + week) % 3 == 0:
                continue  # no deal news for this rep this week
            changes = [KINDS[(2 * i + week) % len(KINDS)]]
            if (i + week) % 4 == 1:
                changes.append(KINDS[(2 * i + week + 3) % len(KINDS)])
            for change in changes:
                rng = self.rng("deal", rep.name, week, change)
                offset = timedelta(
                    days=rng.randrange(4),
                    hours=rng.randrange(8, 20),
                    minutes=rng.randrange(60),
                    seconds=rng.randrange(60),
                )
                self.at(monday + offset, self._deal_update(rep, change, rng))

    async def kai_joins(self) -> None:
        await teams.add_people(self.rt.db, WS, ADA, "south", [KAI.id], teams.REP, self.clock)
        await people.set_timezones(self.rt.db, WS, {KAI.id: KAI.tz}, self.clock)

    async def refresh_zones(self) -> None:
        zones = {r.id: r.tz for r in REPS if r.id not in self.log.forgotten} | STAFF
        await people.set_timezones(self.rt.db, WS, zones, self.clock)

    async def estimate(self) -> None:
        """MIA's estimate of how ``north`` answers a question (the product has no writer for
        it yet: the row is made as its model says, with only the fields it has)."""
        team_id = self.log.teams["north"]
        prompt = self.bank.for_manager_estimate()[0]
        values = {
            "workspace_id": WS,
            "team_id": team_id,
            "period_start": checkins.week_start(self.clock.now().date()),
            "pseudonym": answers.pseudonym_of(
                self.rt, WS, MIA, checkins.week_start(self.clock.now().date())
            ),
            "prompt_id": prompt.id,
            "value": 70,
            "answered_at": self.clock.now(),
        }
        fields = ManagerEstimate.model_fields
        async with self.rt.db.session() as session:
            session.add(ManagerEstimate(**{k: v for k, v in values.items() if k in fields}))
        self.log.estimates.append((MIA, team_id))

    async def hal_snoozes(self) -> None:
        await people.snooze(self.rt.db, WS, HAL.id, 7, self.clock)

    async def dan_opts_out(self) -> None:
        await people.set_opted_out(self.rt.db, self.rt.pseudonyms, WS, DAN.id, True)

    async def fay_forgets(self) -> None:
        await privacy.forget(self.rt, WS, FAY.id)
        self.log.forgotten.append(FAY.id)

    # -- deals -----------------------------------------------------------------------------

    def _deal_update(self, rep: Persona, change: DealChange, rng: random.Random) -> Action:
        async def arrive() -> None:
            mine = self._deals.setdefault(rep.id, [])
            if change is DealChange.CREATED or not mine:
                number = next(self._events)
                company = COMPANIES[number % len(COMPANIES)]
                mine.append((f"006{number:012d}", f"{company} {rep.name.title()} deal"))
            deal_id, deal_name = mine[-1]
            before, after = VALUES[change]
            by_email = rep.id in EMAILS
            update = DealUpdate(
                event_id=f"crm-{next(self._events)}",
                deal_id=deal_id,
                deal_name=deal_name,
                change=change,
                occurred_at=self.clock.now() - timedelta(minutes=rng.randrange(1, 30)),
                from_value=before,
                to_value=after,
                rep_user_id=None if by_email else rep.id,
                rep_email=EMAILS.get(rep.id),
            )
            receipts = await deals.store(self.rt, WS, deals.WEBHOOK, [update])
            self.log.deal_events[change.value] += 1
            created = [r.id for r in receipts if r.created]
            await deals.process_events(self.rt, created, self._lookup)

        return arrive

    async def _lookup(self, workspace_id: str, email: str) -> str | None:
        return next((u for u, e in EMAILS.items() if e == email), None)

    # -- the periodic jobs and the outbox worker -----------------------------------------

    async def tick(self) -> None:
        """An hour's work of :mod:`bot.app.jobs` ``checkins.sweep`` and of an outbox worker,
        without Slack (the jobs tick every minute; an hour is close enough here and keeps
        the run short)."""
        await checkins.claim_reminders(self.rt)  # the reminder DM itself stores nothing
        closed = await checkins.claim_expiries(self.rt)  # redrawn closed in Slack, then:
        await outbox.forget_recipients(self.rt.db, [d.id for d in closed if d.id is not None])
        await self.deliver()

    async def slow_tick(self) -> None:
        """The other jobs, every six hours: plan the rounds that are near (27 hours ahead),
        deal updates left behind, and the digests that are due (frozen, then posted)."""
        rt = self.rt
        await checkins.plan_due(rt, self.bank)
        await deals.process_pending(rt, self._lookup, min_age=timedelta(minutes=1))
        for due in await digests.due_digests(rt):
            result = await digests.digest_for(rt, due.team, due.period_start, publish=True)
            if result.claimed:
                ts = f"{self.clock.time():.6f}"
                await digests.mark_posted(rt, result.digest.id, due.team.channel_id, ts)
                self.log.digests.append((due.team.name, due.period_start))

    async def deliver(self) -> None:
        for row, decision in await send_due(self.rt):
            if isinstance(decision, recipients.Hold):
                self.log.skipped[decision.reason.split(" until")[0]] += 1
                continue
            self.log.sent[row.kind] += 1
            what = (
                ("checkin", decision.round.team_id, decision.round.period_start)
                if decision.round is not None
                else ("nudge", row.deal_event_id)
            )
            self.react(row.user_id, row.kind, row.id, row.round_id, self.rng(row.user_id, *what))

    # -- the reps ----------------------------------------------------------------------------

    def react(
        self,
        user: str,
        kind: str,
        delivery_id: int,
        round_id: int | None,
        rng: random.Random,
    ) -> None:
        """The rep reads the DM and answers it, or not."""
        persona = next((r for r in REPS if r.id == user), None)
        if persona is None or kind not in ("checkin", "nudge"):
            return  # a manager, or a DM with nothing to answer (the team summary)
        if rng.random() >= persona.answers:
            if kind == "checkin":
                self.log.checkins_skipped[user] += 1
            return
        when = self.clock.now() + timedelta(seconds=rng.uniform(*persona.delay))
        if kind == "checkin":
            assert round_id is not None
            self.at(when, self._answer_checkin(persona, round_id, rng))
        else:
            self.at(when, self._answer_nudge(persona, delivery_id, rng))

    def _value(self, persona: Persona, prompt_id: str, rng: random.Random) -> str:
        prompt = self.bank.prompt(prompt_id)
        choices = [option.value for option in prompt.answer.choices()]
        if prompt.kind == "scale":
            score = min(5, max(1, persona.level + rng.choice((-1, 0, 0, 0, 1))))
            return str(score)
        if "yes" in choices and rng.random() < 0.2 * (6 - persona.level):
            return "no" if "no" in choices else choices[-1]
        return choices[0]

    def _click_gap(self, rng: random.Random) -> None:
        self.clock.advance(rng.uniform(2.0, 12.0))

    def _answered(self, clicks: Action, answered: Callable[[], None]) -> Action:
        """``clicks`` as one action: a refusal is counted by its message, else ``answered``."""

        async def act() -> None:
            try:
                await clicks()
            except answers.AnswerError as refused:
                self.log.refused[refused.message] += 1
                return
            answered()

        return act

    def _answer_checkin(self, persona: Persona, round_id: int, rng: random.Random) -> Action:
        user = persona.id

        async def clicks() -> None:
            rt = self.rt
            state = await answers.checkin_state(rt, WS, user, round_id)
            for prompt_id in state.round.prompt_ids:
                if not self.bank.has_prompt(prompt_id):
                    continue
                if self.bank.prompt(prompt_id).kind == "text":
                    if rng.random() < persona.notes:
                        shared = rng.random() < persona.shares
                        text = f"{rng.choice(NOTES)} (#{rng.randrange(10**6):06d})"
                        await answers.record_note(rt, WS, user, round_id, text, shared)
                        self.log.notes.append((user, text, shared))
                else:
                    value = self._value(persona, prompt_id, rng)
                    await answers.record_answer(rt, WS, user, round_id, prompt_id, value)
                self._click_gap(rng)

        def answered() -> None:
            self.log.checkin_answers[user] += 1
            self.log.answered_by.add(user)

        return self._answered(clicks, answered)

    def _answer_nudge(self, persona: Persona, delivery_id: int, rng: random.Random) -> Action:
        user, changes = persona.id, list[str]()

        async def clicks() -> None:
            rt = self.rt
            state = await nudges.nudge_state(rt, WS, user, delivery_id)
            changes.append(state.content.change.value)
            for prompt_id in state.content.prompt_ids:
                value = self._value(persona, prompt_id, rng)
                await nudges.record_nudge_answer(rt, WS, user, delivery_id, prompt_id, value)
                self._click_gap(rng)

        def answered() -> None:
            self.log.nudge_answers.setdefault(changes[-1], set()).add(user)
            self.log.answered_by.add(user)

        return self._answered(clicks, answered)


async def send_due(rt: Runtime) -> list[tuple[Delivery, recipients.Go | recipients.Hold]]:
    """What the outbox worker does with the DMs due now, minus Slack: the same decision
    (:func:`bot.core.recipients.decide`), then sent (``D…`` channel, ``ts`` of now) or
    skipped with its reason."""
    done = []
    for row in await outbox.claim_due(rt.db, rt.clock, WORKER, 500):
        assert row.id is not None
        decision = await recipients.decide(rt, row)
        if isinstance(decision, recipients.Hold):
            await outbox.mark_skipped(rt.db, row.id, decision.reason, worker_id=WORKER)
        else:
            channel = "D" + row.user_id[1:]
            await outbox.mark_sent(rt.db, row.id, channel, f"{rt.clock.time():.6f}", rt.clock)
        done.append((row, decision))
    return done


@dataclass(frozen=True)
class Simulated:
    """A simulated database: its URL, what happened, and who owns which pseudonym (for
    scoring only: the attack never sees it)."""

    url: str
    log: Log
    truth: dict[str, str]  # pseudonym -> user
    names: dict[str, str]  # user -> a readable name


async def simulate(url: str, seed: int = 15) -> Simulated:
    """Run :class:`Simulation` on the migrated, empty database at ``url``."""
    db = Database(url)
    try:
        simulation = Simulation(db, seed)
        log = await simulation.run()
        people_ = [r.id for r in REPS] + list(STAFF)
        weeks = [START.date() + timedelta(weeks=n) for n in range(-1, WEEKS + 2)]
        truth = {p: u for u in people_ for p in simulation.rt.pseudonyms.weeks(WS, u, weeks)}
    finally:
        await db.dispose()
    return Simulated(url, log, truth, {u: name_of(u) for u in people_})


@dataclass(frozen=True)
class Stolen:
    """A simulated database's dump (all the attacker has) and the simulation (for scoring)."""

    dump: Dump
    simulated: Simulated


def steal(url: str) -> Stolen:
    """Simulate on the migrated, empty database at ``url``, then dump it."""
    simulated = asyncio.run(simulate(url))
    dump = dump_database(url)  # the key stays with the simulation, out of the attacker's hands
    assert KEY not in dump.text()
    return Stolen(dump, simulated)
