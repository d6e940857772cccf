"""Workspaces installed and uninstalled; each workspace's token for background work."""

from __future__ import annotations

from datetime import timedelta

import yaml
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlmodel import col, select

from bot.core import workspaces
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.runtime.settings import load_settings
from bot.slack import installations
from bot.slack.client import WorkspaceClients, client_for, make_client
from bot.storage import Database
from bot.storage.models import Delivery, Workspace
from tests.support.oauth import TOKEN_KEY as KEY
from tests.support.slack_app import MANIFEST

WS = "T0WS"


async def _delivery(db: Database, clock: ManualClock, workspace: str, status: str) -> None:
    async with db.session() as session:
        session.add(
            Delivery(
                workspace_id=workspace,
                kind="nudge",
                user_id=f"U{status.upper()}",
                status=status,
                next_attempt_at=clock.now(),
                created_at=clock.now(),
            )
        )


async def test_uninstall_marks_the_workspace_and_skips_its_pending_deliveries(
    db: Database, clock: ManualClock
) -> None:
    for workspace in (WS, "T0OTHER"):
        await workspaces.ensure_workspace(db, workspace, clock)
        for status in ("pending", "sent"):
            await _delivery(db, clock, workspace, status)
    assert await workspaces.is_installed(db, WS)

    assert await workspaces.mark_uninstalled(db, WS, clock) == 1
    assert await workspaces.mark_uninstalled(db, WS, clock) == 0  # idempotent
    assert not await workspaces.is_installed(db, WS)
    assert await workspaces.is_installed(db, "T0OTHER")
    assert await workspaces.uninstalled_ids(db) == {WS}
    async with db.session() as session:
        rows = (
            await session.exec(
                select(Delivery.workspace_id, Delivery.status, Delivery.last_error).order_by(
                    col(Delivery.id)
                )
            )
        ).all()
        workspace = await session.get(Workspace, WS)
    assert [tuple(r) for r in rows] == [
        (WS, "skipped", workspaces.UNINSTALLED),
        (WS, "sent", None),
        ("T0OTHER", "pending", None),
        ("T0OTHER", "sent", None),
    ]
    assert workspace is not None and workspace.uninstalled_at == clock.now()


async def test_installing_again_clears_the_mark(db: Database, clock: ManualClock) -> None:
    assert await workspaces.mark_installed(db, WS, clock, "Acme") is False  # a new row
    await workspaces.mark_uninstalled(db, WS, clock)
    clock.advance(timedelta(days=1))
    assert await workspaces.mark_installed(db, WS, clock, "Acme Inc") is True
    assert await workspaces.mark_installed(db, WS, clock) is False
    async with db.session() as session:
        workspace = await session.get(Workspace, WS)
    assert workspace is not None
    assert (workspace.active, workspace.uninstalled_at, workspace.name) == (True, None, "Acme Inc")
    assert workspace.installed_at == clock.now()


async def test_an_unknown_workspace_counts_as_installed(db: Database) -> None:
    assert await workspaces.is_installed(db, "T0NEW")


def _runtime(db: Database, clock: ManualClock, **settings: str) -> Runtime:
    return Runtime(settings=load_settings(**settings), db=db, clock=clock)


async def test_single_token_clients_use_the_settings_token_until_uninstalled(
    db: Database, clock: ManualClock
) -> None:
    rt = _runtime(db, clock, SLACK_BOT_TOKEN="xoxb-single")
    now = [0.0]
    clients = WorkspaceClients(rt, ttl=10, monotonic=lambda: now[0])
    assert await clients.token(WS) == "xoxb-single"
    client = await clients.client(WS)
    assert client is not None and client.token == "xoxb-single"
    assert await clients.client(WS) is client  # one client per token
    await workspaces.mark_uninstalled(db, WS, clock)
    assert await clients.token(WS) == "xoxb-single"  # remembered for ttl seconds
    now[0] = 11.0
    assert await clients.token(WS) is None
    assert await client_for(clients, WS) is None
    await workspaces.mark_installed(db, WS, clock)
    clients.forget(WS)
    assert await clients.token(WS) == "xoxb-single"
    single = make_client(rt.settings)
    assert await client_for(single, WS) is single  # one client for every workspace


async def test_oauth_clients_use_each_workspace_installation(
    db: Database, clock: ManualClock
) -> None:
    rt = _runtime(
        db, clock, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="secret", TRUSTBOT_TOKEN_KEY=KEY
    )
    store = installations.InstallationStore(rt)
    clients = WorkspaceClients(rt, store.bot_token, ttl=0)
    assert await clients.token("T0A") is None  # not installed yet
    for team, token in (("T0A", "xoxb-a-1"), ("T0B", "xoxb-b"), ("T0A", "xoxb-a-2")):
        await store.async_save(
            Installation(
                app_id="A1",
                enterprise_id="E1" if team == "T0B" else None,  # an Enterprise Grid workspace
                team_id=team,
                team_name=f"Team {team}",
                bot_token=token,
                bot_id="B1",
                bot_user_id="U0BOT",
                bot_scopes=list(installations.BOT_SCOPES),
                user_id="U0ADMIN",
                installed_at=clock.advance(1).timestamp(),
            )
        )
    assert await clients.token("T0A") == "xoxb-a-2"  # the latest install
    assert await clients.token("T0B") == "xoxb-b"
    async with db.session() as session:
        names = (await session.exec(select(Workspace.id, Workspace.name))).all()
    assert sorted(tuple(n) for n in names) == [("T0A", "Team T0A"), ("T0B", "Team T0B")]

    # tokens_revoked for a user only: the bot keeps working
    assert await installations.revoke(rt, store, "T0A", users=["U0ADMIN"], bot=False) == 0
    assert await clients.token("T0A") == "xoxb-a-2"
    # app_uninstalled: every token goes, and the workspace is marked
    await installations.revoke(rt, store, "T0A")
    assert await store.bot_token("T0A") is None
    assert await clients.token("T0A") is None
    assert not await workspaces.is_installed(db, "T0A")
    assert await clients.token("T0B") == "xoxb-b"


def test_the_bot_scopes_are_the_manifests() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert list(installations.BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]
    assert (
        "https://trustbot.example.com/slack/oauth_redirect"
        in (manifest["oauth_config"]["redirect_urls"])
    )
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)


def test_the_authorize_page_is_on_the_web_api_host() -> None:
    assert (
        installations.authorization_url("https://slack.com/api/")
        == "https://slack.com/oauth/v2/authorize"
    )
    assert (
        installations.authorization_url("http://127.0.0.1:9000/api/")
        == "http://127.0.0.1:9000/oauth/v2/authorize"
    )


async def test_webhooks_go_to_the_only_installed_workspace(
    db: Database, clock: ManualClock
) -> None:
    assert await workspaces.only_installed(db) is None
    await workspaces.mark_installed(db, "T0A", clock)
    assert await workspaces.only_installed(db) == "T0A"
    await workspaces.mark_installed(db, "T0B", clock)
    assert await workspaces.only_installed(db) is None  # which one? refused
    await workspaces.mark_uninstalled(db, "T0A", clock)
    assert await workspaces.only_installed(db) == "T0B"
