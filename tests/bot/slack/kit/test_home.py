"""App Home views per role stay within Slack's limits and show only k-anonymous figures."""

from __future__ import annotations

from datetime import date

from bot.core.digests import Figures
from bot.core.home import CheckinStatus, HomeData, TeamDigest
from bot.slack.kit.home import home_view
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
        trend={"care": [(date(2026, 11, 16), 3.0), (date(2026, 11, 23), 4.5)]},
        digests=[digest],
        outbox={"sent": 5, "failed": 1},
    )
    view = home_view(data)
    assert validate_view(view) == []
    text = str(view)
    assert "6 answered of 8 asked" in text and "Care 4.00" in text
    assert "Candor" not in text.split("Trust index:")[1].split("\\n")[0]  # hidden, not shown
    assert "Coaching focus: *Care*" in text
    assert "You answered 3 of 11" in text and "1 failed" in text
