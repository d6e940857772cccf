"""Team names as admins type them, on SQLite and PostgreSQL alike: any case, any Unicode
form, and ``&`` as Slack escapes it (the emulator's send_command escapes like Slack)."""

from __future__ import annotations

import pytest

from bot.storage.models import Team
from tests.support.db import rows
from tests.support.stack import Stack, trust

pytestmark = pytest.mark.slow


def test_attack_a_unicode_team_name_is_one_team_whatever_its_case_or_form(
    http_stack: Stack,
) -> None:
    """On main SQLite's ASCII-only ``lower()`` made ``Équipe`` unfindable (\"no such team\")
    and its re-creation an IntegrityError; PostgreSQL's ``lower()`` missed a decomposed
    accent. The key is NFKC and casefolded."""
    assert "Team `Équipe` created" in trust(http_stack, "team create Équipe <#C0SALES>")
    assert "Added" in trust(http_stack, "team add équipe <@U0REP1>")
    assert "Added" in trust(http_stack, "team manager \u00c9QUIPE <@U0MGR>")
    assert "Added" in trust(http_stack, "team add e\u0301quipe <@U0REP2>")  # combining accent
    for again in ("Équipe", "ÉQUIPE", "e\u0301quipe"):
        assert "already exists" in trust(http_stack, f"team create {again} <#C0SALES>")
    (team,) = rows(http_stack.database_url, Team)
    assert (team.name, team.name_key) == ("Équipe", "équipe")
    listed = trust(http_stack, "team list")
    assert "U0REP1" in listed and "U0REP2" in listed and "U0MGR" in listed


def test_an_ampersand_in_a_team_name_is_the_one_typed(http_stack: Stack) -> None:
    """Slack sends ``R&D`` as ``R&amp;D``; the team is ``R&D``, found again as ``r&d``, and
    shown escaped once (``R&amp;D`` in mrkdwn reads R&D)."""
    answer = trust(http_stack, "team create R&D <#C0SALES>")
    assert "`R&amp;D`" in answer and "&amp;amp;" not in answer
    assert "Added" in trust(http_stack, "team add r&d <@U0REP1>")
    assert [t.name for t in rows(http_stack.database_url, Team)] == ["R&D"]
