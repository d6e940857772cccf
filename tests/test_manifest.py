"""app.yml is a valid Slack manifest and matches what the code registers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# Slack's manifest schema (MIT, see tests/data/LICENSE.slack-manifest-schema), vendored from
# shared/slack so the test never depends on a checkout layout.
SCHEMA = ROOT / "tests" / "data" / "slack-manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "app.yml").read_text())


def test_manifest_is_valid_against_slack_schema(manifest: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(manifest, schema)


def test_trust_command_escapes_mentions(manifest: dict) -> None:
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/trust"
    assert command["should_escape"] is True
    assert command["url"].endswith("/slack/events")


def test_home_interactivity_socket_mode(manifest: dict) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert (
        settings["interactivity"]["request_url"] == settings["event_subscriptions"]["request_url"]
    )


def test_every_event_listener_is_subscribed(manifest: dict) -> None:
    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    listened = {
        m.group(1)
        for path in (ROOT / "handlers").glob("*.py")
        for m in re.finditer(r'@app\.event\(\s*"([a-z_]+)"', path.read_text())
    }
    assert "app_home_opened" in listened
    assert listened <= subscribed, f"listened to but not subscribed: {listened - subscribed}"


def test_oauth_redirect_matches_route(manifest: dict) -> None:
    assert manifest["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
    assert {"commands", "chat:write", "im:write", "users:read"} <= set(
        manifest["oauth_config"]["scopes"]["bot"]
    )


# Beyond the Web API: the slash command, and the message_metadata_posted event (its scope,
# docs.slack.dev/reference/events/message_metadata_posted).
FEATURE_SCOPES = {"commands", "metadata.message:read"}
# The conversation types the code reads or opens, for methods whose scope depends on it:
# history for the outbox (DMs) and the digests (public or private team channels).
CONVERSATION_TYPES = {
    "conversations.history": ("im", "public", "private"),
    "conversations.open": ("im",),
}
SDK_METHOD = re.compile(r"client\.((?:chat|conversations|users|views|files|team)_[A-Za-z0-9_]+)\(")


def test_bot_scopes_are_exactly_what_the_code_needs(manifest: dict) -> None:
    """Least privilege: app.yml asks for the scope of every Web API method bot/ and handlers/
    call (each method's scope as the emulator copies it from Slack's reference, see
    slack_emulator.scopes), and for nothing else."""
    from slack_emulator.scopes import BY_CONVERSATION, METHOD_SCOPES

    sources = [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]
    called = {
        m.group(1)
        for path in sources
        if "demo" not in path.parts
        for m in SDK_METHOD.finditer(path.read_text())
    }
    methods = set()
    for name in called:
        if name == "files_upload_v2":  # slack_sdk's three-step upload
            methods |= {"files.getUploadURLExternal", "files.completeUploadExternal"}
        else:
            methods.add(name.replace("_", ".", 1))
    assert "chat.postMessage" in methods and "conversations.history" in methods
    needed = set(FEATURE_SCOPES)
    for method in methods:
        scope = METHOD_SCOPES[method]  # KeyError: a method the emulator does not serve yet
        if scope == "by conversation":
            needed |= {BY_CONVERSATION[method][kind] for kind in CONVERSATION_TYPES[method]}
        elif scope is not None:
            needed.add(scope)
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed
