"""The product against the emulator's stricter Slack (issue #16): Enterprise Grid, the
non-Marketplace conversations.history limits, and the error codes Slack really returns.

Tests marked ``xfail(strict=True)`` record what today's product does not yet handle; each
reason says what goes wrong. When the product is fixed the test passes, strict xfail turns
that into a failure, and the marker comes off."""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import update
from sqlmodel import col, select

from bot.core import outbox
from bot.core.outbox import SEARCH_MARGIN
from bot.core.prompts import GOAL_PROMPT_ID
from bot.runtime.clock import ManualClock, SystemClock
from bot.slack.history import HistoryPacer
from bot.slack.sender import EVENT_TYPE
from bot.storage import Database
from bot.storage.models import CheckinRound, Delivery, Team, Workspace
from bot.storage.slack_tables import slack_bots
from slack_emulator import SlackEmulator
from tests.support.checkin_dm import SCALE, click, current, primary, send_checkin
from tests.support.db import in_session, sql_rows
from tests.support.oauth import OAuthStack, install, set_up_team
from tests.support.outbox import (
    BOT_TOKEN,
    WS,
    add_users,
    all_rows,
    outbox_emulator,
    outbox_runtime,
    posts,
    run_until_done,
    seed,
    worker_for,
)
from tests.support.stack import Stack, trust, trust_in
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

# -- Enterprise Grid ---------------------------------------------------------------------


def test_a_grid_workspace_with_one_bot_token(stack: Stack) -> None:
    """A workspace inside a Grid org (payloads carry the org, as in slackapi's fixtures):
    commands and check-in DMs work as outside Grid."""
    emu = stack.emulator
    emu.join_enterprise("E0123", "Acme Org")
    assert "Team `sales` created" in trust(stack, "team create sales <#C0SALES>")
    trust(stack, "team add sales <@U0REP1>")
    assert "Sending this week's check-in" in trust(stack, "checkin sales now")
    wait_for(lambda: emu.dm_messages("U0REP1"))


@pytest.mark.parametrize("org_install", [False, True], ids=["workspace", "org-wide"])
def test_check_in_clicks_on_grid(http_stack: Stack, org_install: bool) -> None:
    """block_actions on Grid carry ``enterprise`` and ``team`` with the org, and ``team: null``
    for an org-wide install (bolt-python request/internals.py): a click is still recorded."""
    http_stack.emulator.join_enterprise("E0123", "Acme Org", org_install=org_install)
    sent = send_checkin(http_stack)
    click(http_stack, f"checkin.answer:{SCALE}:4")
    assert wait_for(lambda: primary(current(http_stack, sent), SCALE)) == ["4"]


def test_an_org_wide_install_with_one_bot_token(http_stack: Stack) -> None:
    """Installed org-wide (``is_enterprise_install`` true, interactivity ``team`` null)."""
    http_stack.emulator.join_enterprise("E0123", "Acme Org", org_install=True)
    assert "Team `sales` created" in trust(http_stack, "team create sales <#C0SALES>")
    assert "sales" in trust(http_stack, "team list")


def test_oauth_install_in_a_grid_workspace(oauth_stack: OAuthStack) -> None:
    """oauth.v2.access names the org (``enterprise: {id, name}``); Bolt stores the install
    under (enterprise_id, team_id) and finds it again from the payloads' org."""
    emu = oauth_stack.emulator
    emu.join_enterprise("E0123", "Acme Org")
    assert install(oauth_stack).status_code == 200
    set_up_team(emu, ["U0REP1"])
    assert "U0REP1" in trust_in(emu, "team list")


def test_oauth_org_wide_install(oauth_stack: OAuthStack) -> None:
    """oauth.v2.access for an org-wide install: ``team: null``, ``is_enterprise_install: true``
    (api.slack.com/enterprise/apps/reference); every workspace of the org may then use it."""
    emu = oauth_stack.emulator
    emu.join_enterprise("E0123", "Acme Org", org_install=True)
    assert install(oauth_stack).status_code == 200
    set_up_team(emu, ["U0REP1"])
    assert "U0REP1" in trust_in(emu, "team list")


