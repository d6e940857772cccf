"""OAuth scopes: the bot token has the scopes it was granted, and nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_emulator import SlackEmulator, scopes_from_manifest
from slack_emulator.scopes import BY_CONVERSATION, METHOD_SCOPES
from tests.emulator.conftest import BOT_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def _refusal(call: object) -> dict[str, object]:
    with pytest.raises(SlackApiError) as info:
        call()  # type: ignore[operator]
    assert info.value.response.status_code == 200
    return dict(info.value.response.data)  # type: ignore[arg-type]


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=emu.api_url)


def test_scopes_from_manifest_reads_the_bot_scopes(tmp_path: Path) -> None:
    """Slack's app manifest keeps the bot token's scopes at ``oauth_config.scopes.bot``
    (slackapi/manifest-schema ``schemas/manifest.schema.1.0.0.json``)."""
    manifest = tmp_path / "app.yml"
    manifest.write_text(
        "oauth_config:\n  scopes:\n    bot:\n      - commands  # /x\n      - chat:write\n"
        "    user:\n      - search:read\n"
    )
    assert scopes_from_manifest(manifest) == ["commands", "chat:write"]
    (tmp_path / "none.yml").write_text("display_information:\n  name: x\n")
    assert scopes_from_manifest(tmp_path / "none.yml") == []
    assert "chat:write" in scopes_from_manifest(ROOT / "app.yml")


def test_every_method_served_declares_its_scope() -> None:
    """Each row copies the method's reference page (slack-ruby/slack-api-ref
    ``docs.slack.dev/methods/<method>.json``, ``scope`` / ``no_scope_required``)."""
    with SlackEmulator() as emu:
        assert set(emu.api.handlers) == set(METHOD_SCOPES)
    assert METHOD_SCOPES["chat.postMessage"] == "chat:write"
    assert METHOD_SCOPES["users.lookupByEmail"] == "users:read.email"
    assert METHOD_SCOPES["views.open"] is None and METHOD_SCOPES["auth.test"] is None
    assert BY_CONVERSATION["conversations.history"]["im"] == "im:history"
    assert BY_CONVERSATION["conversations.info"]["private"] == "groups:read"


def test_none_grants_every_scope(client: WebClient) -> None:
    """``scopes=None`` (the emulator's default) checks no scope: the old behaviour."""
    assert client.team_info()["ok"]
    assert client.conversations_info(channel="C1")["ok"]


def test_missing_scope_answers_needed_and_provided(emu: SlackEmulator, client: WebClient) -> None:
    """``{"ok": false, "error": "missing_scope", "needed": ..., "provided": ...}`` with HTTP 200:
    node-slack-sdk's generated response types (``needed?: string; provided?: string;``),
    java-slack-sdk ``json-logs/samples/api/users.info.json``; the chat.postMessage reference:
    "The token used is not granted the specific scope permissions required"."""
    emu.set_scopes(["commands", "users:read"])
    body = _refusal(lambda: client.chat_postMessage(channel="C1", text="x"))
    assert body == {
        "ok": False,
        "error": "missing_scope",
        "needed": "chat:write",
        "provided": "commands,users:read",
    }
    assert emu.messages("C1") == []
    assert emu.calls[-1].status == 200 and emu.calls[-1].error == "missing_scope"
    assert client.users_info(user="U1")["ok"]  # granted
    assert client.auth_test()["ok"]  # auth.test.json: "no_scope_required": true
    assert _refusal(lambda: client.users_lookupByEmail(email="ana@example.com"))["needed"] == (
        "users:read.email"
    )
    assert _refusal(lambda: client.team_info())["needed"] == "team:read"
    with pytest.raises(SlackApiError) as unknown:  # not served at all: still unknown_method
        client.api_call("reactions.add")
    assert unknown.value.response["error"] == "unknown_method"


def test_views_need_no_scope(emu: SlackEmulator, client: WebClient) -> None:
    """views.open/push/update/publish: ``"no_scope_required": true`` (slack-api-ref
    docs.slack.dev/methods/views.*.json)."""
    emu.set_scopes([])
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    assert client.views_publish(user_id="U1", view={"type": "home", "blocks": blocks})["ok"]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Hi"}, "blocks": blocks}
    assert client.views_open(trigger_id=emu.issue_trigger("U1"), view=modal)["ok"]


def test_history_scope_follows_the_conversation_type(emu: SlackEmulator, client: WebClient) -> None:
    """conversations.history wants channels:history, groups:history, im:history or
    mpim:history by conversation type (slack-api-ref conversations.history.json); a real
    answer for a private channel: ``'needed': 'groups:history', 'provided':
    'channels:history,...'`` (DataDog/slapr#47)."""
    emu.add_channel("G1", name="secret", is_private=True)
    dm = emu.dm_channel_id("U1")
    emu.set_scopes(["channels:history"])
    assert client.conversations_history(channel="C1")["ok"]
    assert _refusal(lambda: client.conversations_history(channel="G1"))["needed"] == (
        "groups:history"
    )
    assert _refusal(lambda: client.conversations_history(channel=dm))["needed"] == "im:history"
    emu.set_scopes(["im:history"])
    assert client.conversations_history(channel=dm)["ok"]
    assert _refusal(lambda: client.conversations_history(channel="C1"))["needed"] == (
        "channels:history"
    )
    # an unknown conversation has no type: the method answers for itself
    assert _refusal(lambda: client.conversations_history(channel="C404"))["error"] == (
        "channel_not_found"
    )


def test_info_and_open_scopes_follow_the_conversation_type(
    emu: SlackEmulator, client: WebClient
) -> None:
    """conversations.info: channels:read / groups:read / im:read (api.slack.com/conversations-api;
    docs.slack.dev/reference/scopes/im.read; a real IM answer ``"needed": "im:read"`` in
    getsentry/sentry#18317). conversations.open: im:write for a 1:1 DM, mpim:write for
    several users (slack-api-ref conversations.open.json)."""
    emu.add_channel("G1", name="secret", is_private=True)
    emu.set_scopes(["channels:read", "im:write"])
    assert client.conversations_info(channel="C1")["ok"]
    assert _refusal(lambda: client.conversations_info(channel="G1"))["needed"] == "groups:read"
    dm = client.conversations_open(users="U1")["channel"]["id"]
    assert _refusal(lambda: client.conversations_info(channel=dm))["needed"] == "im:read"
    assert _refusal(lambda: client.conversations_open(users="U1,U2"))["needed"] == "mpim:write"
    emu.set_scopes(["channels:read"])
    assert _refusal(lambda: client.conversations_open(users="U1"))["needed"] == "im:write"


def test_files_need_files_write(emu: SlackEmulator, client: WebClient) -> None:
    """files.getUploadURLExternal / files.completeUploadExternal: files:write (slack-api-ref
    docs.slack.dev/methods/files.*.json); files_upload_v2 stops at the first step."""
    emu.set_scopes(["chat:write"])
    body = _refusal(lambda: client.files_upload_v2(content=b"x", filename="a.txt", channel="C1"))
    assert body["needed"] == "files:write"
    assert [c.method for c in emu.calls] == ["files.getUploadURLExternal"]


def test_chat_write_public_reaches_public_channels_only(
    emu: SlackEmulator, client: WebClient
) -> None:
    """chat:write.public: "Send messages to channels @your_slack_app isn't a member of";
    "your app must also request chat:write" (api.slack.com/scopes/chat:write.public).
    Private channels stay out of reach."""
    emu.add_channel("C2", name="outside", is_member=False)
    emu.add_channel("G2", name="secret", is_private=True, is_member=False)
    emu.set_scopes(["chat:write"])
    assert _refusal(lambda: client.chat_postMessage(channel="C2", text="x"))["error"] == (
        "not_in_channel"
    )
    emu.set_scopes(["chat:write", "chat:write.public"])
    assert client.chat_postMessage(channel="C2", text="x")["ok"]
    assert _refusal(lambda: client.chat_postMessage(channel="G2", text="x"))["error"] == (
        "channel_not_found"
    )
    emu.set_scopes(None)  # "every scope" checks none but does not widen where posts go
    assert _refusal(lambda: client.chat_postMessage(channel="C2", text="y"))["error"] == (
        "not_in_channel"
    )


def test_oauth_tokens_carry_the_scopes_installed(emu: SlackEmulator) -> None:
    """oauth.v2.access's ``scope`` is what the token may do (slack-api-ref
    docs.slack.dev/methods/oauth.v2.access.json); the static token keeps its own."""
    import httpx

    emu.set_scopes(["chat:write", "users:read"])
    emu.configure_oauth("11.22", "s3", ["http://127.0.0.1:1/cb"])
    page = httpx.get(emu.authorize_url, params={"client_id": "11.22", "scope": "users:read"})
    code = httpx.URL(page.headers["location"]).params["code"]
    answer = WebClient(base_url=emu.api_url).oauth_v2_access(
        client_id="11.22", client_secret="s3", code=code
    )
    assert answer["scope"] == "users:read"
    installed = WebClient(token=answer["access_token"], base_url=emu.api_url)
    assert installed.users_info(user="U1")["ok"]
    body = _refusal(lambda: installed.chat_postMessage(channel="C1", text="x"))
    assert body["needed"] == "chat:write" and body["provided"] == "users:read"
    assert WebClient(token=BOT_TOKEN, base_url=emu.api_url).chat_postMessage(
        channel="C1", text="static"
    )["ok"]


def test_a_refusal_does_not_spend_the_rate_limit(emu: SlackEmulator, client: WebClient) -> None:
    """Scopes are checked before rate limits (Slack does not document the order; a refused call
    is not counted here). Tier budgets as in docs.slack.dev/apis/web-api/rate-limits."""
    emu.set_rate_limits(tier_per_min={"users.info": 1})
    emu.set_scopes([])
    for _ in range(3):
        assert _refusal(lambda: client.users_info(user="U1"))["error"] == "missing_scope"
    emu.set_scopes(["users:read"])
    assert client.users_info(user="U1")["ok"]
