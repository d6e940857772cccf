"""A local Slack emulator: Web API, Socket Mode and signed HTTP delivery on loopback.

Used by the tests and by ``trustbot demo``::

    with SlackEmulator() as emu:
        emu.add_user("U1", name="ana", tz="America/New_York")
        client = AsyncWebClient(token=emu.bot_token, base_url=emu.api_url)
        emu.connect_http("http://127.0.0.1:3000/slack/events")  # or open Socket Mode
        delivery = emu.send_command("/trust", "help", user_id="U1")
        emu.dm_messages("U1"), emu.ephemerals("U1"), emu.calls_to("chat.postMessage")

``validate_blocks`` / ``validate_view`` check Block Kit on their own.
"""

from bot.emulator.blockkit import validate_blocks, validate_view
from bot.emulator.delivery import sign
from bot.emulator.emulator import SlackEmulator
from bot.emulator.limits import Failure
from bot.emulator.models import ApiCall, Delivery, ResponseUrlPost, ValidationFailure

__all__ = [
    "ApiCall",
    "Delivery",
    "Failure",
    "ResponseUrlPost",
    "SlackEmulator",
    "ValidationFailure",
    "sign",
    "validate_blocks",
    "validate_view",
]
