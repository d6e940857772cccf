"""App Home views per role stay within Slack's limits and show only k-anonymous figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.core.digests import Figures
from bot.core.home import CheckinStatus, HomeData, TeamDigest
from bot.core.rep_page import BlindSpot, DealEvidence, Practice, RepPage, Trend
from bot.slack.kit.home import READING, home_view, me_message
from slack_emulator import validate_view

FIGURES = {
    "period_start": "2026-11-16",
    "period_end": "2026-11-22",
    "k": 5,
    "notes_k": 5,
    "participation": {"asked": 8, "answered": 6},
    "dimensions": [
        {"dimension": "care", "label": "Care", "index": 4.0},
        {"dimension": "candor", "label": "Candor", "index": None},
    ],
    "focus": {
        "dimension": "care",
        "label": "Care",
        "index": 4.0,
        "tip_id": "care.manager",
        "tip": "Put the client's interests first.",
    },
}


def test_rep_manager_and_admin_views_validate() -> None:
    digest = TeamDigest("west", Figures.from_stored(FIGURES), "C1")
    data = HomeData(
        user_id="U1",
        rep_of=["west"],
        manager_of=["west"],
        is_admin=True,
        this_week=CheckinStatus(date(2026, 11, 23), "sent", 3, 11, None),
        page=RepPage(
            [Trend("care", [(date(2026, 11, 16), 3.0), (date(2026, 11, 23), 4.5)], 3.0)],
            [],
            None,
            Practice("Ask one more question.", "where your own answers were lowest", ("002",)),
        ),
        digests=[digest],
        outbox={"sent": 5, "failed": 1},
    )
    view = home_view(data)
    assert validate_view(view) == []
    text = str(view)
    assert "6 answered of 8 asked" in text and "Care 4.00" in text
    assert "Candor" not in text.split("Trust index:")[1].split("\\n")[0]  # hidden, not shown
    assert "Coaching focus: *Care*" in text
    assert "open, 3 of 11 answered" in text and "1 failed" in text
    assert "Care *4.5*, ▲ up from my baseline 3.0" in text


KOLKATA_PAGE = RepPage(
    trends=[Trend("candor", [(date(2026, 11, 16), 4.0)], None)],
    evidence=[
        DealEvidence(
            "<!channel> Globex",
            [("evidence.key_players", "told_me"), ("evidence.budget", "guessing")],
        )
    ],
    blind_spot=BlindSpot(4.5, 6, 1, 4, "gap"),
    practice=Practice("Go first.", "what buyers have shared with you least: their budget", ()),
)


def page_text(data: HomeData) -> str:
    view = home_view(data)
    assert validate_view(view) == []
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in view["blocks"])


def test_times_are_the_reps_own_and_an_answered_checkin_says_so() -> None:
    closes = datetime(2026, 11, 26, 11, 30, tzinfo=UTC)  # 17:00 in Kolkata
    data = HomeData(
        user_id="U1",
        tz="Asia/Kolkata",
        rep_of=["west"],
        snoozed_until=datetime(2026, 11, 28, 3, 30, tzinfo=UTC),
        this_week=CheckinStatus(date(2026, 11, 23), "sent", 5, 5, closes),
        page=KOLKATA_PAGE,
    )
    text = page_text(data)
    assert "Snoozed until Sat 28 Nov 09:00 IST." in text
    assert (
        "*Check-in, week of 23 Nov*: 5 of 5 answered. You can change your answers until "
        "Thu 26 Nov 17:00 IST." in text
    )
    assert "UTC" not in text
    closed = CheckinStatus(date(2026, 11, 16), "expired", 5, 5, None)
    assert closed.state == "answered"  # answered, never "expired"
    data.this_week = closed
    assert "*Check-in, week of 16 Nov*: 5 of 5 answered; closed." in page_text(data)
    assert CheckinStatus(date(2026, 11, 16), "expired", 2, 5, None).state == "closed"
    assert CheckinStatus(date(2026, 11, 16), "pending", 0, 5, None).state == "on its way"


def test_the_blind_spot_and_evidence_show_inert_deal_names() -> None:
    data = HomeData(user_id="U1", rep_of=["west"], page=KOLKATA_PAGE)
    text = page_text(data)
    assert "*&lt;!channel&gt; Globex*: ✅ who else decides (told me)" in text
    assert "🤔 their budget (guessing)" in text
    assert "I rate my client-first conduct *4.5 of 5*" in text
    assert "Buyers told me *1 of the 4* things I logged" in text and "18% of sellers" in text
    assert "🌱 *A practice for next week*: Go first." in text
    assert "Candor *4.0*, new: the baseline comes with the next weeks" in text
    me = me_message(data)
    assert (
        validate_view(
            {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": me["blocks"]}
        )
        == []
    )
    assert "Teams: west" in str(me) and "18% of sellers" in str(me)


def test_the_blind_spot_coaches_rather_than_judges() -> None:
    """Every reading is short, first person, and never a verdict or a lecture."""
    preachy = ("you should", "you must", "never", "shame", "failure", "unacceptable", "untrust")
    for reading, text in READING.items():
        lowered = text.lower()
        assert not any(word in lowered for word in preachy), reading
        assert len(text) <= 220 and (" i " in f" {lowered}" or "my " in lowered), reading
    assert "18%" in READING["gap"]  # seed 004's figure where the gap shows
