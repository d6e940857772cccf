"""The check-in and the nudge README shows "as a rep sees them" are what the kit builds today:
rendered here the same way, they must appear in README.md verbatim."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console

from bot.core import rotation
from bot.core.home import CheckinStatus, HomeData
from bot.core.nudges import NudgeState
from bot.core.prompts import MomentKey, default_bank
from bot.core.rep_page import BlindSpot, DealEvidence, Practice, RepPage, Trend
from bot.demo import render
from bot.slack.kit.checkin import checkin_message, checkin_tip
from bot.slack.kit.home import home_view
from bot.slack.kit.nudge import nudge_message
from bot.storage.models import CheckinRound
from tests.support.deals import nudge_content

README = Path(__file__).resolve().parents[2] / "README.md"
AT = datetime(2026, 12, 7, 10, tzinfo=UTC)


def rendered(message: dict[str, object], title: str) -> str:
    console = Console(record=True, width=92, color_system=None, file=io.StringIO())
    console.print(render.message(message, render.Directory(), title=title))  # type: ignore[arg-type]
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def test_the_readme_shows_the_checkin_and_the_nudge_as_built() -> None:
    bank = default_bank()
    week = rotation.plan_week(bank, None, "T0ACME", date(2026, 12, 7))
    rnd = CheckinRound(
        id=3,
        workspace_id="T0ACME",
        team_id=1,
        period_start=date(2026, 12, 7),
        period_end=date(2026, 12, 13),
        prompt_ids=week.prompt_ids,
        created_at=AT,
    )
    clicked = {
        "care.interests_first": "4",
        "goal.trust_or_else": "quota",
        "candor.forecast_honest": "2",
    }
    checkin = checkin_message(
        bank, rnd, clicked, None, tip=checkin_tip(bank, rnd), deal="Globex renewal"
    )
    moment = bank.moment(MomentKey.FIRST_CONTACT)
    content = nudge_content(
        MomentKey.FIRST_CONTACT,
        workspace_id="T0ACME",
        deal_id="D-7",
        deal_name="Initech platform deal",
        from_value="Prospecting",
        to_value="Discovery",
        occurred_at=AT,
    )
    answers = dict(zip(moment.prompts, ("yes", "no", "yes"), strict=True))
    nudge = nudge_message(bank, NudgeState(content, answers, False, "D1", "1.2"))
    readme = README.read_text(encoding="utf-8")
    assert rendered(checkin, "Trustbot · weekly check-in, after three clicks") in readme
    assert rendered(nudge, "Trustbot · deal nudge, all three answered") in readme


def rep_page_example() -> dict[str, object]:
    """The App Home README shows: a rep's own page, with evidence and a blind spot."""
    bank = default_bank()
    weeks = [date(2026, 11, 9) + timedelta(weeks=n) for n in range(4)]
    step = bank.prompt("evidence.key_players").feedback_for("not_yet")
    assert step is not None
    page = RepPage(
        trends=[
            Trend("integrity", list(zip(weeks, (4.0, 3.0, 5.0, 5.0), strict=True)), 4.0),
            Trend("care", list(zip(weeks[1:], (5.0, 5.0, 4.0), strict=True)), 5.0),
            Trend("candor", [(weeks[3], 4.0)], None),
        ],
        evidence=[
            DealEvidence(
                "Hooli migration",
                [
                    ("evidence.key_players", "not_yet"),
                    ("evidence.criteria", "not_yet"),
                    ("evidence.budget", "guessing"),
                ],
            ),
            DealEvidence(
                "Globex renewal",
                [("evidence.key_players", "told_me"), ("evidence.confided", "told_me")],
            ),
        ],
        blind_spot=BlindSpot(4.4, 10, 2, 5, "gap"),
        practice=Practice(
            step.next, "what buyers have shared with you least: who else decides", ("004",)
        ),
    )
    data = HomeData(
        user_id="U1",
        tz="Europe/Berlin",
        rep_of=["field-sales"],
        this_week=CheckinStatus(
            date(2026, 12, 7), "sent", 5, 5, datetime(2026, 12, 10, 16, tzinfo=UTC)
        ),
        page=page,
    )
    return home_view(data)


def test_the_readme_shows_the_reps_own_page_as_built() -> None:
    readme = README.read_text(encoding="utf-8")
    assert rendered(rep_page_example(), "Trustbot · App Home, a rep's own page") in readme
