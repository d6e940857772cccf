"""Block Kit validation, as strict as Slack's own.

Two layers: an explicit walk over the JSON that enforces Slack's documented
limits and the block/element types each surface accepts, then slack_sdk's
model validators (``Block.parse(...).to_dict()`` runs every ``validate_json``).
Errors read like Slack's: ``"must be less than 3001 characters
[json-pointer:/blocks/0/text/text]"``.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Container
from typing import Any, Literal

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}

_VIEW_BLOCK_TYPES = frozenset(
    {"actions", "context", "divider", "header", "image", "input", "rich_text", "section", "video"}
)
BLOCK_TYPES: dict[str, frozenset[str]] = {
    "message": _VIEW_BLOCK_TYPES | {"file", "markdown", "table", "context_actions"},
    "modal": _VIEW_BLOCK_TYPES,
    "home": _VIEW_BLOCK_TYPES,
}

_SELECTS = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
_PICKERS = frozenset({"datepicker", "timepicker", "datetimepicker"})
ACCESSORY_TYPES = (
    _SELECTS | _PICKERS | {"button", "checkboxes", "image", "overflow", "radio_buttons"}
) | {"workflow_button"}
ACTIONS_TYPES = (
    _SELECTS
    | _PICKERS
    | {
        "button",
        "checkboxes",
        "overflow",
        "radio_buttons",
        "workflow_button",
        "rich_text_input",
    }
)
CONTEXT_TYPES = frozenset({"image", "plain_text", "mrkdwn"})
INPUT_TYPES = (
    _SELECTS
    | _PICKERS
    | {
        "checkboxes",
        "email_text_input",
        "file_input",
        "number_input",
        "plain_text_input",
        "radio_buttons",
        "rich_text_input",
        "url_text_input",
    }
)
_WITH_PLACEHOLDER = (
    _SELECTS
    | _PICKERS
    | {
        "plain_text_input",
        "email_text_input",
        "url_text_input",
        "number_input",
        "rich_text_input",
    }
)

_log = logging.getLogger(__name__)


def _ptr(path: str) -> str:
    return f"[json-pointer:{path}]"


class _Walker:
    """Collects errors while walking one payload."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, message: str, path: str) -> None:
        self.errors.append(f"{message} {_ptr(path)}")

    # -- primitives -------------------------------------------------------

    def given(self, obj: dict[str, Any], key: str, path: str, *, required: bool) -> bool:
        """Whether ``obj[key]`` is set (``null`` is not); a missing required field is an error."""
        if key not in obj or obj[key] is None:
            if required:
                self.add(f"missing required field: {key}", path)
            return False
        return True

    def string(
        self,
        obj: dict[str, Any],
        key: str,
        path: str,
        max_len: int,
        *,
        required: bool = False,
        min_len: int = 0,
    ) -> None:
        if not self.given(obj, key, path, required=required):
            return
        value = obj[key]
        if not isinstance(value, str):
            self.add("must be a string", f"{path}/{key}")
            return
        if len(value) > max_len:
            self.add(f"must be less than {max_len + 1} characters", f"{path}/{key}")
        if len(value) < min_len:
            self.add(f"must be more than {min_len - 1} characters", f"{path}/{key}")

    def text(
        self,
        obj: dict[str, Any],
        key: str,
        path: str,
        max_len: int,
        *,
        required: bool = False,
        plain_only: bool = False,
    ) -> None:
        """Validate a text composition object at ``obj[key]``."""
        if not self.given(obj, key, path, required=required):
            return
        self.text_object(obj[key], f"{path}/{key}", max_len, plain_only=plain_only)

    def text_object(self, value: Any, here: str, max_len: int, *, plain_only: bool) -> None:
        """Validate one text composition object."""
        if not isinstance(value, dict):
            self.add("must provide an object", here)
            return
        kind = value.get("type")
        allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
        if kind not in allowed:
            if kind in ("plain_text", "mrkdwn"):
                self.add("must be a plain_text object", f"{here}/type")
            else:
                self.add(f"unsupported type: {kind}", f"{here}/type")
            return
        self.string(value, "text", here, max_len, required=True, min_len=1)

    def items(
        self, obj: dict[str, Any], key: str, path: str, max_items: int, *, min_items: int = 0
    ) -> list[Any]:
        value = obj.get(key)
        if value is None:
            if min_items:
                self.add(f"missing required field: {key}", path)
            return []
        here = f"{path}/{key}"
        if not isinstance(value, list):
            self.add("must provide an array", here)
            return []
        if len(value) > max_items:
            self.add(f"no more than {max_items} items allowed", here)
        if len(value) < min_items:
            self.add(f"must provide at least {min_items} items", here)
        return value

    # -- composition objects ----------------------------------------------

    def option(self, opt: Any, path: str, *, mrkdwn_ok: bool) -> None:
        if not isinstance(opt, dict):
            self.add("must provide an object", path)
            return
        self.text(opt, "text", path, 75, required=True, plain_only=not mrkdwn_ok)
        self.string(opt, "value", path, 150, required=True)
        self.text(opt, "description", path, 75, plain_only=not mrkdwn_ok)
        self.string(opt, "url", path, 3000)

    def options(
        self, el: dict[str, Any], path: str, *, max_items: int, min_items: int, mrkdwn_ok: bool
    ) -> None:
        for i, opt in enumerate(self.items(el, "options", path, max_items, min_items=min_items)):
            self.option(opt, f"{path}/options/{i}", mrkdwn_ok=mrkdwn_ok)

    def confirm(self, el: dict[str, Any], path: str) -> None:
        conf = el.get("confirm")
        if conf is None:
            return
        here = f"{path}/confirm"
        if not isinstance(conf, dict):
            self.add("must provide an object", here)
            return
        self.text(conf, "title", here, 100, required=True, plain_only=True)
        self.text(conf, "text", here, 300, required=True)
        self.text(conf, "confirm", here, 30, required=True, plain_only=True)
        self.text(conf, "deny", here, 30, required=True, plain_only=True)

    # -- elements ------------------------------------------------------------

    def element(self, el: Any, path: str, allowed: Container[str]) -> str | None:
        if not isinstance(el, dict):
            self.add("must provide an object", path)
            return None
        kind = el.get("type")
        if kind not in allowed:
            self.add(f"unsupported type: {kind}", f"{path}/type")
            return None
        if kind in ("plain_text", "mrkdwn"):
            self.string(el, "text", path, 3000, required=True, min_len=1)
            return None
        if kind == "image":
            self.string(el, "alt_text", path, 2000, required=True)
            if "image_url" not in el and "slack_file" not in el:
                self.add("missing required field: image_url", path)
            self.string(el, "image_url", path, 3000)
            return None
        self.string(el, "action_id", path, 255)
        self.confirm(el, path)
        if kind in _WITH_PLACEHOLDER:
            self.text(el, "placeholder", path, 150, plain_only=True)
        if kind == "button":
            self.text(el, "text", path, 75, required=True, plain_only=True)
            self.string(el, "value", path, 2000)
            self.string(el, "url", path, 3000)
            style = el.get("style")
            if style is not None and style not in ("primary", "danger"):
                self.add(f"unsupported style: {style}", f"{path}/style")
        elif kind in ("static_select", "multi_static_select"):
            has_opts, has_groups = "options" in el, "option_groups" in el
            if has_opts == has_groups:
                self.add("must provide exactly one of `options` or `option_groups`", path)
            self.options(el, path, max_items=100, min_items=0, mrkdwn_ok=False)
            for g, group in enumerate(self.items(el, "option_groups", path, 100)):
                gpath = f"{path}/option_groups/{g}"
                if not isinstance(group, dict):
                    self.add("must provide an object", gpath)
                    continue
                self.text(group, "label", gpath, 75, required=True, plain_only=True)
                self.options(group, gpath, max_items=100, min_items=1, mrkdwn_ok=False)
        elif kind == "overflow":
            self.options(el, path, max_items=5, min_items=1, mrkdwn_ok=False)
        elif kind in ("checkboxes", "radio_buttons"):
            self.options(el, path, max_items=10, min_items=1, mrkdwn_ok=True)
        elif kind == "plain_text_input":
            self.string(el, "initial_value", path, 3000)
            max_length = el.get("max_length")
            if isinstance(max_length, int) and not 1 <= max_length <= 3000:
                self.add("must be between 1 and 3000", f"{path}/max_length")
        elif kind == "workflow_button":
            self.text(el, "text", path, 75, required=True, plain_only=True)
        return str(kind)

    def unique_action_ids(self, elements: list[Any], path: str) -> None:
        seen: set[str] = set()
        for i, el in enumerate(elements):
            action_id = el.get("action_id") if isinstance(el, dict) else None
            if isinstance(action_id, str):
                if action_id in seen:
                    self.add("action_id must be unique within a block", f"{path}/{i}/action_id")
                seen.add(action_id)

    # -- blocks ------------------------------------------------------------

    def block(self, block: Any, path: str, surface: str) -> None:
        if not isinstance(block, dict):
            self.add("must provide an object", path)
            return
        kind = block.get("type")
        if kind not in BLOCK_TYPES[surface]:
            self.add(f"unsupported type: {kind}", f"{path}/type")
            return
        self.string(block, "block_id", path, 255, min_len=1)
        if kind == "section":
            if block.get("text") is None and block.get("fields") is None:
                self.add("must define either `text` or `fields`", f"{path}/type")
            self.text(block, "text", path, 3000)
            for i, field in enumerate(self.items(block, "fields", path, 10)):
                self.text_object(field, f"{path}/fields/{i}", 2000, plain_only=False)
            if block.get("accessory") is not None:
                self.element(block["accessory"], f"{path}/accessory", ACCESSORY_TYPES)
        elif kind == "header":
            self.text(block, "text", path, 150, required=True, plain_only=True)
        elif kind == "context":
            elements = self.items(block, "elements", path, 10, min_items=1)
            for i, el in enumerate(elements):
                self.element(el, f"{path}/elements/{i}", CONTEXT_TYPES)
        elif kind == "actions":
            elements = self.items(block, "elements", path, 25, min_items=1)
            for i, el in enumerate(elements):
                self.element(el, f"{path}/elements/{i}", ACTIONS_TYPES)
            self.unique_action_ids(elements, f"{path}/elements")
        elif kind == "input":
            self.text(block, "label", path, 2000, required=True, plain_only=True)
            self.text(block, "hint", path, 2000, plain_only=True)
            if block.get("element") is None:
                self.add("missing required field: element", path)
            else:
                self.element(block["element"], f"{path}/element", INPUT_TYPES)
        elif kind == "image":
            self.element({**block, "type": "image"}, path, {"image"})
            self.text(block, "title", path, 2000, plain_only=True)
        elif kind == "markdown":
            self.string(block, "text", path, 12000, required=True, min_len=1)


