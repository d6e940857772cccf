"""The Slack app under test as Slack knows it: the bot scopes of app.yml.

Every emulator the tests start (outside ``tests/emulator``, which tests the emulator itself)
grants its bot token exactly these scopes, so a Web API call app.yml does not allow fails
with ``missing_scope`` here as it would on Slack.
"""

from __future__ import annotations

from pathlib import Path

from slack_emulator import scopes_from_manifest

MANIFEST = Path(__file__).resolve().parents[2] / "app.yml"
APP_SCOPES = scopes_from_manifest(MANIFEST)
