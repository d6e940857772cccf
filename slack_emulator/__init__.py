"""A local Slack emulator: Web API, Socket Mode and signed HTTP delivery on loopback.

Used by the tests and by ``trustbot demo``::

    with SlackEmulator(scopes=scopes_from_manifest("app.yml")) as emu:  # None: every scope
        emu.add_user("U1", name="ana", tz="America/New_York")
        client = AsyncWebClient(token=emu.bot_token, base_url=emu.api_url)
        emu.connect_http("http://127.0.0.1:3000/slack/events")  # or open Socket Mode
        delivery = emu.send_command("/trust", "help", user_id="U1")
        beta = emu.add_workspace("T0002", "Beta")  # a second workspace of the same app
        beta.send_command("/trust", "help", user_id="U1")  # its own users and messages
        emu.configure_oauth("123.456", "secret", ["http://127.0.0.1:3000/slack/oauth_redirect"])
        emu.dm_messages("U1"), emu.ephemerals("U1"), emu.calls_to("chat.postMessage")

``validate_blocks`` / ``validate_view`` check Block Kit on their own.
"""

from slack_emulator.blockkit import validate_blocks, validate_view
from slack_emulator.clock import EmulatorClock
from slack_emulator.delivery import slack_signature
from slack_emulator.emulator import SlackEmulator, WorkspaceEmulator
from slack_emulator.limits import Failure
from slack_emulator.models import ApiCall, AppDelivery, ResponseUrlPost, ValidationFailure
from slack_emulator.scopes import scopes_from_manifest

__all__ = [
    "ApiCall",
    "AppDelivery",
    "EmulatorClock",
    "Failure",
    "ResponseUrlPost",
    "SlackEmulator",
    "ValidationFailure",
    "WorkspaceEmulator",
    "scopes_from_manifest",
    "slack_signature",
    "validate_blocks",
    "validate_view",
]
