"""Interactive payloads through the running app: block_actions and view_submission with
missing fields, wrong types, huge values, unknown action ids and forged values.

The answer is never a 500 (a malformed payload is a 400, an unknown action a 404), the app
logs no traceback, the user who clicked is told what was wrong, and nothing is stored from a
refused input."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from sqlalchemy import text as text_sql
from sqlmodel import Session, select

from bot.core.prompts import default_bank
from bot.slack.kit.checkin import NOTE_BLOCK, SHARE_BLOCK
from bot.storage.models import Person
from slack_emulator import payloads
from slack_emulator.delivery import slack_signature
from tests.fuzz.conftest import ADMIN, CHANNEL, OTHER, REP, FuzzApp
from tests.support.stack import SIGNING_SECRET, WEBHOOK_SECRET, trust
from tests.support.strategies import any_text, fuzz, huge_text, json_values, paths, tricky_text
from tests.support.waiting import wait_for

SETUP_BLOCKS = {"name", "channel", "reps", "managers", "day", "time", "k", "paused"}


@dataclass
class Targets:
    """What the app sent that a payload can refer to."""

    round_id: int
    checkin: dict[str, Any]  # REP's check-in DM
    nudge_id: int
    nudge: dict[str, Any]  # REP's nudge DM
    note_view: dict[str, Any]  # the note modal opened for REP
    setup_view: dict[str, Any]  # the setup modal opened for ADMIN
    round_prompts: list[str]
    nudge_prompts: list[str]


def _dm(app: FuzzApp, user: str, words: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        found = [m for m in app.emulator.dm_messages(user) if words in str(m.get("blocks"))]
        return found[-1] if found else None

    message = wait_for(find)
    return {**message, "channel": message.get("channel") or app.emulator.dm_channel_id(user)}


def _refs(message: dict[str, Any], prefix: str) -> tuple[int, list[str]]:
    """(the id every answer value carries, the prompt ids) of a check-in or nudge DM."""
    refs, prompts = set(), []
    for block in message["blocks"]:
        for element in block.get("elements") or []:
            action_id = str(element.get("action_id", ""))
            if action_id.startswith(prefix):
                prompts.append(action_id.split(":")[1])
                values = [element.get("value")] + [o["value"] for o in element.get("options", [])]
                refs |= {int(str(v).split("|")[0]) for v in values if v}
    (ref,) = refs
    return ref, list(dict.fromkeys(prompts))


@pytest.fixture(scope="module")
def targets(fuzz_app: FuzzApp) -> Targets:
    """A check-in sent to REP and OTHER, a new-deal nudge sent to REP, the note modal open
    for REP and the setup modal open for ADMIN: all through the real app."""
    app = fuzz_app
    assert "Sending this week's check-in" in trust(app.stack, "checkin sales now")
    body = json.dumps(
        {
            "event_id": "fuzz-deal-1",
            "deal_id": "D-1",
            "deal_name": "Acme renewal",
            "rep": {"slack_user_id": REP},
            "change": "created",
            "occurred_at": "2026-11-23T14:00:00Z",
        }
    ).encode()
    ts = str(int(app.clock.time()))
    reply = httpx.post(
        f"{app.url}/webhooks/deals",
        content=body,
        headers={
            "X-Trustbot-Request-Timestamp": ts,
            "X-Trustbot-Signature": slack_signature(WEBHOOK_SECRET, ts, body),
        },
    )
    assert reply.status_code == 202, reply.text
    checkin = _dm(app, REP, "Weekly trust check-in")  # the outbox sends all three at once
    _dm(app, OTHER, "Weekly trust check-in")
    nudge = _dm(app, REP, default_bank().moment("created").title)
    assert app.emulator.send_click(REP, "checkin.note", message=checkin).ok
    note_view = wait_for(lambda: app.emulator.views_opened(REP))[-1]
    assert app.emulator.send_command("/trust", "setup", user_id=ADMIN, channel_id=CHANNEL).ok
    setup_view = wait_for(
        lambda: [v for v in app.emulator.views_opened(ADMIN) if v["callback_id"] == "setup"]
    )[-1]
    app.settle()
    round_id, round_prompts = _refs(checkin, "checkin.answer:")
    nudge_id, nudge_prompts = _refs(nudge, "nudge.answer:")
    return Targets(
        round_id, checkin, nudge_id, nudge, note_view, setup_view, round_prompts, nudge_prompts
    )


@pytest.fixture
def checked(fuzz_app: FuzzApp) -> Iterator[FuzzApp]:
    """The app; after the test, no logged problem and no Block Kit the emulator refused."""
    yield fuzz_app
    fuzz_app.settle()
    fuzz_app.assert_no_problems()
    assert fuzz_app.emulator.validation_failures == []


@pytest.fixture
def app(checked: FuzzApp, targets: Targets) -> FuzzApp:
    """The checked app, with something sent to click on."""
    return checked


_serial = iter(range(10**9))


def rid() -> str:
    return f"fuzz-{next(_serial)}"


def click_payload(
    app: FuzzApp, user: str, message: dict[str, Any], action: dict[str, Any], trigger: str
) -> dict[str, Any]:
    """The block_actions payload Slack sends for ``action`` on ``message``."""
    return payloads.block_actions_payload(
        app.emulator.state,
        user_id=user,
        actions=[action],
        trigger_id=trigger,
        verification_token=app.emulator.verification_token,
        message=message,
        channel_id=message["channel"],
        response_url=None,
    )


def submission(
    app: FuzzApp, user: str, view: dict[str, Any], values: Any, trigger: str
) -> dict[str, Any]:
    """The view_submission payload Slack sends for ``view`` with ``values``."""
    return payloads.view_payload(
        app.emulator.state,
        kind="view_submission",
        user_id=user,
        view=view,
        values=values,
        verification_token=app.emulator.verification_token,
        trigger_id=trigger,
    )


def warnings_for(app: FuzzApp, user: str) -> list[str]:
    return [str(e.get("text")) for e in app.emulator.ephemerals(user)]


# --------------------------------------------------------------------- forged answers

ref_values = st.one_of(
    st.sampled_from(["0", "-1", "x", "", " ", "²", "٣", "1e3", "9" * 19, "9" * 5000]),
    st.integers(0, 10**6).map(str),
    tricky_text,
)
answer_values = st.one_of(
    st.sampled_from(["yes", "no", "4", " 5 ", "6", "0", "trust_and_value", "maybe", "", "²"]),
    tricky_text,
    huge_text,
)


@st.composite
def forged_answers(draw: st.DrawFn, t: Targets) -> tuple[str, str, dict[str, Any], bool]:
    """(user, message kind, action, the value is a real answer of a real question to a
    check-in or nudge sent to that user): a click as Slack would send it, forged."""
    kind = draw(st.sampled_from(["checkin", "nudge"]))
    user = draw(st.sampled_from([REP, OTHER, ADMIN]))
    own_ref = t.round_id if kind == "checkin" else t.nudge_id
    ref = draw(st.sampled_from([str(own_ref), str(t.round_id), str(t.nudge_id)]) | ref_values)
    own_prompts = t.round_prompts if kind == "checkin" else t.nudge_prompts
    prompt = draw(st.sampled_from(own_prompts + t.round_prompts + t.nudge_prompts) | any_text)
    value = draw(answer_values)
    if draw(st.booleans()):
        action_id = f"{kind}.answer:{prompt}:{value}"
    else:
        action_id = f"{kind}.answer:{prompt}"
    action: dict[str, Any] = {"type": "button", "action_id": action_id, "block_id": f"a|{prompt}"}
    raw = f"{ref}|{value}"
    if draw(st.booleans()):
        action["value"] = raw
    else:
        action["type"] = "static_select"
        action["selected_option"] = {"text": {"type": "plain_text", "text": "x"}, "value": raw}
    bank = default_bank()
    senders = {REP, OTHER} if kind == "checkin" else {REP}
    real = (
        user in senders
        and ref == str(own_ref)
        and prompt in own_prompts
        and bank.has_prompt(prompt)
        and value.strip().lower() in {o.value for o in bank.prompt(prompt).answer.choices()}
    )
    return user, kind, action, real


def test_forged_answers_are_refused_with_a_warning_and_store_nothing(
    app: FuzzApp, targets: Targets
) -> None:
    t = targets
    before = app.counts()

    @fuzz(50)
    @given(forged=forged_answers(t))
    @example(
        forged=(
            OTHER,
            "nudge",
            {"action_id": "nudge.answer:x", "value": f"{t.nudge_id}|yes"},
            False,
        )
    )
    @example(
        forged=(
            ADMIN,
            "checkin",
            {"action_id": f"checkin.answer:{t.round_prompts[1]}", "value": f"{t.round_id}|4"},
            False,
        )
    )
    def one(forged: tuple[str, str, dict[str, Any], bool]) -> None:
        user, kind, action, real = forged
        assume(not real)
        message = t.checkin if kind == "checkin" else t.nudge
        told = len(warnings_for(app, user))
        r = rid()
        reply = app.interact(click_payload(app, user, message, action, r), r, user=user)
        assert reply.status == 200 and not reply.timed_out, reply
        warning = wait_for(lambda: warnings_for(app, user)[told:])[0]
        assert warning.startswith(":warning: ") and len(warning) > 20, warning

    one()
    app.settle()
    assert app.counts() == before, "a forged answer was stored"


# --------------------------------------------------------------------- malformed payloads


def mutate(payload: Any, data: st.DataObject) -> Any:
    """Drop, retype or blow up one part of ``payload`` (maybe the whole of it)."""
    tree = copy.deepcopy(payload)
    path = data.draw(st.sampled_from(paths(tree)), label="path")
    replacement = data.draw(json_values | huge_text | st.just(...), label="replacement")
    if not path:
        return {} if replacement is ... else replacement
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    if replacement is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return tree


def refused_bases(app: FuzzApp, t: Targets) -> list[tuple[str, dict[str, Any]]]:
    """Payloads the app refuses as they are: whatever one part becomes, nothing is stored."""
    scale = t.round_prompts[1]  # the goal question comes first, then scales
    answer = {
        "type": "button",
        "action_id": f"checkin.answer:{scale}:4",
        "block_id": f"a|{scale}",
        "value": f"{t.round_id}|4",
    }
    nudge_prompt = t.nudge_prompts[0]
    nudge_answer = {
        "type": "button",
        "action_id": f"nudge.answer:{nudge_prompt}:yes",
        "block_id": f"a|{nudge_prompt}",
        "value": f"{t.nudge_id}|yes",
    }
    note = {"type": "button", "action_id": "checkin.note", "value": str(t.round_id)}
    pick = {
        "type": "static_select",
        "action_id": "setup.pick",
        "selected_option": {"text": {"type": "plain_text", "text": "sales"}, "value": "sales"},
    }
    note_values = {
        NOTE_BLOCK: {"text": {"type": "plain_text_input", "value": "A forged note"}},
        SHARE_BLOCK: {"shared": {"type": "checkboxes", "selected_options": []}},
    }
    setup_values = {
        "name": {"value": {"type": "plain_text_input", "value": "forged"}},
        "channel": {"value": {"type": "conversations_select", "selected_conversation": CHANNEL}},
        "reps": {"value": {"type": "multi_users_select", "selected_users": [OTHER]}},
        "managers": {"value": {"type": "multi_users_select", "selected_users": []}},
        "day": {"value": {"type": "static_select", "selected_option": {"value": "mon"}}},
        "time": {"value": {"type": "timepicker", "selected_time": "09:00"}},
        "k": {"value": {"type": "number_input", "value": "5"}},
        "paused": {"value": {"type": "checkboxes", "selected_options": []}},
    }
    return [
        (
            "a check-in answer from someone it was not sent to",
            click_payload(app, ADMIN, t.checkin, answer, "t"),
        ),
        ("a nudge answer from someone else", click_payload(app, OTHER, t.nudge, nudge_answer, "t")),
        (
            "the note button of someone else's check-in",
            click_payload(app, ADMIN, t.checkin, note, "t"),
        ),
        (
            "the setup team picker",
            payloads.block_actions_payload(
                app.emulator.state,
                user_id=REP,
                actions=[pick],
                trigger_id="t",
                verification_token=app.emulator.verification_token,
                view=t.setup_view,
            ),
        ),
        (
            "a note for a check-in not sent to the user",
            submission(app, ADMIN, t.note_view, note_values, "t"),
        ),
        ("the setup modal from a non-admin", submission(app, REP, t.setup_view, setup_values, "t")),
    ]


def test_malformed_interactions_never_fail_the_app_and_store_nothing(
    app: FuzzApp, targets: Targets
) -> None:
    bases = refused_bases(app, targets)
    before = app.counts()

    @fuzz(80)
    @given(base=st.sampled_from(range(len(bases))), data=st.data())
    def one(base: int, data: st.DataObject) -> None:
        what, payload = bases[base]
        mutated = mutate(payload, data)
        r = rid()
        if isinstance(mutated, dict):
            mutated["trigger_id"] = r
        is_view = payload["type"] == "view_submission"
        view = None
        if is_view:
            note = payload["view"]["callback_id"] == "checkin.note"
            view = targets.note_view if note else targets.setup_view
        user = payload["user"]["id"]
        reply = app.interact(mutated, r, user=user, view=view)
        assert reply.status in (200, 400, 404) and not reply.timed_out, (what, reply.status)
        if reply.status == 400:
            assert isinstance(reply.body, dict) and reply.body["error"].startswith(
                ("malformed", "the body is not")
            ), reply.body
        if reply.status == 200 and is_view and user != REP:  # REP's setup is refused by DM
            assert isinstance(reply.body, dict) and reply.body.get("response_action") == "errors", (
                what
            )

    one()
    app.settle()
    after = app.counts()
    for counts in (before, after):  # a forged team.id gets a workspace row, as Slack's would
        del counts["workspace"]
    assert after == before, "a refused payload stored something"


# --------------------------------------------------------------------- unknown ids, garbage


def test_unknown_action_ids_and_callback_ids_are_not_errors(app: FuzzApp, targets: Targets) -> None:
    before = app.counts()

    @fuzz(40)
    @given(name=any_text | huge_text, view=st.booleans())
    def one(name: str, view: bool) -> None:
        assume(name and not name.startswith(("checkin.", "nudge.", "setup", "home.", "privacy.")))
        r = rid()
        if view:
            payload = submission(app, REP, {**targets.note_view, "callback_id": name}, {}, r)
            reply = app.interact(payload, r, view=targets.note_view)
        else:
            action = {"type": "button", "action_id": name, "value": name}
            reply = app.interact(click_payload(app, REP, targets.checkin, action, r), r)
        assert reply.status == 404 and not reply.timed_out, reply.status

    one()
    assert app.counts() == before


def test_garbage_at_the_slack_url_is_400_or_401(checked: FuzzApp) -> None:
    app = checked
    before = app.counts()
    url = f"{app.url}/slack/events"
    http = httpx.Client()

    @fuzz(60)
    @given(
        body=st.binary(max_size=300)
        | json_values.map(json.dumps).map(str.encode)
        | any_text.map(lambda s: ("payload=" + s).encode()),
        signed=st.sampled_from(["no", "yes", "stale", "wrong"]),
        content_type=st.sampled_from(
            ["application/x-www-form-urlencoded", "application/json", "text/plain", ""]
        ),
    )
    def one(body: bytes, signed: str, content_type: str) -> None:
        headers = {"Content-Type": content_type, "X-Request-Id": rid()}
        ts = str(int(time.time()) - (600 if signed == "stale" else 0))
        if signed != "no":
            secret = "wrong-secret" if signed == "wrong" else SIGNING_SECRET
            mac = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
            headers |= {
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": "v0=" + mac.hexdigest(),
            }
        reply = http.post(url, content=body, headers=headers)
        allowed = (200, 400, 401, 404) if signed == "yes" else (400, 401)
        assert reply.status_code in allowed, (reply.status_code, reply.text, body[:100])

    with http:
        one()
    assert app.counts() == before


# --------------------------------------------------------------------- hostile values

numbers = st.sampled_from(["5", "3", "1000", "2", "1001", "²", "٣", "𝟘", "-4", "4.5", "9" * 5000])
note_texts = any_text | huge_text | st.sampled_from(["", "   ", "\n\t", "x" * 3000, "x" * 3001])


def note_rows(app: FuzzApp, round_id: int) -> list[tuple[str, bool]]:
    """The notes of the round's week (a person writes one check-in note a week)."""
    with app.engine.connect() as conn:
        (period,) = conn.execute(
            text_sql("SELECT period_start FROM checkinround WHERE id = :r"), {"r": round_id}
        ).one()
        rows = conn.execute(
            text_sql("SELECT text, shared FROM note WHERE context = :c"),
            {"c": f"checkin:{str(period)[:10]}"},
        )
        return [(str(t), bool(s)) for t, s in rows]


