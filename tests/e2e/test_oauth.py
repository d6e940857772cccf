"""OAuth installs in many workspaces, end to end: the install pages, per-workspace tokens,
isolation between workspaces, app_uninstalled and tokens_revoked."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import create_engine, select, update
from sqlmodel import col

from bot.app.cli import main
from bot.core import checkins, workspaces
from bot.core.prompts import default_bank
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.slack.sender import NOT_INSTALLED
from bot.storage import Database, sync_url
from bot.storage.models import Delivery, Team, Workspace
from bot.storage.slack_tables import slack_bots, slack_oauth_states
from tests.support.db import sql_rows
from tests.support.oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    OAuthStack,
    install,
    oauth_settings,
    set_up_team,
    start_install,
    token_of,
)
from tests.support.stack import APP_TOKEN, PSEUDONYM_KEY, SIGNING_SECRET, WEBHOOK_SECRET, trust_in
from tests.support.waiting import wait_for

# -- the install flow ---------------------------------------------------------------


def test_install_stores_the_workspace_token_and_the_app_uses_it(oauth_stack: OAuthStack) -> None:
    emu = oauth_stack.emulator
    done = install(oauth_stack)
    assert done.status_code == 200, done.text
    token = token_of(oauth_stack, "T0001")
    assert token in emu.bot_tokens and token != emu.bot_token  # a new token, from the install
    access = emu.calls_to("oauth.v2.access")
    assert [c.response and c.response["team"]["id"] for c in access] == ["T0001"]
    workspace = sql_rows(
        oauth_stack.database_url, select(Workspace.id, Workspace.name, Workspace.active)
    )
    assert [tuple(w) for w in workspace] == [("T0001", "Acme", True)]

    set_up_team(emu, ["U0REP1", "U0REP2"])
    assert "U0REP1" in trust_in(emu, "team list")
    assert "Sending this week's check-in to the 2 reps" in trust_in(emu, "checkin sales now")
    wait_for(lambda: len(emu.dm_messages("U0REP1")) == 1 and len(emu.dm_messages("U0REP2")) == 1)
    posts = [c for c in emu.calls_to("chat.postMessage") if c.ok]
    assert posts and {c.token for c in posts} == {token}
    app_calls = [c for c in emu.calls if c.method not in ("oauth.v2.access",)]
    assert {c.token for c in app_calls if c.token} <= {token, APP_TOKEN}


def test_a_bad_or_expired_state_gets_a_clear_error_page(oauth_stack: OAuthStack) -> None:
    emu = oauth_stack.emulator
    with httpx.Client(timeout=10) as browser:
        authorize, cookie = start_install(oauth_stack, browser)
        back = browser.get(authorize).headers["location"]
        tampered = re.sub(r"state=[^&]+", "state=not-a-state-we-issued", back)
        refused = browser.get(tampered, headers=cookie)
        assert refused.status_code == 400  # the cookie does not match the state
        assert "Trustbot was not installed" in refused.text
        assert "another browser" in refused.text and "/slack/install" in refused.text
        assert browser.get(back).status_code == 400  # no cookie at all

        # the right browser, but the state expired meanwhile
        db_rows_update(oauth_stack, datetime(2000, 1, 1))
        expired = browser.get(back, headers=cookie)
        assert expired.status_code == 401
        assert "expired or has been used already" in expired.text
    assert emu.calls_to("oauth.v2.access") == []  # no code was exchanged
    assert sql_rows(oauth_stack.database_url, select(slack_bots.c.id)) == []

    denied = oauth_stack.emulator
    denied.configure_oauth(
        CLIENT_ID, CLIENT_SECRET, [f"{oauth_stack.url}/slack/oauth_redirect"], deny=True
    )
    answer = install(oauth_stack)
    assert answer.status_code == 200
    assert "cancelled in Slack" in answer.text


def db_rows_update(stack: OAuthStack, expire_at: datetime) -> None:
    engine = create_engine(sync_url(stack.database_url))
    try:
        with engine.begin() as conn:
            conn.execute(
                update(slack_oauth_states).values(expire_at=expire_at.replace(tzinfo=None))
            )
    finally:
        engine.dispose()


def test_a_command_from_a_workspace_not_installed_is_refused(oauth_stack: OAuthStack) -> None:
    answer = trust_in(oauth_stack.beta, "help")  # Bolt's answer: no installation for T0002
    assert "reinstall this app" in answer
    assert oauth_stack.beta.calls_to("chat.postMessage") == []


# -- two workspaces ---------------------------------------------------------------


def test_two_workspaces_see_only_their_own_data(oauth_stack: OAuthStack) -> None:
    acme, beta = oauth_stack.emulator, oauth_stack.beta
    assert install(oauth_stack).status_code == 200
    assert install(oauth_stack, "T0002").status_code == 200
    acme_token, beta_token = token_of(oauth_stack, "T0001"), token_of(oauth_stack, "T0002")
    assert acme_token != beta_token and beta_token in beta.bot_tokens

    # the same team name and the same user IDs in both workspaces
    set_up_team(acme, ["U0REP1"])
    set_up_team(beta, ["U0REP2"])
    trust_in(beta, "team manager sales <@U0REP1>")
    acme_list, beta_list = trust_in(acme, "team list"), trust_in(beta, "team list")
    assert "U0REP1" in acme_list and "U0REP2" not in acme_list
    assert "U0REP2" in beta_list and "manager" in beta_list.lower()
    trust_in(beta, "pause sales")
    assert "paused" not in trust_in(acme, "status").lower()
    assert "paused" in trust_in(beta, "status").lower()
    trust_in(beta, "resume sales")

    trust_in(acme, "checkin sales now")
    trust_in(beta, "checkin sales now")
    wait_for(
        lambda: (
            len(acme.dm_messages("U0REP1")) == 1
            and len(beta.dm_messages("U0REP2")) == 1
            and len(beta.dm_messages("U0REP1")) == 1
        )  # beta's manager: their own check-in
    )
    time.sleep(0.3)
    assert acme.dm_messages("U0REP2") == []
    (own,) = beta.dm_messages("U0REP1")
    assert "Your check-in as a manager" in str(own) and "Weekly trust check-in" not in str(own)
    sent = [c for c in acme.calls_to("chat.postMessage") if c.ok]
    assert {(c.args["channel"], c.token) for c in sent} == {
        ("U0REP1", acme_token),
        ("U0REP2", beta_token),
        ("U0REP1", beta_token),
    }
    acme_status, beta_status = trust_in(acme, "status"), trust_in(beta, "status")
    assert "*Deliveries*: 1 sent" in acme_status and "*Deliveries*: 2 sent" in beta_status

    # a digest preview counts only its own workspace's team
    for emu in (acme, beta):
        preview = trust_in(emu, "digest sales preview")
        assert "sales" in preview.lower()
    rows = sql_rows(oauth_stack.database_url, select(Team.workspace_id, Team.name, Team.channel_id))
    assert sorted(tuple(r) for r in rows) == [
        ("T0001", "sales", "C0SALES"),
        ("T0002", "sales", "C0SALES"),
    ]


# -- uninstalls ---------------------------------------------------------------------


def _runtime(stack: OAuthStack, clock: ManualClock) -> Runtime:
    settings = load_settings(**oauth_settings(stack.emulator, stack.database_url))
    return Runtime(settings=settings, db=Database(stack.database_url), clock=clock)


def _plan(stack: OAuthStack, clock: ManualClock) -> list[str]:
    """Plan due rounds directly (the scheduler's tick); the planned teams' workspaces."""

    async def run() -> list[str]:
        rt = _runtime(stack, clock)
        try:
            plans = await checkins.plan_due(rt, default_bank())
            return sorted(p.round.workspace_id for p in plans)
        finally:
            await rt.db.dispose()

    return asyncio.run(run())


def _next_friday(hour: int) -> datetime:
    now = datetime.now(UTC)
    days = (4 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("how", ["app_uninstalled", "tokens_revoked"])
def test_uninstall_removes_tokens_and_stops_schedules_and_deliveries(
    oauth_stack: OAuthStack, how: str
) -> None:
    acme, beta = oauth_stack.emulator, oauth_stack.beta
    install(oauth_stack)
    install(oauth_stack, "T0002")
    for emu in (acme, beta):
        set_up_team(emu, ["U0REP1", "U0REP2"])
        trust_in(emu, "schedule sales fri 16:00")
    # the rounds are planned a day ahead: their DMs wait in the outbox
    clock = ManualClock(_next_friday(0))
    assert _plan(oauth_stack, clock) == ["T0001", "T0002"]
    pending = select(Delivery.workspace_id, Delivery.status, Delivery.last_error)
    assert {tuple(r) for r in sql_rows(oauth_stack.database_url, pending)} == {
        ("T0001", "pending", None),
        ("T0002", "pending", None),
    }

    if how == "app_uninstalled":
        assert beta.uninstall().status == 200
    else:
        beta.revoke_tokens()
        event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [beta.state.bot_user_id]}}
        assert beta.send_event(event).status == 200

    def uninstalled() -> bool:
        rows = sql_rows(
            oauth_stack.database_url, select(Workspace.active).where(Workspace.id == "T0002")
        )
        return rows == [(False,)]

    wait_for(uninstalled)
    assert sql_rows(oauth_stack.database_url, select(slack_bots.c.team_id)) == [("T0001",)]
    rows = {tuple(r) for r in sql_rows(oauth_stack.database_url, pending)}
    assert rows == {("T0001", "pending", None), ("T0002", "skipped", workspaces.UNINSTALLED)}

    # next week: only the workspace still installed is planned
    clock.set(_next_friday(0) + timedelta(days=7))
    assert _plan(oauth_stack, clock) == ["T0001"]

    # a DM planned for the uninstalled workspace anyway is skipped, not retried
    engine = create_engine(sync_url(oauth_stack.database_url))
    with engine.begin() as conn:
        conn.execute(
            update(Delivery)
            .where(col(Delivery.workspace_id) == "T0002")
            .values(status="pending", last_error=None, next_attempt_at=datetime.now(UTC))
        )
    engine.dispose()
    wait_for(
        lambda: (
            {tuple(r) for r in sql_rows(oauth_stack.database_url, pending) if r[0] == "T0002"}
            == {("T0002", "skipped", NOT_INSTALLED)}
        ),
        timeout=20,
    )
    assert all(c.token != beta.bot_token for c in acme.calls_to("chat.postMessage"))
    assert [c for c in acme.calls_to("chat.postMessage") if c.error == "token_revoked"] == []

    # installing again brings the workspace back
    assert install(oauth_stack, "T0002").status_code == 200
    wait_for(lambda: not uninstalled())
    assert "sales" in trust_in(beta, "team list")


# -- settings -----------------------------------------------------------------------


def test_client_id_without_secret_stops_start_up_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no .env
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("TRUSTBOT_PSEUDONYM_KEY", PSEUDONYM_KEY)
    monkeypatch.setenv("TRUSTBOT_WEBHOOK_SECRET", WEBHOOK_SECRET)
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("trustbot: SLACK_CLIENT_SECRET is not set")
    assert "SLACK_CLIENT_ID" in err and "\n" not in err
