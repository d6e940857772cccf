"""Starting, stopping, running side by side, and the blocking (sync) API."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from slack_emulator import SlackEmulator
from tests.emulator.conftest import SECRET


def test_two_emulators_run_side_by_side() -> None:
    with SlackEmulator() as first, SlackEmulator() as second:
        assert first.port != second.port
        first.add_channel("C1", name="a")
        WebClient(token="xoxb-test", base_url=first.api_url).chat_postMessage(
            channel="C1", text="1"
        )
        assert first.messages("C1") and second.messages() == []


def test_stop_is_idempotent_and_start_again_works() -> None:
    emu = SlackEmulator().start()
    assert emu.start() is emu
    emu.stop()
    emu.stop()
    with pytest.raises(RuntimeError, match="not started"):
        _ = emu.api_url
    emu.start()
    try:
        assert WebClient(token="xoxb-test", base_url=emu.api_url).auth_test()["ok"]
    finally:
        emu.stop()


@pytest.fixture
def threaded_app() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A blocking HTTP app in its own thread, so a sync test can use send_*."""
    seen: list[dict[str, str]] = []
    verifier = SignatureVerifier(SECRET)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            ok = verifier.is_valid(
                body,
                self.headers["X-Slack-Request-Timestamp"],
                self.headers["X-Slack-Signature"],
            )
            seen.append({k: v[0] for k, v in parse_qs(body).items()})
            reply = b'{"text": "pong"}'
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events", seen
    server.shutdown()
    server.server_close()


def test_sync_send_command(
    emu: SlackEmulator, threaded_app: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = threaded_app
    emu.connect_http(url)
    delivery = emu.send_command("/trust", "ping", user_id="U1")
    assert delivery.status == 200 and delivery.body == {"text": "pong"}
    assert seen[0]["text"] == "ping"
    assert emu.ephemerals("U1")[0]["text"] == "pong"
    emu.disconnect_http()
    with pytest.raises(RuntimeError):
        emu.send_command("/trust", user_id="U1")


def test_set_user_changes_what_the_api_reports(emu: SlackEmulator) -> None:
    client = WebClient(token="xoxb-test", base_url=emu.api_url)
    client.chat_postMessage(channel="U1", text="hello")
    emu.set_user("U1", deleted=True, tz="Asia/Kolkata")
    user = client.users_info(user="U1")["user"]
    assert user["deleted"] is True
    assert user["tz_offset"] == 19800 and user["tz_label"] == "India Standard Time"
    with pytest.raises(Exception, match="user_disabled"):
        client.chat_postMessage(channel="U1", text="again")
