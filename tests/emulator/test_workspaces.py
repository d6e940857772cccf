"""Several workspaces of one app, OAuth installs and revoked tokens."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_emulator import SlackEmulator
from tests.emulator.conftest import BOT_TOKEN, Receiver

REDIRECT = "https://app.example.com/slack/oauth_redirect"


@pytest.fixture
def beta(emu: SlackEmulator) -> SlackEmulator:
    b = emu.add_workspace("T0002", "Beta", bot_token="xoxb-beta")
    b.add_user("U1", name="cy", tz="Asia/Tokyo")  # the same ID as in the first workspace
    return b


def _error(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except SlackApiError as error:
        return str(error.response["error"])
    raise AssertionError("the call succeeded")


def test_each_token_answers_for_its_own_workspace(emu: SlackEmulator, beta: SlackEmulator) -> None:
    first = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    second = WebClient(token="xoxb-beta", base_url=emu.api_url)
    assert first.auth_test()["team_id"] == "T0001"
    answer = second.auth_test()
    assert (answer["team_id"], answer["team"]) == ("T0002", "Beta")
    assert answer["bot_id"] != first.auth_test()["bot_id"]
    assert first.users_info(user="U1")["user"]["tz"] == "America/New_York"
    assert second.users_info(user="U1")["user"]["tz"] == "Asia/Tokyo"
    second.chat_postMessage(channel="U1", text="hello beta")
    assert [m["text"] for m in beta.dm_messages("U1")] == ["hello beta"]
    assert emu.dm_messages("U1") == []
    assert emu.workspace("T0002") is beta and emu.workspace("T0001") is emu
    with pytest.raises(ValueError, match="exists already"):
        emu.add_workspace("T0002", "Again")


def test_revoked_tokens_are_refused(emu: SlackEmulator, beta: SlackEmulator) -> None:
    second = WebClient(token="xoxb-beta", base_url=emu.api_url)
    assert beta.revoke_tokens() == ["xoxb-beta"]
    assert _error(second.auth_test) == "token_revoked"
    assert beta.bot_tokens == []
    assert WebClient(token=BOT_TOKEN, base_url=emu.api_url).auth_test()["ok"]
    assert _error(WebClient(token="xoxb-unknown", base_url=emu.api_url).auth_test) == (
        "invalid_auth"
    )


async def test_deliveries_carry_their_workspace(
    emu: SlackEmulator, beta: SlackEmulator, receiver: Receiver
) -> None:
    emu.connect_http(receiver.url)
    reply = await beta.asend_command("/trust", "help", user_id="U1")
    event = await beta.asend_event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    command, home = (r["payload"] for r in receiver.requests)
    assert command["team_id"] == "T0002" and command["user_name"] == "cy"
    assert home["team_id"] == "T0002" and home["authorizations"][0]["team_id"] == "T0002"
    assert event.ok
    # the response_url answer shows in that workspace only
    async with httpx.AsyncClient() as http:
        await http.post(str(reply.response_url), json={"text": "only beta"})
    assert [e["text"] for e in beta.ephemerals("U1")] == ["only beta"]
    assert emu.ephemerals("U1") == []
    assert len(beta.response_url_posts(reply.response_url)) == 1


def test_oauth_install_hands_out_a_workspace_token(emu: SlackEmulator, beta: SlackEmulator) -> None:
    emu.configure_oauth("11.22", "shh", [REDIRECT], installer="U2")
    query = {"client_id": "11.22", "scope": "commands,chat:write", "state": "st-1", "team": "T0002"}
    page = httpx.get(emu.authorize_url, params=query)
    assert page.status_code == 302
    location = urlsplit(page.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    back = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert back["state"] == "st-1" and back["code"]

    app = WebClient(base_url=emu.api_url)
    answer = app.oauth_v2_access(client_id="11.22", client_secret="shh", code=back["code"])
    assert answer["token_type"] == "bot" and answer["scope"] == "commands,chat:write"
    assert answer["team"] == {"id": "T0002", "name": "Beta"}
    assert answer["authed_user"] == {"id": "U2"} and answer["enterprise"] is None
    assert answer["bot_user_id"] == beta.state.bot_user_id and answer["app_id"] == "A0EMULATOR"
    token = answer["access_token"]
    assert token in beta.bot_tokens
    assert WebClient(token=token, base_url=emu.api_url).auth_test()["team_id"] == "T0002"

    def exchange(code: str = back["code"], secret: str = "shh") -> None:
        app.oauth_v2_access(client_id="11.22", client_secret=secret, code=code)

    assert _error(exchange) == "code_already_used"
    assert _error(lambda: exchange("nope")) == "invalid_code"
    assert _error(lambda: exchange(secret="wrong")) == "bad_client_secret"


def test_the_authorize_page_refuses_what_slack_refuses(emu: SlackEmulator) -> None:
    base = {"client_id": "11.22", "scope": "commands", "state": "s"}
    assert httpx.get(emu.authorize_url, params=base).status_code == 400  # not configured
    emu.configure_oauth("11.22", "shh", [REDIRECT])
    assert httpx.get(emu.authorize_url, params={**base, "client_id": "x"}).status_code == 400
    other = {**base, "redirect_uri": "https://evil.example.com/cb"}
    assert "bad_redirect_uri" in httpx.get(emu.authorize_url, params=other).text
    assert httpx.get(emu.authorize_url, params={**base, "team": "T9"}).status_code == 400
    emu.configure_oauth("11.22", "shh", [REDIRECT], deny=True)
    denied = httpx.get(emu.authorize_url, params=base)
    assert denied.status_code == 302
    assert "error=access_denied" in denied.headers["location"]
    assert "code=" not in denied.headers["location"]