def test_an_org_wide_install_sends_its_dms(oauth_stack: OAuthStack) -> None:
    """Installed org-wide, the stored install names the org and no workspace: the outbox,
    which works for a workspace, finds the org's token for it (the org comes from the
    workspace's own requests: ``enterprise_id`` in every Grid payload)."""
    emu = oauth_stack.emulator
    emu.join_enterprise("E0123", "Acme Org", org_install=True)
    assert install(oauth_stack).status_code == 200
    set_up_team(emu, ["U0REP1"])
    assert "Sending this week's check-in" in trust_in(emu, "checkin sales now")
    assert wait_for(lambda: emu.dm_messages("U0REP1"))


def test_an_org_wide_uninstall_forgets_the_org_token(oauth_stack: OAuthStack) -> None:
    """app_uninstalled for an org-wide install (``is_enterprise_install`` in its
    authorizations): the token stored under the org alone goes, and the workspace stops."""
    emu = oauth_stack.emulator
    emu.join_enterprise("E0123", "Acme Org", org_install=True)
    assert install(oauth_stack).status_code == 200
    set_up_team(emu, ["U0REP1"])
    assert sql_rows(oauth_stack.database_url, select(slack_bots.c.enterprise_id)) == [("E0123",)]
    assert emu.uninstall().status == 200
    assert wait_for(lambda: not sql_rows(oauth_stack.database_url, select(slack_bots.c.id)))
    workspace = select(Workspace.active, Workspace.enterprise_id).where(Workspace.id == "T0001")
    assert wait_for(lambda: sql_rows(oauth_stack.database_url, workspace) == [(False, "E0123")])


def test_an_install_from_before_the_workspace_joined_grid(oauth_stack: OAuthStack) -> None:
    """A workspace installed outside Grid, later moved into an org: its requests now carry
    the org, its stored install does not; slack_sdk's lookup by (org, workspace) finds
    nothing and Bolt would answer "please reinstall"."""
    emu = oauth_stack.emulator
    assert install(oauth_stack).status_code == 200
    emu.join_enterprise("E0123", "Acme Org")
    set_up_team(emu, ["U0REP1"])
    assert "U0REP1" in trust_in(emu, "team list")
    assert "Sending this week's check-in" in trust_in(emu, "checkin sales now")
    assert wait_for(lambda: emu.dm_messages("U0REP1"))


@pytest.mark.parametrize("role", ["is_org_admin", "is_org_owner"])
def test_org_admins_are_admins(http_stack: Stack, role: str) -> None:
    """users.info's ``enterprise_user.is_admin`` / ``is_owner`` (slackapi/java-slack-sdk
    json-logs/samples/api/users.info.json): the org's admins, not the workspace's."""
    emu = http_stack.emulator
    emu.join_enterprise("E0123", "Acme Org")
    emu.add_user("U0ORGADM", name="orga", **{role: True})
    emu.add_user("U0PLAIN", name="plain")
    assert "admin" in trust(http_stack, "team list", user="U0PLAIN").lower()
    assert "Team `sales` created" in trust(http_stack, "team create sales <#C0SALES>", "U0ORGADM")


# -- error codes Slack returns for a DM ----------------------------------------------------


async def test_dms_slack_refuses_for_good_fail_at_once(sqlite_url: str) -> None:
    """conversations.open's codes for a user the app may not message (slack-api-ref
    docs.slack.dev/methods/conversations.open.json) cannot be fixed by retrying."""
    with outbox_emulator() as emu:
        users = add_users(emu, 3)
        for user, code in zip(
            users,
            ("user_not_visible", "invalid_user_combination", "restricted_action"),
            strict=True,
        ):
            emu.set_user_error(user, code)
        runtime = outbox_runtime(sqlite_url, emu)
        await seed(runtime.db, SystemClock(), users)
        await run_until_done([worker_for(runtime, "w")], runtime.db, timeout=20)
        rows = {r.user_id: (r.status, r.last_error, r.attempts) for r in await all_rows(runtime.db)}
        await runtime.db.dispose()
        assert rows == {
            users[0]: ("failed", "user_not_visible", 1),
            users[1]: ("failed", "invalid_user_combination", 1),
            users[2]: ("failed", "restricted_action", 1),
        }
        assert len(posts(emu)) == 3


