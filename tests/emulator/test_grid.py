"""Enterprise Grid: what Slack adds to every payload, to oauth.v2.access, auth.test and
users.info when the workspace is part of an org, and when the app is installed org-wide."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from slack_bolt.request.internals import (
    extract_enterprise_id,
    extract_is_enterprise_install,
    extract_team_id,
    extract_user_id,
)
from slack_sdk import WebClient

from slack_emulator import SlackEmulator
from tests.emulator.conftest import APP_TOKEN, BOT_TOKEN, SECRET, Receiver

# A real slash command request, as slackapi/bolt-js keeps it in src/receivers/
# GCPFunctionReceiver.spec.ts ("should accept slash commands"): the field order to copy.
BOLT_JS_COMMAND = (
    "token=fixed-value&team_id=T111&team_domain=domain-value&channel_id=C111&channel_name=random"
    "&user_id=W111&user_name=primary-owner&command=%2Fhello-bolt-js&text=&api_app_id=A111"
    "&is_enterprise_install=false&enterprise_id=E111&enterprise_name=Sandbox+Org"
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT111%2F111%2Fxxx"
    "&trigger_id=111.222.xxx"
)
# The same spec's event ("should accept events"): the envelope's keys.
BOLT_JS_EVENT_KEYS = [
    "token",
    "team_id",
    "enterprise_id",
    "api_app_id",
    "event",
    "type",
    "event_id",
    "event_time",
    "authorizations",
    "is_ext_shared_channel",
    "event_context",
]
BUTTON = [
    {
        "type": "actions",
        "block_id": "b",
        "elements": [
            {
                "type": "button",
                "action_id": "go",
                "text": {"type": "plain_text", "text": "Go"},
                "value": "1",
            }
        ],
    }
]
MODAL = {
    "type": "modal",
    "callback_id": "setup",
    "title": {"type": "plain_text", "text": "Setup"},
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
}


def _grid(**options: Any) -> Iterator[SlackEmulator]:
    with SlackEmulator(
        signing_secret=SECRET,
        bot_token=BOT_TOKEN,
        app_token=APP_TOKEN,
        enterprise_id="E0123",
        enterprise_name="Acme Org",
        **options,
    ) as emu:
        emu.add_user("W1", name="ana", is_admin=True, is_org_admin=True)
        emu.add_user("W2", name="ben", is_org_owner=True)
        emu.add_channel("C1", name="sales")
        yield emu


@pytest.fixture
def grid() -> Iterator[SlackEmulator]:
    yield from _grid()


@pytest.fixture
def org() -> Iterator[SlackEmulator]:
    yield from _grid(org_install=True)


async def _all_four(emu: SlackEmulator, receiver: Receiver) -> list[dict[str, Any]]:
    """A slash command, a click, a view submission and an event, as the app received them."""
    emu.connect_http(receiver.url)
    client = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    client.chat_postMessage(channel="W1", text="q", blocks=BUTTON)
    await emu.asend_command("/trust", "help", user_id="W1", channel_id="C1")
    await emu.asend_click("W1", "go")
    await emu.asend_view_submission("W1", MODAL, {})
    await emu.asend_event({"type": "app_home_opened", "user": "W1", "tab": "home"})
    return [r["payload"] for r in receiver.requests]


async def test_slash_command_fields_on_grid(grid: SlackEmulator, receiver: Receiver) -> None:
    """Fields and their order as in bolt-js's fixture of a real Grid request
    (GCPFunctionReceiver.spec.ts); ``is_enterprise_install`` is the string "false"."""
    grid.connect_http(receiver.url)
    delivery = await grid.asend_command("/trust", "help", user_id="W1", channel_id="C1")
    assert list(delivery.payload) == [k for k, _ in parse_qsl(BOLT_JS_COMMAND, True)]
    form = receiver.requests[0]["payload"]
    assert form["enterprise_id"] == "E0123" and form["enterprise_name"] == "Acme Org"
    assert form["is_enterprise_install"] == "false" and form["team_id"] == "T0001"


async def test_payloads_outside_grid_are_unchanged(emu: SlackEmulator, receiver: Receiver) -> None:
    """No Grid, no enterprise fields: ``enterprise`` null and ``is_enterprise_install`` false
    in interactivity payloads, none in commands ("enterprise_id and enterprise_name are absent
    outside Grid", bolt-js ``SlashCommand`` marks them optional)."""
    emu.connect_http(receiver.url)
    WebClient(token=BOT_TOKEN, base_url=emu.api_url).chat_postMessage(
        channel="U1", text="q", blocks=BUTTON
    )
    command = await emu.asend_command("/trust", "help", user_id="U1", channel_id="C1")
    click = await emu.asend_click("U1", "go")
    event = await emu.asend_event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    assert "enterprise_id" not in command.payload
    assert command.payload["is_enterprise_install"] == "false"
    assert click.payload["enterprise"] is None and click.payload["is_enterprise_install"] is False
    assert click.payload["team"] == {"id": "T0001", "domain": "acme"}
    assert "enterprise_id" not in event.payload and "context_team_id" not in event.payload
    assert event.payload["authorizations"][0]["enterprise_id"] is None


async def test_interactivity_on_grid(grid: SlackEmulator, receiver: Receiver) -> None:
    """block_actions and view_submission carry ``enterprise: {id, name}``,
    ``is_enterprise_install`` and ``team: {id, domain, enterprise_id, enterprise_name}``
    (java-slack-sdk json-logs/samples/app-backend/interactive-components/
    BlockActionPayload.json, .../views/ViewSubmissionPayload.json; the bolt-js spec's
    shortcut)."""
    _, click, submission, _ = await _all_four(grid, receiver)
    for payload in (click, submission):
        assert payload["enterprise"] == {"id": "E0123", "name": "Acme Org"}
        assert payload["is_enterprise_install"] is False
        assert payload["team"] == {
            "id": "T0001",
            "domain": "acme",
            "enterprise_id": "E0123",
            "enterprise_name": "Acme Org",
        }
        assert payload["user"]["team_id"] == "T0001"


async def test_events_on_grid(grid: SlackEmulator, receiver: Receiver) -> None:
    """The envelope has the keys of bolt-js's fixture of a Grid event, ``authorizations``
    naming the org, and ``context_team_id`` / ``context_enterprise_id`` for the installation
    (slackapi/bolt-python tests/slack_bolt/request/test_internals.py)."""
    *_, event = await _all_four(grid, receiver)
    assert [k for k in event if k in BOLT_JS_EVENT_KEYS] == BOLT_JS_EVENT_KEYS
    assert event["enterprise_id"] == "E0123" and event["team_id"] == "T0001"
    assert event["authorizations"] == [
        {
            "enterprise_id": "E0123",
            "team_id": "T0001",
            "user_id": grid.state.bot_user_id,
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    assert event["context_team_id"] == "T0001" and event["context_enterprise_id"] == "E0123"
    assert event["is_ext_shared_channel"] is False


async def test_bolt_reads_the_org_from_every_payload(
    grid: SlackEmulator, org: SlackEmulator, receiver: Receiver
) -> None:
    """slack_bolt's own extractors (slack_bolt/request/internals.py) find the org, the
    workspace, the user and the install kind in what the emulator sends."""
    for emu, org_wide in ((grid, False), (org, True)):
        receiver.requests.clear()
        for payload in await _all_four(emu, receiver):
            assert extract_enterprise_id(payload) == "E0123", payload
            assert extract_team_id(payload) == "T0001", payload
            assert extract_is_enterprise_install(payload) is org_wide, payload
            assert extract_user_id(payload) in ("W1", None)


async def test_org_wide_install(org: SlackEmulator, receiver: Receiver) -> None:
    """Installed org-wide: ``is_enterprise_install`` true everywhere; interactivity payloads'
    ``team`` is null ("With org-wide installations, payload.team in interactivity payloads can
    be None", slack_bolt/request/internals.py), the workspace is in ``user.team_id`` and
    ``view.team_id``; the event's authorization says ``is_enterprise_install: true``
    (api.slack.com/enterprise/apps/reference)."""
    command, click, submission, event = await _all_four(org, receiver)
    assert command["is_enterprise_install"] == "true"
    for payload in (click, submission):
        assert payload["team"] is None and payload["is_enterprise_install"] is True
        assert payload["user"]["team_id"] == "T0001"
    assert submission["view"]["team_id"] == "T0001"
    assert event["authorizations"][0]["is_enterprise_install"] is True


def test_oauth_v2_access_on_grid(grid: SlackEmulator, org: SlackEmulator) -> None:
    """A workspace install inside an org: ``enterprise: {id, name}`` next to ``team``
    (slack-api-ref docs.slack.dev/methods/oauth.v2.access.json); org-wide: ``team: null``,
    ``is_enterprise_install: true`` (api.slack.com/enterprise/apps/reference)."""
    answers = []
    for emu in (grid, org):
        emu.configure_oauth("11.22", "s3", ["http://127.0.0.1:1/cb"])
        page = httpx.get(emu.authorize_url, params={"client_id": "11.22", "scope": "chat:write"})
        code = httpx.URL(page.headers["location"]).params["code"]
        answers.append(
            WebClient(base_url=emu.api_url).oauth_v2_access(
                client_id="11.22", client_secret="s3", code=code
            )
        )
    workspace, org_wide = answers
    assert workspace["enterprise"] == {"id": "E0123", "name": "Acme Org"}
    assert workspace["team"] == {"id": "T0001", "name": "Acme"}
    assert workspace["is_enterprise_install"] is False
    assert org_wide["enterprise"] == {"id": "E0123", "name": "Acme Org"}
    assert org_wide["team"] is None and org_wide["is_enterprise_install"] is True


def test_auth_test_names_the_org(grid: SlackEmulator, org: SlackEmulator) -> None:
    """auth.test's output has ``enterprise_id`` and ``is_enterprise_install`` (slack-api-ref
    docs.slack.dev/methods/auth.test.json)."""
    answer = WebClient(token=BOT_TOKEN, base_url=grid.api_url).auth_test()
    assert answer["enterprise_id"] == "E0123" and answer["is_enterprise_install"] is False
    assert WebClient(token=BOT_TOKEN, base_url=org.api_url).auth_test()["is_enterprise_install"]


def test_auth_test_outside_grid(emu: SlackEmulator) -> None:
    """Outside Grid: no ``enterprise_id``, ``is_enterprise_install`` false, as before."""
    answer = WebClient(token=BOT_TOKEN, base_url=emu.api_url).auth_test()
    assert "enterprise_id" not in answer and answer["is_enterprise_install"] is False


def test_users_info_shows_org_roles(grid: SlackEmulator, emu: SlackEmulator) -> None:
    """Workspace roles stay top-level ``is_admin``/``is_owner``; the org's are in
    ``enterprise_user: {id, enterprise_id, enterprise_name, is_admin, is_owner, teams}``
    (java-slack-sdk json-logs/samples/api/users.info.json)."""
    client = WebClient(token=BOT_TOKEN, base_url=grid.api_url)
    ana = client.users_info(user="W1")["user"]
    ben = client.users_info(user="W2")["user"]
    assert ana["is_admin"] is True and ana["enterprise_user"] == {
        "id": "W1",
        "enterprise_id": "E0123",
        "enterprise_name": "Acme Org",
        "is_admin": True,
        "is_owner": False,
        "teams": ["T0001"],
    }
    assert ben["is_admin"] is False and ben["is_owner"] is False
    assert ben["enterprise_user"]["is_owner"] is True
    plain = WebClient(token=BOT_TOKEN, base_url=emu.api_url).users_info(user="U2")["user"]
    assert "enterprise_user" not in plain


def test_a_workspace_joins_an_org_later(emu: SlackEmulator) -> None:
    """``join_enterprise`` moves a running workspace into an org (and back out with None); an
    org-wide install needs an org."""
    emu.join_enterprise("E0999", "Later Org")
    assert WebClient(token=BOT_TOKEN, base_url=emu.api_url).auth_test()["enterprise_id"] == (
        "E0999"
    )
    beta = emu.add_workspace("T0002", "Beta", enterprise_id="E0999", enterprise_name="Later Org")
    assert beta.state.enterprise_id == "E0999" and not beta.state.is_enterprise_install
    emu.join_enterprise(None)
    assert not emu.state.on_grid
    with pytest.raises(ValueError):
        emu.join_enterprise(None, org_install=True)