def _sdk_errors(block: dict[str, Any], path: str) -> list[str]:
    """Run slack_sdk's model validators over one block."""
    try:
        parsed = Block.parse(copy.deepcopy(block))
        if parsed is not None:
            parsed.to_dict()
    except SlackObjectFormationError as exc:
        return [f"{exc} {_ptr(path)}"]
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return [f"invalid block ({exc}) {_ptr(path)}"]
    return []


def _check_blocks(walker: _Walker, blocks: Any, prefix: str, surface: str) -> None:
    if not isinstance(blocks, list):
        walker.add("must provide an array", prefix)
        return
    if len(blocks) > MAX_BLOCKS[surface]:
        walker.add(f"no more than {MAX_BLOCKS[surface]} items allowed", prefix)
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        path = f"{prefix}/{i}"
        before = len(walker.errors)
        walker.block(block, path, surface)
        if not isinstance(block, dict):
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen_ids:
                walker.add("block_id must be unique", f"{path}/block_id")
            seen_ids.add(block_id)
        if len(walker.errors) == before:
            walker.errors.extend(_sdk_errors(block, path))


def parse_json_arg(value: Any) -> Any:
    """Decode a JSON-encoded string argument (as form posts send them)."""
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


def validate_blocks(blocks: Any, surface: Surface = "message") -> list[str]:
    """Validate a list of blocks for a surface; returns Slack-style error strings."""
    if surface not in MAX_BLOCKS:
        raise ValueError(f"unknown surface: {surface}")
    walker = _Walker()
    _check_blocks(walker, blocks, "/blocks", surface)
    return walker.errors


