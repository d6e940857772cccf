"""The demo's cast, clock marks and settings, and what a run produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.demo.personas import Rep
from bot.runtime.settings import Settings, load_settings
from slack_emulator import SlackEmulator

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
"""Monday 5 January 2026, 08:00 UTC. The default six weeks cross no daylight-saving change in
the cast's zones; longer runs do (US, Europe, Australia), and the app's slots follow them."""

TEAM_NAME = "field-sales"
CHANNEL_ID, CHANNEL_NAME = "C0DEMODIGEST", "sales-leadership"
DELIVERY_ID, DELIVERY_NAME = "C0DEMODELIVER", "delivery"
"""Where the team's reps may flag commitments (``/trust delivery``)."""
COMMITMENT_WORDS = (
    "Go-live within 6 weeks of signature, with the CRM integration they rely on, and a "
    "named success manager from day one."
)
"""What the demo's rep writes when they flag a commitment to delivery from a nudge."""
ADMIN = ("U0DEMOADMIN", "alex", "Alex Admin", "Europe/London")
MANAGER = ("U0DEMOMGR", "mia", "Mia Chen", "Europe/London")
CHECKIN_DAY, CHECKIN_TIME = "tue", "10:00"
GROUP_WINDOW = timedelta(hours=3)
"""Rep-local slots this close together are reached in one clock move, so a DM may arrive up to
3 h after its slot (well inside the 6 h after which a missed slot is skipped); 0 would stop
the clock at every rep's own slot, at the cost of the outbox worker's idle poll each time."""
PROMPT_CHANGES = (
    ("enable", "integrity.challenged_misconception"),
    ("disable", "goal.generous_not_calculated"),
)
"""``/trust prompts enable|disable`` the admin runs at set-up: the reply says what the change
does to the weekly rotation (each check-in still asks at most 5 questions). The second makes
the headline goal question ("trust and value, or something else?") the goal dimension's only
one, so it comes up every time the goal does."""
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


@dataclass(frozen=True)
class Candor:
    """A rep who qualified out or admitted a risk on a deal, what they read back, and their
    behaviour trend with and without those answers (identical: they carry no score)."""

    rep: str
    deal: str
    moment: str
    answers: list[tuple[str, str, str | None]]  # (question, answer, its score)
    feedback: str
    next_step: str
    verdict: str | None
    trend: list[tuple[date, float]]
    trend_without: list[tuple[date, float]]


@dataclass(frozen=True)
class Coaching:
    """What the run shows about issue #17: the weekly questions, candor not scored, verdicts."""

    weeks: list[tuple[date, list[str]]]  # the round's questions each week (the note apart)
    candor: list[Candor]
    verdicts: dict[str, dict[str, int]]
    outcomes: str = ""  # the team's outcomes line, as /trust status shows it


@dataclass(frozen=True)
class FollowShown:
    """The one follow-through the demo shows: who clicked what, and what was posted."""

    rep: str
    deal_moment: str
    label: str
    posted: dict[str, Any]  # the message in the delivery channel


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
    coaching: Coaching | None = None
    home: tuple[Rep, dict[str, Any]] | None = None  # a rep's own App Home at the end
    follow_through: FollowShown | None = None
    charts: list[Path] = field(default_factory=list)
    elapsed: float = 0.0
    manager_checkin: tuple[str, str] | None = None  # the latest one: (channel, ts)


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