# -- conversations.history outside the Marketplace -----------------------------------------


def _landed(emu: SlackEmulator, user: str, delivery_id: int | None = None) -> None:
    """A message in the user's DM, as the app posts it: one of a delivery, or an older one."""
    metadata = (
        {"event_type": EVENT_TYPE, "event_payload": {"delivery_id": delivery_id}}
        if delivery_id is not None
        else None
    )
    WebClient(token=BOT_TOKEN, base_url=emu.api_url).chat_postMessage(
        channel=user, text=f"delivery {delivery_id}", metadata=metadata
    )


async def _in_doubt(db: Database, ids: list[int], since: datetime) -> None:
    """Rows whose one attempt, begun at ``since``, may have posted (a dropped connection)."""
    async with db.session() as s:
        await s.exec(
            update(Delivery)
            .where(col(Delivery.id).in_(ids))
            .values(
                attempts=1,
                last_error=outbox.unconfirmed("ServerDisconnectedError"),
                unsure_since=since,
                next_attempt_at=datetime.now(UTC),
            )
        )


def _delivery_posts(emu: SlackEmulator, user: str) -> list[dict[str, object]]:
    return [m for m in emu.dm_messages(user) if (m.get("metadata") or {}).get("event_type")]


async def test_recovery_reads_only_since_the_attempt_began_one_call_a_minute(
    sqlite_url: str,
) -> None:
    """Outside the Marketplace Slack serves conversations.history once a minute, 15 messages
    a page (docs.slack.dev/reference/methods/conversations.history). Two rows in doubt, each
    rep with 20 older messages in the DM: the first lookup reads one page from when the
    attempt began (``oldest``) and finds the post that landed; the second row waits for the
    next minute (no 429, no attempt counted, not failed), then is looked up and posted once."""
    with outbox_emulator() as emu:
        emu.set_non_marketplace_history()
        users = add_users(emu, 2)
        for user in users:
            for _ in range(20):
                _landed(emu, user)
        runtime = outbox_runtime(sqlite_url, emu, history_per_minute=1)
        db = runtime.db
        first, second = await seed(db, ManualClock(SystemClock().now() - timedelta(hours=1)), users)
        time.sleep(SEARCH_MARGIN.total_seconds() + 0.5)  # older than the lookup's margin
        began = datetime.now(UTC)
        _landed(emu, users[0], first)  # the first row's post reached Slack; its answer did not
        await _in_doubt(db, [first, second], began)
        pacer = HistoryPacer(1, monotonic=emu.clock.now)
        worker = worker_for(runtime, "w", history=pacer)
        with contextlib.suppress(AssertionError):  # the second row waits for its minute
            await run_until_done([worker], db, timeout=3)
        (call,) = emu.calls_to("conversations.history")
        assert call.status == 200 and int(call.args["limit"]) <= 15
        assert float(call.args["oldest"]) >= began.timestamp() - 5
        rows = {r.id: r for r in await all_rows(db)}
        assert (rows[first].status, rows[first].message_ts) == (
            "sent",
            _delivery_posts(emu, users[0])[0]["ts"],
        )
        assert (rows[second].status, rows[second].attempts) == ("pending", 1)
        assert outbox.is_unconfirmed(rows[second])
        assert not _delivery_posts(emu, users[1])

        emu.clock.advance(61)  # a minute later
        async with db.session() as s:
            await s.exec(
                update(Delivery)
                .where(col(Delivery.id) == second)
                .values(next_attempt_at=datetime.now(UTC))
            )
        await run_until_done([worker], db, timeout=10)
        assert [c.status for c in emu.calls_to("conversations.history")] == [200, 200]
        assert {r.status for r in await all_rows(db)} == {"sent"}
        for user in users:
            assert len(_delivery_posts(emu, user)) == 1
        await db.dispose()