def test_any_note_is_saved_as_typed_or_refused_in_the_modal(app: FuzzApp, targets: Targets) -> None:
    t = targets

    @fuzz(40)
    @given(typed=note_texts, shared=st.booleans())
    @example(typed="\x00 a NUL and a \u202e", shared=True)
    def one(typed: str, shared: bool) -> None:
        before = note_rows(app, t.round_id)
        option = {"text": {"type": "plain_text", "text": "Share"}, "value": "shared"}
        values = {
            NOTE_BLOCK: {"text": {"type": "plain_text_input", "value": typed}},
            SHARE_BLOCK: {"shared": {"type": "checkboxes", "selected_options": [option] * shared}},
        }
        r = rid()
        reply = app.interact(submission(app, REP, t.note_view, values, r), r, view=t.note_view)
        assert reply.status == 200 and not reply.timed_out, reply.status
        body = typed.strip()
        if not body or len(body) > 3000:
            assert isinstance(reply.body, dict) and reply.body["response_action"] == "errors"
            (message,) = reply.body["errors"].values()
            assert ("Write something" in message) if not body else ("3000" in message)
            assert note_rows(app, t.round_id) == before
        else:
            assert not reply.body, reply.body
            assert note_rows(app, t.round_id) == [(body, shared)]

    one()


