"""/trust subcommands end to end: admins, refusals, bad arguments, self-service."""

from __future__ import annotations

from bot.storage.models import AuditLog, Member, Person, Team
from tests.support.db import rows
from tests.support.stack import Stack, trust


def test_admin_sets_up_a_team(http_stack: Stack) -> None:
    s = http_stack
    assert "Team `sales` created" in trust(s, "team create sales <#C0SALES|sales-managers>")
    assert "already exists" in trust(s, "team create SALES <#C0SALES>")
    out = trust(s, "team add sales <@U0REP1|ana> <@U0REP2>")
    assert "Added to `sales` as reps: <@U0REP1>, <@U0REP2>" in out
    assert "Already there: <@U0REP1>" in trust(s, "team add sales <@U0REP1>")
    zones = {p.user_id: p.tz for p in rows(s.database_url, Person)}
    assert zones == {"U0REP1": "America/New_York", "U0REP2": "Europe/Berlin"}
    assert "as managers: <@U0MGR>" in trust(s, "team manager sales <@U0MGR>")
    assert "every fri at 16:30" in trust(s, "schedule Sales friday 16:30")
    assert "at least 6 people" in trust(s, "anonymity sales 6")
    assert "paused" in trust(s, "pause sales")
    listing = trust(s, "team list")
    assert "*sales* (paused)" in listing and "reps (2)" in listing and "k=6" in listing
    assert "Removed from `sales`: <@U0REP2>" in trust(s, "team remove sales <@U0REP2> <@U0NOPE>")
    status = trust(s, "status")
    assert "team.create" in status and "team.remove" in status
    (team,) = rows(s.database_url, Team)
    assert (team.checkin_weekday, team.checkin_time, team.k, team.paused) == (4, "16:30", 6, True)
    assert len(rows(s.database_url, AuditLog)) == 7


def test_non_admin_is_told_and_nothing_changes(http_stack: Stack) -> None:
    s = http_stack
    for text in (
        "team create sales <#C0SALES>",
        "anonymity sales 5",
        "admin add <@U0REP1>",
        "status",
    ):
        out = trust(s, text, user="U0REP1")
        assert "for Trustbot admins, and you are not one" in out
    assert rows(s.database_url, Team) == [] and rows(s.database_url, AuditLog) == []


def test_admin_granted_by_command_then_revoked(http_stack: Stack) -> None:
    s = http_stack
    assert "now a Trustbot admin" in trust(s, "admin add <@U0REP1>")
    assert "Team `east` created" in trust(s, "team create east <#C0SALES>", user="U0REP1")
    assert "no longer" in trust(s, "admin remove <@U0REP1>")
    assert "not one" in trust(s, "team list", user="U0REP1")


def test_errors_from_the_domain_show_the_form(http_stack: Stack) -> None:
    s = http_stack
    out = trust(s, "team add ghosts <@U0REP1>")
    assert "There is no team `ghosts`" in out
    assert "/trust team add <team> <@user>..." in out
    assert "There is no check-in prompt" in trust(s, "prompts disable nope.nope")
    assert rows(s.database_url, Member) == []


def test_prompts_can_be_disabled_and_listed(http_stack: Stack) -> None:
    s = http_stack
    said = trust(s, "prompts disable goal.trust_or_else")
    assert "`goal.trust_or_else` is disabled. From the next check-in on," in said
    assert "goal asks only `goal.generous_not_calculated`" in said  # what it does to the rotation
    listing = trust(s, "prompts list")
    assert ":no_entry_sign: `goal.trust_or_else`" in listing
    assert "(goal, situation)" in listing and "(care, behaviour)" in listing
    assert "Each check-in asks 5 questions plus the optional note" in listing


def test_self_service_snooze_optout_optin(http_stack: Stack) -> None:
    s = http_stack
    assert "You receive check-ins" in trust(s, "me", user="U0REP1")
    assert "Snoozed: no check-ins or nudges until" in trust(s, "snooze 7", user="U0REP1")
    assert "Snoozed until" in trust(s, "me", user="U0REP1")
    assert "opted out" in trust(s, "optout", user="U0REP1")
    assert "You have opted out" in trust(s, "me", user="U0REP1")
    assert "Welcome back" in trust(s, "optin", user="U0REP1")
    assert "Snoozed until" in trust(s, "me", user="U0REP1")


def test_checkin_now_plans_one_round_a_week(http_stack: Stack) -> None:
    from bot.storage.models import CheckinRound, Delivery

    s = http_stack
    trust(s, "team create sales <#C0SALES>")
    assert "has no reps yet" in trust(s, "checkin sales now")
    assert "already planned or sent" in trust(s, "checkin sales now")
    trust(s, "team create east <#C0SALES>")
    trust(s, "team add east <@U0REP1> <@U0REP2>")
    assert "to the 2 reps of `east` now" in trust(s, "checkin east now")
    assert len(rows(s.database_url, CheckinRound)) == 2
    assert sorted(d.user_id for d in rows(s.database_url, Delivery)) == ["U0REP1", "U0REP2"]
    trust(s, "pause east")
    assert "is paused" in trust(s, "checkin east now")