async def test_a_history_429_pauses_the_lookups_and_fails_nothing(sqlite_url: str) -> None:
    """Another process used the workspace's minute: Slack answers 429 with Retry-After; the
    row waits that long (its doubt and attempts kept), nothing is posted meanwhile, and the
    lookup after it settles the row."""
    with outbox_emulator() as emu:
        emu.set_non_marketplace_history()
        (user,) = add_users(emu, 1)
        runtime = outbox_runtime(sqlite_url, emu)  # this process's pace: Tier 3
        db = runtime.db
        (row_id,) = await seed(db, SystemClock(), [user])
        await _in_doubt(db, [row_id], datetime.now(UTC))
        slack = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
        slack.conversations_history(channel=slack.conversations_open(users=user)["channel"]["id"])
        pacer = HistoryPacer(50, monotonic=emu.clock.now)
        worker = worker_for(runtime, "w", history=pacer)
        with contextlib.suppress(AssertionError):
            await run_until_done([worker], db, timeout=2)
        assert [c.status for c in emu.calls_to("conversations.history")] == [200, 429]
        assert pacer.wait(WS) > 50  # Slack's Retry-After, not the pace
        (row,) = await all_rows(db)
        assert (row.status, row.attempts) == ("pending", 1) and outbox.is_unconfirmed(row)
        assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50)
        assert not _delivery_posts(emu, user)

        emu.clock.advance(61)
        async with db.session() as s:
            await s.exec(update(Delivery).values(next_attempt_at=datetime.now(UTC)))
        await run_until_done([worker], db, timeout=10)
        (row,) = await all_rows(db)
        assert row.status == "sent" and len(_delivery_posts(emu, user)) == 1
        await db.dispose()


# -- slash-command text as Slack sends it ----------------------------------------------------


def test_a_team_name_with_an_ampersand(http_stack: Stack) -> None:
    """Slack sends ``&`` as ``&amp;`` in slash-command text (its formatting reference); the
    team is the one the admin typed."""
    trust(http_stack, "team create R&D <#C0SALES>")
    names = [row[0] for row in sql_rows(http_stack.database_url, select(Team.name))]  # type: ignore[arg-type]
    assert names == ["R&D"]


# -- channels the digest cannot reach --------------------------------------------------------


def finished_week(stack: Stack, team: str = "sales") -> None:
    """A round of last week for ``team`` (made with /trust), so ``/trust digest <team> now``
    has a finished week to post rather than a first-run explanation."""
    [(team_id, workspace_id)] = sql_rows(
        stack.database_url,
        select(col(Team.id), col(Team.workspace_id)).where(col(Team.name) == team),
    )
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday() + 7)
    row = {
        "workspace_id": workspace_id,
        "team_id": team_id,
        "period_start": monday,
        "period_end": monday + timedelta(days=6),
        "prompt_ids": [GOAL_PROMPT_ID],
        "reps": ["U0REP1"],
        "managers": [],
        "status": "fanned_out",
        "created_at": datetime.now(UTC) - timedelta(days=7),
    }

    async def add(session: Any) -> None:
        session.add(CheckinRound(**row))
        await session.commit()

    in_session(stack.database_url, add)


def test_an_archived_digest_channel_is_named_as_such(http_stack: Stack) -> None:
    """is_archived: "Channel has been archived." (chat.postMessage.json): the admin must pick
    another channel (or unarchive it); inviting the app does not help."""
    trust(http_stack, "team create sales <#C0SALES>")
    finished_week(http_stack)
    http_stack.emulator.archive_channel("C0SALES")
    answer = trust(http_stack, "digest sales now")
    assert "archived" in answer and "/invite" not in answer and "/trust setup" in answer


def test_trust_status_shows_a_digest_its_channel_refused(http_stack: Stack) -> None:
    """The week the schedule could not post: in /trust status with Slack's error and what to
    do (the bot was removed from the public channel: ``not_in_channel``)."""
    trust(http_stack, "team create sales <#C0SALES>")
    finished_week(http_stack)
    http_stack.emulator.remove_bot_from_channel("C0SALES")
    assert "not a member" in trust(http_stack, "digest sales now")
    status = trust(http_stack, "status")
    assert "Digests Slack would not take" in status and "not_in_channel" in status
    assert "/invite @trustbot" in status