def saved_notices(app: FuzzApp) -> list[dict[str, Any]]:
    return [m for m in app.emulator.dm_messages(ADMIN) if "` saved: " in str(m.get("text"))]


def refusals(app: FuzzApp, user: str) -> list[dict[str, Any]]:
    return [m for m in app.emulator.dm_messages(user) if "Only Trustbot admins" in str(m)]


def test_any_setup_modal_is_saved_or_each_field_is_named(app: FuzzApp, targets: Targets) -> None:
    t = targets
    names = st.sampled_from(["north", "EMEA-2", "a" * 80, "a" * 81, "two words", "<@U1>"])
    users = st.lists(st.sampled_from([REP, OTHER, ADMIN]) | any_text, max_size=3)

    @fuzz(40)
    @given(
        name=names | any_text | huge_text,
        channel=st.sampled_from([CHANNEL, "", "C0NOPE"]) | st.none() | any_text,
        reps=users,
        day=st.sampled_from(["mon", "sun", "Mon", "funday", ""]) | st.none() | any_text,
        at=st.sampled_from(["09:00", "23:59", "24:00", "9:5", ""]) | st.none() | any_text,
        k=numbers | any_text | st.none(),
        user=st.sampled_from([ADMIN, REP]),
    )
    @example(name="north", channel=CHANNEL, reps=[], day="mon", at="09:00", k="²", user=ADMIN)
    @example(name="north", channel=CHANNEL, reps=[OTHER], day="mon", at="09:00", k="5", user=ADMIN)
    @example(name="south", channel=CHANNEL, reps=[], day="sun", at="23:59", k="3", user=REP)
    def one(
        name: str,
        channel: str | None,
        reps: list[str],
        day: str | None,
        at: str | None,
        k: str | None,
        user: str,
    ) -> None:
        assume(name.strip().lower() != "sales")  # leave the fixture's team alone
        values = {
            "name": {"value": {"type": "plain_text_input", "value": name}},
            "channel": {
                "value": {"type": "conversations_select", "selected_conversation": channel}
            },
            "reps": {"value": {"type": "multi_users_select", "selected_users": reps}},
            "managers": {"value": {"type": "multi_users_select", "selected_users": []}},
            "day": {
                "value": {
                    "type": "static_select",
                    "selected_option": None if day is None else {"value": day},
                }
            },
            "time": {"value": {"type": "timepicker", "selected_time": at}},
            "k": {"value": {"type": "number_input", "value": k}},
            "paused": {"value": {"type": "checkboxes", "selected_options": []}},
        }
        before, notices, refused = app.counts(), len(saved_notices(app)), len(refusals(app, user))
        r = rid()
        reply = app.interact(
            submission(app, user, t.setup_view, values, r), r, user=user, view=t.setup_view
        )
        assert reply.status == 200 and not reply.timed_out, reply.status
        if reply.body:
            assert isinstance(reply.body, dict) and reply.body["response_action"] == "errors"
            assert reply.body["errors"] and set(reply.body["errors"]) <= SETUP_BLOCKS
            assert all(isinstance(m, str) and m for m in reply.body["errors"].values())
            assert app.counts() == before, "a refused setup changed the database"
        elif user != ADMIN:  # acked first (no users.info before the ack), then refused by DM
            wait_for(lambda: len(refusals(app, user)) > refused)
            assert app.counts() == before, "a non-admin's setup changed the database"
        else:
            wait_for(lambda: len(saved_notices(app)) > notices)  # the listener's last step
            with app.engine.connect() as conn:
                saved = conn.execute(
                    text_sql("SELECT k FROM team WHERE name = :n"), {"n": name.strip()}
                ).scalar_one()
            assert saved == int(str(k))

    one()