def validate_view(view: Any, prefix: str = "/view") -> list[str]:
    """Validate a modal or Home tab view object; returns Slack-style error strings."""
    walker = _Walker()
    if not isinstance(view, dict):
        walker.add("must provide an object", prefix)
        return walker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        walker.add(f"unsupported type: {kind}", f"{prefix}/type")
        return walker.errors
    if kind == "modal":
        walker.text(view, "title", prefix, 24, required=True, plain_only=True)
        walker.text(view, "submit", prefix, 24, plain_only=True)
        walker.text(view, "close", prefix, 24, plain_only=True)
    else:
        walker.text(view, "title", prefix, 24, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                walker.add(f"home views cannot have `{key}`", f"{prefix}/{key}")
    walker.string(view, "private_metadata", prefix, 3000)
    walker.string(view, "callback_id", prefix, 255)
    walker.string(view, "external_id", prefix, 255)
    blocks = view.get("blocks")
    if blocks is None:
        walker.add("missing required field: blocks", prefix)
        return walker.errors
    _check_blocks(walker, blocks, f"{prefix}/blocks", kind)
    if kind == "modal" and view.get("submit") is None and isinstance(blocks, list):
        for i, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "input":
                walker.add(
                    "must define `submit` to use an `input` block in modals",
                    f"{prefix}/blocks/{i}/input",
                )
                break
    if not walker.errors:
        walker.errors.extend(_sdk_view_errors(view, prefix))
    return walker.errors


def _sdk_view_errors(view: dict[str, Any], prefix: str) -> list[str]:
    keys = ("type", "title", "submit", "close", "private_metadata", "callback_id", "blocks")
    fields = {k: view.get(k) for k in keys}
    try:
        View(**copy.deepcopy(fields)).to_dict()  # type: ignore[arg-type]
    except SlackObjectFormationError as exc:
        return [f"{exc} {_ptr(prefix)}"]
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return [f"invalid view ({exc}) {_ptr(prefix)}"]
    return []


def error_response(error: str, errors: list[str], *, with_errors: bool = True) -> dict[str, Any]:
    """The body Slack returns for a refused Block Kit payload."""
    body: dict[str, Any] = {"ok": False, "error": error}
    if with_errors:
        body["errors"] = list(errors)
    body["response_metadata"] = {"messages": [f"[ERROR] {e}" for e in errors]}
    return body
