"""``/trust setup``: the modal that creates or edits a team with Slack's own pickers."""

from __future__ import annotations

from typing import Any

from bot.core.anonymity import K_FLOOR
from bot.core.teams import DAY_NAMES, WEEKDAYS, TeamSetup, TeamSummary
from bot.core.trust.grammar import HHMM, team_name_problem
from bot.slack.kit.blocks import inert

CALLBACK_ID = "setup"
PICK_ACTION = "setup.pick"
JsonDict = dict[str, Any]
PAUSED_OPTION: JsonDict = {
    "text": {"type": "plain_text", "text": "Paused: no check-ins or deal nudges"},
    "value": "paused",
}


def _option(value: str, label: str) -> JsonDict:
    return {"text": {"type": "plain_text", "text": label[:75]}, "value": value[:150]}


def _input(block_id: str, label: str, element: JsonDict, *, optional: bool = False) -> JsonDict:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": "value", **element},
        "optional": optional,
    }


def setup_view(existing: list[TeamSummary], chosen: TeamSummary | None = None) -> JsonDict:
    """The setup modal, blank for a new team or filled in with ``chosen``."""
    team = chosen.team if chosen else None
    blocks: list[JsonDict] = []
    if existing:
        picker: JsonDict = {
            "type": "static_select",
            "action_id": PICK_ACTION,
            "placeholder": {"type": "plain_text", "text": "Edit a team"},
            "options": [
                _option(s.team.name, inert(s.team.name, mrkdwn=False)) for s in existing[:100]
            ],
        }
        if chosen:
            picker["initial_option"] = _option(
                chosen.team.name, inert(chosen.team.name, mrkdwn=False)
            )
        blocks.append(
            {
                "type": "section",
                "block_id": "pick",
                "text": {"type": "mrkdwn", "text": "Edit an existing team, or fill in a new one."},
                "accessory": picker,
            }
        )
    name: JsonDict = {"type": "plain_text_input", "max_length": 80}
    channel: JsonDict = {
        "type": "conversations_select",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    reps: JsonDict = {"type": "multi_users_select", "max_selected_items": 100}
    managers: JsonDict = {"type": "multi_users_select", "max_selected_items": 20}
    weekday = team.checkin_weekday if team else 4
    day: JsonDict = {
        "type": "static_select",
        "options": [_option(w, DAY_NAMES[i].title()) for i, w in enumerate(WEEKDAYS)],
        "initial_option": _option(WEEKDAYS[weekday], DAY_NAMES[weekday].title()),
    }
    time: JsonDict = {"type": "timepicker", "initial_time": team.checkin_time if team else "16:00"}
    k: JsonDict = {
        "type": "number_input",
        "is_decimal_allowed": False,
        "min_value": str(K_FLOOR),
        "max_value": "1000",
        "initial_value": str(team.k if team else 5),
    }
    paused: JsonDict = {"type": "checkboxes", "options": [PAUSED_OPTION]}
    if team and team.paused:
        paused["initial_options"] = [PAUSED_OPTION]
    if chosen and team:
        name["initial_value"] = team.name
        channel["initial_conversation"] = team.channel_id
        if chosen.reps:
            reps["initial_users"] = chosen.reps[:100]
        if chosen.managers:
            managers["initial_users"] = chosen.managers[:20]
    blocks += [
        _input("name", "Team name", name),
        _input("channel", "Digest channel (managers read it)", channel),
        _input("reps", "Reps", reps, optional=True),
        _input("managers", "Managers", managers, optional=True),
        _input("day", "Weekly check-in day", day),
        _input("time", "Check-in time (each rep's own time zone)", time),
        _input("k", f"Anonymity: fewest respondents per figure (≥ {K_FLOOR})", k),
        _input("paused", "Pause", paused, optional=True),
    ]
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Trustbot team setup"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def parse_setup(view: JsonDict) -> TeamSetup | dict[str, str]:
    """The submitted modal as a :class:`TeamSetup`, or errors by block id for Slack to show."""
    values = view.get("state", {}).get("values", {})

    def field(block: str) -> JsonDict:
        found = values.get(block, {}).get("value", {})
        return found if isinstance(found, dict) else {}

    errors: dict[str, str] = {}
    name = str(field("name").get("value") or "").strip()
    problem = team_name_problem(name)
    if problem is not None:
        errors["name"] = problem[0].upper() + problem[1:]
    channel = field("channel").get("selected_conversation")
    if not isinstance(channel, str) or not channel:
        errors["channel"] = "Pick the channel where the digest goes."
    reps = [u for u in field("reps").get("selected_users") or [] if isinstance(u, str)]
    managers = [u for u in field("managers").get("selected_users") or [] if isinstance(u, str)]
    day = (field("day").get("selected_option") or {}).get("value")
    if day not in WEEKDAYS:
        errors["day"] = "Pick a day."
    time = field("time").get("selected_time")
    if not isinstance(time, str) or not HHMM.match(time):
        errors["time"] = "Pick a time."
    raw_k = str(field("k").get("value") or "")
    if not raw_k.isdecimal() or len(raw_k) > 4 or not K_FLOOR <= int(raw_k) <= 1000:
        errors["k"] = f"A whole number from {K_FLOOR} to 1000."
    paused = any(
        isinstance(o, dict) and o.get("value") == "paused"
        for o in field("paused").get("selected_options") or []
    )
    if errors:
        return errors
    assert isinstance(channel, str) and isinstance(time, str) and isinstance(day, str)
    return TeamSetup(
        name=name,
        channel_id=channel,
        reps=list(dict.fromkeys(reps)),
        managers=list(dict.fromkeys(managers)),
        checkin_weekday=WEEKDAYS.index(day),
        checkin_time=time,
        k=int(raw_k),
        paused=paused,
    )