def snoozed_until(app: FuzzApp, user: str) -> datetime | None:
    with Session(app.engine) as session:
        person = session.exec(select(Person).where(Person.user_id == user)).first()
        return person.snoozed_until if person else None


def test_any_snooze_choice_snoozes_1_to_90_days_or_nothing(app: FuzzApp, targets: Targets) -> None:
    @fuzz(30)
    @given(value=numbers | any_text | st.sampled_from(["1", "90", "91", "0"]))
    @example(value="²")  # isdigit() but not int(): was a traceback after the ack
    def one(value: str) -> None:
        before, until = app.counts(), snoozed_until(app, OTHER)
        published = len(app.emulator.calls_to("views.publish"))
        action = {
            "type": "static_select",
            "action_id": "home.snooze",
            "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value},
        }
        r = rid()
        payload = payloads.block_actions_payload(
            app.emulator.state,
            user_id=OTHER,
            actions=[action],
            trigger_id=r,
            verification_token=app.emulator.verification_token,
            view={"id": "VHOME", "type": "home", "callback_id": ""},
        )
        reply = app.interact(payload, r, user=OTHER)
        assert reply.status == 200 and not reply.timed_out, reply.status
        wait_for(lambda: len(app.emulator.calls_to("views.publish")) > published)  # Home redrawn
        if value.isdecimal() and len(value) <= 2 and 1 <= int(value) <= 90:
            assert snoozed_until(app, OTHER) == app.clock.now() + timedelta(days=int(value))
        else:
            assert app.counts() == before and snoozed_until(app, OTHER) == until

    one()
