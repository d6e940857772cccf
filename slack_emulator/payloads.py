"""The payloads Slack sends to apps: slash commands, interactions, Events API envelopes.

On Enterprise Grid (a workspace with an ``enterprise_id``) they carry what Slack adds there,
copied from the SDKs' own fixtures of real requests:

- slash commands: ``enterprise_id``, ``enterprise_name`` and ``is_enterprise_install`` as the
  string "true"/"false" (slackapi/bolt-js ``src/receivers/GCPFunctionReceiver.spec.ts``,
  "should accept slash commands"; slackapi/java-slack-sdk
  ``json-logs/samples/app-backend/slash-commands/SlashCommandPayload.json``);
- interactivity: top-level ``enterprise: {id, name}``, ``is_enterprise_install`` and ``team:
  {id, domain, enterprise_id, enterprise_name}`` (the same bolt-js spec's shortcut; java-slack-
  sdk ``.../interactive-components/BlockActionPayload.json`` and
  ``.../views/ViewSubmissionPayload.json``). With an org-wide install ``team`` is null: "With
  org-wide installations, payload.team in interactivity payloads can be None. You need to
  extract either payload.user.team_id or payload.view.team_id" (slackapi/bolt-python
  ``slack_bolt/request/internals.py``, ``extract_team_id``);
- Events API: ``enterprise_id``, ``authorizations[{enterprise_id, team_id, user_id, is_bot,
  is_enterprise_install}]`` (the bolt-js spec's "should accept events"; for an org-wide install
  api.slack.com/enterprise/apps/reference), and ``context_team_id`` / ``context_enterprise_id``
  naming the installation (slackapi/bolt-python ``tests/slack_bolt/request/test_internals.py``).

Outside Grid nothing changes: ``enterprise`` null, ``is_enterprise_install`` false.
"""

from __future__ import annotations

import copy
import re
import secrets
import time
from typing import Any

from slack_emulator.models import JsonDict
from slack_emulator.state import WorkspaceState


def _user_ref(state: WorkspaceState, user_id: str) -> JsonDict:
    spec = state.users.get(user_id, {})
    name = spec.get("name", user_id.lower())
    return {"id": user_id, "username": name, "name": name, "team_id": state.team_id}


def _team_ref(state: WorkspaceState) -> JsonDict | None:
    """An interaction's ``team``: null for an org-wide install (see the module docstring)."""
    if state.is_enterprise_install:
        return None
    team: JsonDict = {"id": state.team_id, "domain": state.team_domain}
    if state.on_grid:
        team["enterprise_id"] = state.enterprise_id
        team["enterprise_name"] = state.enterprise_name
    return team


def _enterprise_ref(state: WorkspaceState) -> JsonDict | None:
    if not state.on_grid:
        return None
    return {"id": state.enterprise_id, "name": state.enterprise_name}


# -- slash command text ------------------------------------------------------------

_MENTION = re.compile(r"<(@[UW][A-Z0-9]+|#[CG][A-Z0-9]+)(?:\|[^<>]*)?>")


