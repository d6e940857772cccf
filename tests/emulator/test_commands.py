"""Slash commands arrive as Slack sends them: every form field, the text escaped."""

from __future__ import annotations

from urllib.parse import parse_qsl

from slack_emulator import SlackEmulator
from slack_emulator.payloads import command_text
from tests.emulator.conftest import Receiver

# Slack's field list (bolt-js SlashCommand, docs.slack.dev/tools/bolt-js/reference/interfaces/
# SlashCommand; the fixture of a real request in bolt-js GCPFunctionReceiver.spec.ts), minus
# enterprise_id / enterprise_name, which only Grid workspaces send (see test_grid.py).
SLACK_FIELDS = [
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
]


async def test_every_field_slack_sends(emu: SlackEmulator, receiver: Receiver) -> None:
    """All of Slack's fields, all strings, form-encoded (bolt-js ``SlashCommand``; Slack's
    sample ``token=...&team_id=T0001&team_domain=example&...&trigger_id=...``,
    api.slack.com/slash-commands)."""
    emu.connect_http(receiver.url)
    delivery = await emu.asend_command("/trust", "", user_id="U1", channel_id="C1")
    assert list(delivery.payload) == SLACK_FIELDS
    assert all(isinstance(v, str) for v in delivery.payload.values())
    assert delivery.payload["token"] == emu.verification_token
    assert delivery.payload["team_domain"] == "acme" and delivery.payload["text"] == ""


def test_text_is_escaped_as_slack_does(emu: SlackEmulator) -> None:
    """ "Slack uses &, <, and > as control characters for special parsing [...] You shouldn't
    HTML entity-encode the entire text" (Slack's message formatting reference, "Escaping
    text"): exactly those three become ``&amp;``, ``&lt;``, ``&gt;``; quotes and the rest stay."""
    typed = "team create R&D <beta> \"Q4\" 'x' é"
    assert command_text(emu.state, typed) == ("team create R&amp;D &lt;beta&gt; \"Q4\" 'x' é")
    assert command_text(emu.state, "a &amp; b") == "a &amp;amp; b"  # typed literally


def test_picked_users_and_channels_arrive_escaped_with_their_names(emu: SlackEmulator) -> None:
    """With ``should_escape: true`` (app.yml) Slack sends picked users and channels as
    ``<@U123|name>`` / ``<#C123|name>`` ("channel, user, and link references in the command's
    text are escaped/parsed", node-slack-sdk's docs of should_escape; the ``|name`` form is what
    third-party parsers read). An unknown ID keeps no name."""
    typed = "team add sales <@U1> <@U2|whatever> <#C1> <@U999> <#C999> & more"
    assert command_text(emu.state, typed) == (
        "team add sales <@U1|ana> <@U2|ben> <#C1|sales-managers> <@U999> <#C999> &amp; more"
    )
    assert command_text(emu.state, "<@u1> <@> <!here>") == "&lt;@u1&gt; &lt;@&gt; &lt;!here&gt;"


async def test_send_command_escapes_unless_told_the_text_is_escaped(
    emu: SlackEmulator, receiver: Receiver
) -> None:
    """``send_command(text)`` is what the user typed; ``escaped=True`` sends the ``text`` field
    unchanged (to replay a captured request, or to send what no Slack client would)."""
    emu.connect_http(receiver.url)
    typed = await emu.asend_command("/trust", "team add R&D <@U1>", user_id="U2")
    assert typed.payload["text"] == "team add R&amp;D <@U1|ana>"
    raw = await emu.asend_command("/trust", "<@U1> & <b>", user_id="U2", escaped=True)
    assert raw.payload["text"] == "<@U1> & <b>"
    bodies = [r["payload"]["text"] for r in receiver.requests]
    assert bodies == ["team add R&amp;D <@U1|ana>", "<@U1> & <b>"]


def test_the_form_body_round_trips(emu: SlackEmulator) -> None:
    """The text survives form encoding (``application/x-www-form-urlencoded``, as Slack posts
    slash commands)."""
    from slack_emulator.delivery import form_body

    text = command_text(emu.state, "a&b <@U1> 100%+")
    assert dict(parse_qsl(form_body({"text": text})))["text"] == "a&amp;b <@U1|ana> 100%+"
