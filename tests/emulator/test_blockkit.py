"""The Block Kit validator on its own (the app's builder tests call it too)."""

from __future__ import annotations

from typing import Any

import pytest

from slack_emulator import validate_blocks, validate_view
from tests.support.blocks import button, modal, option, section


def test_a_realistic_message_is_valid() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Weekly check-in"}},
        section("*How honest was your forecast?*"),
        {
            "type": "actions",
            "block_id": "q1",
            "elements": [button(str(i), str(i), f"score_{i}") for i in range(1, 6)],
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "Pick one"},
            "accessory": {
                "type": "static_select",
                "action_id": "pick",
                "placeholder": {"type": "plain_text", "text": "Choose"},
                "options": [option("A", "a"), option("B", "b")],
            },
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Anonymous"}]},
        {"type": "divider"},
    ]
    assert validate_blocks(blocks) == []


def test_a_realistic_modal_is_valid() -> None:
    assert validate_view(modal()) == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        (
            [section("x" * 3001)],
            "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "actions", "elements": [button(text="b" * 76)]}],
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            [{"type": "actions", "elements": [button(value="v" * 2001)]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "static_select",
                            "action_id": "s",
                            "options": [option(text="o" * 76)],
                        }
                    ],
                }
            ],
            "must be less than 76 characters "
            "[json-pointer:/blocks/0/elements/0/options/0/text/text]",
        ),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "static_select",
                            "action_id": "s",
                            "options": [option(value="v" * 151)],
                        }
                    ],
                }
            ],
            "must be less than 151 characters [json-pointer:/blocks/0/elements/0/options/0/value]",
        ),
        (
            [{"type": "actions", "elements": [button(action_id="a" * 256)]}],
            "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
        ),
        (
            [{**section(), "block_id": "b" * 256}],
            "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        ),
        ([{"type": "sections"}], "unsupported type: sections [json-pointer:/blocks/0/type]"),
        (
            [{"type": "actions", "elements": [{"type": "buton", "action_id": "x"}]}],
            "unsupported type: buton [json-pointer:/blocks/0/elements/0/type]",
        ),
        (
            [{"type": "section"}],
            "must define either `text` or `fields` [json-pointer:/blocks/0/type]",
        ),
        (
            [section("")],
            "must be more than 0 characters [json-pointer:/blocks/0/text/text]",
        ),
        ([section()] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
        (
            [{**section(), "block_id": "same"}, {**section(), "block_id": "same"}],
            "block_id must be unique [json-pointer:/blocks/1/block_id]",
        ),
        (
            [{"type": "actions", "elements": [button(action_id="a"), button(action_id="a")]}],
            "action_id must be unique within a block [json-pointer:/blocks/0/elements/1/action_id]",
        ),
    ],
)
def test_message_limits(blocks: list[dict[str, Any]], expected: str) -> None:
    assert expected in validate_blocks(blocks)


def test_surfaces_accept_different_block_types_and_counts() -> None:
    assert validate_blocks([section()] * 100, surface="modal") == []
    assert validate_blocks([section()] * 100, surface="home") == []
    assert validate_blocks([section()] * 101, surface="home") == [
        "no more than 100 items allowed [json-pointer:/blocks]"
    ]
    markdown = [{"type": "markdown", "text": "**bold**"}]
    assert validate_blocks(markdown, surface="message") == []
    assert validate_blocks(markdown, surface="modal") == [
        "unsupported type: markdown [json-pointer:/blocks/0/type]"
    ]


def test_not_a_list() -> None:
    assert validate_blocks({"type": "section"}) == ["must provide an array [json-pointer:/blocks]"]


def test_slack_sdk_validators_run_too() -> None:
    # Only slack_sdk's DatePickerElement checks the date format.
    bad_date = {
        "type": "actions",
        "elements": [{"type": "datepicker", "action_id": "d", "initial_date": "28/11/2026"}],
    }
    [error] = validate_blocks([bad_date])
    assert "initial_date" in error
    assert error.endswith("[json-pointer:/blocks/0]")


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (
            modal(title={"type": "plain_text", "text": "t" * 25}),
            "must be less than 25 characters [json-pointer:/view/title/text]",
        ),
        (
            modal(submit={"type": "plain_text", "text": "s" * 25}),
            "must be less than 25 characters [json-pointer:/view/submit/text]",
        ),
        (
            modal(close={"type": "plain_text", "text": "c" * 25}),
            "must be less than 25 characters [json-pointer:/view/close/text]",
        ),
        (modal(title=None), "missing required field: title [json-pointer:/view]"),
        (
            modal(submit=None),
            "must define `submit` to use an `input` block in modals "
            "[json-pointer:/view/blocks/0/input]",
        ),
        (
            modal(blocks=[section()] * 101),
            "no more than 100 items allowed [json-pointer:/view/blocks]",
        ),
        (
            modal(private_metadata="m" * 3001),
            "must be less than 3001 characters [json-pointer:/view/private_metadata]",
        ),
        (modal(type="sheet"), "unsupported type: sheet [json-pointer:/view/type]"),
        (
            {"type": "home", "blocks": [section()], "submit": {"type": "plain_text", "text": "x"}},
            "home views cannot have `submit` [json-pointer:/view/submit]",
        ),
    ],
)
def test_view_limits(view: dict[str, Any], expected: str) -> None:
    assert expected in validate_view(view)


def test_checkbox_options_may_be_mrkdwn_but_buttons_may_not() -> None:
    checkbox = {
        "type": "actions",
        "elements": [
            {
                "type": "checkboxes",
                "action_id": "c",
                "options": [{"text": {"type": "mrkdwn", "text": "*yes*"}, "value": "y"}],
            }
        ],
    }
    assert validate_blocks([checkbox]) == []
    mrkdwn_button = {
        "type": "actions",
        "elements": [{**button(), "text": {"type": "mrkdwn", "text": "*Yes*"}}],
    }
    assert validate_blocks([mrkdwn_button]) == [
        "must be a plain_text object [json-pointer:/blocks/0/elements/0/text/type]"
    ]


def test_unknown_surface_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown surface"):
        validate_blocks([], surface="canvas")  # type: ignore[arg-type]