def _entities(text: str) -> str:
    """Slack's three control characters as entities, nothing else: "Slack uses &, <, and > as
    control characters for special parsing [...] You shouldn't HTML entity-encode the entire
    text" (Slack's message formatting reference, "Escaping text")."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def command_text(state: WorkspaceState, typed: str) -> str:
    """The ``text`` field Slack sends for what a user typed after a slash command whose
    manifest entry says ``should_escape: true``.

    ``typed`` writes a user or channel the user picked from Slack's autocomplete as ``<@U123>``
    / ``<#C123>`` (a label after ``|`` is ignored); they arrive as ``<@U123|name>`` and
    ``<#C123|name>``. With should_escape, "channel, user, and link references in the command's
    text are escaped/parsed before being sent" (node-slack-sdk's docs of the field); the exact
    rendering is not in the Slack docs we could read, ``<@U…|name>`` / ``<#C…|name>`` is what
    third-party slash-command code shows. Every other ``&``, ``<`` and ``>`` is sent as
    ``&amp;``, ``&lt;``, ``&gt;``. Links typed in the text are left as typed: how Slack renders
    them under should_escape was not found in a source.
    """
    parts: list[str] = []
    last = 0
    for match in _MENTION.finditer(typed):
        parts.append(_entities(typed[last : match.start()]))
        ref = match.group(1)
        kind, ident = ref[0], ref[1:]
        if kind == "@":
            name = state.users.get(ident, {}).get("name")
        else:
            name = state.channels.get(ident, {}).get("name")
        parts.append(f"<{kind}{ident}|{name}>" if name else f"<{kind}{ident}>")
        last = match.end()
    parts.append(_entities(typed[last:]))
    return "".join(parts)


def command_fields(
    state: WorkspaceState,
    *,
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    channel_name: str,
    trigger_id: str,
    response_url: str,
    verification_token: str,
) -> dict[str, str]:
    """The form fields of a slash command request, in the order of the bolt-js fixture of a
    real one (``token`` ... ``api_app_id``, ``is_enterprise_install``, the Grid org's
    ``enterprise_id`` / ``enterprise_name``, ``response_url``, ``trigger_id``). Every value
    is a string; ``text`` as given (see :func:`command_text`)."""
    spec = state.users.get(user_id, {})
    fields = {
        "token": verification_token,
        "team_id": state.team_id,
        "team_domain": state.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": spec.get("name", user_id.lower()),
        "command": command,
        "text": text,
        "api_app_id": state.app_id,
        "is_enterprise_install": "true" if state.is_enterprise_install else "false",
    }
    if state.on_grid:
        fields["enterprise_id"] = str(state.enterprise_id)
        fields["enterprise_name"] = str(state.enterprise_name)
    fields["response_url"] = response_url
    fields["trigger_id"] = trigger_id
    return fields


def find_element(blocks: list[Any], action_id: str) -> tuple[str, JsonDict] | None:
    """(block_id, element) of the interactive element with this action_id."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        candidates: list[Any] = []
        if block.get("accessory"):
            candidates.append(block["accessory"])
        candidates.extend(block.get("elements") or [])
        if block.get("element"):
            candidates.append(block["element"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return None


def _all_options(element: JsonDict) -> list[JsonDict]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def click_action(block_id: str, element: JsonDict, value: Any = None) -> JsonDict:
    """The ``actions[0]`` Slack sends when a user uses an element."""
    kind = element.get("type", "button")
    action: JsonDict = {
        "type": kind,
        "action_id": element["action_id"],
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        action["text"] = copy.deepcopy(element.get("text"))
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
    elif kind in ("static_select", "overflow", "radio_buttons"):
        options = _all_options(element)
        chosen = next((o for o in options if o.get("value") == value), None)
        if chosen is None:
            raise LookupError(f"no option with value {value!r} in {element['action_id']}")
        action["selected_option"] = copy.deepcopy(chosen)
    elif kind in ("checkboxes", "multi_static_select"):
        wanted = list(value or [])
        options = _all_options(element)
        action["selected_options"] = [copy.deepcopy(o) for o in options if o["value"] in wanted]
    else:
        action["value"] = value
    return action


def block_actions_payload(
    state: WorkspaceState,
    *,
    user_id: str,
    actions: list[JsonDict],
    trigger_id: str,
    verification_token: str,
    message: JsonDict | None = None,
    view: JsonDict | None = None,
    container: JsonDict | None = None,
    channel_id: str | None = None,
    response_url: str | None = None,
    state_values: JsonDict | None = None,
) -> JsonDict:
    """An interactive ``block_actions`` payload for a message or a view."""
    payload: JsonDict = {
        "type": "block_actions",
        "user": _user_ref(state, user_id),
        "api_app_id": state.app_id,
        "token": verification_token,
        "container": container,
        "trigger_id": trigger_id,
        "team": _team_ref(state),
        "enterprise": _enterprise_ref(state),
        "is_enterprise_install": state.is_enterprise_install,
        "state": {"values": state_values or {}},
        "actions": [{"action_ts": f"{time.time():.6f}", **a} for a in actions],
    }
    if message is not None:
        channel = channel_id or message.get("channel")
        public = {k: v for k, v in copy.deepcopy(message).items() if k != "channel"}
        payload["message"] = public
        channel_obj = state.channels.get(str(channel), {})
        payload["channel"] = {"id": channel, "name": channel_obj.get("name", "directmessage")}
        payload["container"] = container or {
            "type": "message",
            "message_ts": message.get("ts"),
            "channel_id": channel,
            "is_ephemeral": False,
        }
    if view is not None:
        payload["view"] = copy.deepcopy(view)
        payload["container"] = container or {"type": "view", "view_id": view.get("id")}
    if payload["container"] is None:
        payload["container"] = {"type": "message", "channel_id": channel_id}
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def view_payload(
    state: WorkspaceState,
    *,
    kind: str,
    user_id: str,
    view: JsonDict,
    values: JsonDict | None,
    verification_token: str,
    trigger_id: str | None,
) -> JsonDict:
    """A ``view_submission`` or ``view_closed`` payload."""
    full = copy.deepcopy(view)
    full.setdefault("id", state.new_id("V"))
    full.setdefault("team_id", state.team_id)
    full.setdefault("app_id", state.app_id)
    full.setdefault("bot_id", state.bot_id)
    full.setdefault("hash", f"{int(time.time())}.{secrets.token_hex(4)}")
    full.setdefault("private_metadata", "")
    full.setdefault("callback_id", "")
    full.setdefault("root_view_id", full["id"])
    full["state"] = {"values": values if values is not None else {}}
    payload: JsonDict = {
        "type": kind,
        "team": _team_ref(state),
        "user": _user_ref(state, user_id),
        "api_app_id": state.app_id,
        "token": verification_token,
        "view": full,
        "enterprise": _enterprise_ref(state),
        "is_enterprise_install": state.is_enterprise_install,
    }
    if kind == "view_submission":
        payload["trigger_id"] = trigger_id
        payload["response_urls"] = []
    else:
        payload["is_cleared"] = False
    return payload


def event_envelope(
    state: WorkspaceState,
    *,
    event: JsonDict,
    event_id: str,
    verification_token: str,
) -> JsonDict:
    """An Events API ``event_callback`` envelope."""
    body = copy.deepcopy(event)
    body.setdefault("event_ts", f"{time.time():.6f}")
    envelope: JsonDict = {"token": verification_token, "team_id": state.team_id}
    if state.on_grid:
        envelope["enterprise_id"] = state.enterprise_id
    envelope.update(
        {
            "api_app_id": state.app_id,
            "event": body,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": state.enterprise_id,
                    "team_id": state.team_id,
                    "user_id": state.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": state.is_enterprise_install,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_urlsafe(24)}",
        }
    )
    if state.on_grid:  # the installation the event is for (not the actor's, which differs
        envelope["context_team_id"] = state.team_id  # only in Slack Connect channels)
        envelope["context_enterprise_id"] = state.enterprise_id
    return envelope


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()
