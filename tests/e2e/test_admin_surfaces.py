"""The setup modal, App Home per role, export and forget-me, end to end."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.core.digests import Figures
from bot.core.digests.figures import Notes
from bot.storage.models import Digest, Member, Team
from tests.support.checkin_dm import SCALE, click, note_values, send_checkin
from tests.support.db import dump, in_db, in_session, rows
from tests.support.stack import BOT_TOKEN, Stack, trust
from tests.support.waiting import wait_for


def setup_values(
    name: str,
    channel: str,
    reps: list[str],
    managers: list[str],
    day: str = "wed",
    time_: str = "10:30",
    k: str = "4",
    paused: bool = False,
) -> dict[str, Any]:
    return {
        "name": {"value": {"type": "plain_text_input", "value": name}},
        "channel": {"value": {"type": "conversations_select", "selected_conversation": channel}},
        "reps": {"value": {"type": "multi_users_select", "selected_users": reps}},
        "managers": {"value": {"type": "multi_users_select", "selected_users": managers}},
        "day": {"value": {"type": "static_select", "selected_option": {"value": day}}},
        "time": {"value": {"type": "timepicker", "selected_time": time_}},
        "k": {"value": {"type": "number_input", "value": k}},
        "paused": {
            "value": {
                "type": "checkboxes",
                "selected_options": ([{"value": "paused"}] if paused else []),
            }
        },
    }


def open_setup(stack: Stack, user: str = "U0ADMIN") -> dict[str, Any]:
    emu = stack.emulator
    before = len(emu.views_opened(user))
    reply = emu.send_command("/trust", "setup", user_id=user, channel_id="C0SALES")
    assert reply.status == 200
    return wait_for(lambda: emu.views_opened(user)[before:] and emu.views_opened(user)[-1])


def test_setup_modal_creates_then_edits_a_team(http_stack: Stack) -> None:
    emu = http_stack.emulator
    view = open_setup(http_stack)
    assert view["callback_id"] == "setup"
    bad = emu.send_view_submission("U0ADMIN", view, setup_values("two words", "", [], [], k="2"))
    assert bad.body["response_action"] == "errors"
    assert set(bad.body["errors"]) == {"name", "channel", "k"}
    assert rows(http_stack.database_url, Team) == []
    ok = emu.send_view_submission(
        "U0ADMIN", view, setup_values("west", "C0SALES", ["U0REP1", "U0REP2"], ["U0MGR"])
    )
    assert ok.status == 200 and not ok.body  # acked: the team is saved after the ack
    (team,) = wait_for(lambda: rows(http_stack.database_url, Team))
    assert (team.name, team.checkin_weekday, team.checkin_time, team.k) == ("west", 2, "10:30", 4)
    assert sorted((m.user_id, m.role) for m in rows(http_stack.database_url, Member)) == [
        ("U0MGR", "manager"),
        ("U0REP1", "rep"),
        ("U0REP2", "rep"),
    ]
    wait_for(lambda: any("Team `west` saved" in str(m) for m in emu.dm_messages("U0ADMIN")))
    # edit: pick the team, the modal fills in, drop a rep
    view = open_setup(http_stack)
    emu.send_click("U0ADMIN", "setup.pick", view=view, value="west")
    filled = wait_for(
        lambda: (
            (v := emu.view(view["id"]))
            and v.get("blocks")[1]["element"].get("initial_value") == "west"
            and v
        )
    )
    assert filled["blocks"][3]["element"]["initial_users"] == ["U0REP1", "U0REP2"]
    emu.send_view_submission(
        "U0ADMIN",
        filled,
        setup_values("west", "C0SALES", ["U0REP1"], ["U0MGR"], day="mon", paused=True),
    )
    wait_for(lambda: rows(http_stack.database_url, Team)[0].paused)  # saved after the ack
    assert sorted(m.user_id for m in rows(http_stack.database_url, Member)) == ["U0MGR", "U0REP1"]
    assert rows(http_stack.database_url, Team)[0].checkin_weekday == 0
    assert rows(http_stack.database_url, Team)[0].paused is True


def test_setup_is_for_admins_only(http_stack: Stack) -> None:
    assert "not one" in trust(http_stack, "setup", user="U0REP1")
    assert http_stack.emulator.views_opened("U0REP1") == []


def test_app_home_per_role(http_stack: Stack) -> None:
    emu = http_stack.emulator
    trust(http_stack, "team create west <#C0SALES>")
    trust(http_stack, "team add west <@U0REP1>")
    trust(http_stack, "team manager west <@U0MGR>")

    def home(user: str, event_id: str) -> str:
        count = len(emu.views_published(user))
        emu.send_event({"type": "app_home_opened", "user": user, "tab": "home"}, event_id=event_id)
        return str(
            wait_for(lambda: emu.views_published(user)[count:] and emu.views_published(user)[-1])
        )

    rep = home("U0REP1", "EvH1")
    assert "Your check-ins" in rep and "Snooze check-ins" in rep and "Admin" not in rep
    manager = home("U0MGR", "EvH2")
    assert "Your teams' digests" in manager and "Your check-ins" not in manager
    admin = home("U0ADMIN", "EvH3")
    assert "*west*" in admin and "1 reps, 1 managers" in admin
    # buttons on the rep's Home: snooze, opt out, opt back in
    view = emu.home_view("U0REP1")
    emu.send_click("U0REP1", "home.snooze", view=view, value="7")
    wait_for(lambda: "Snoozed until" in str(emu.home_view("U0REP1")))
    emu.send_click("U0REP1", "home.optout", view=emu.home_view("U0REP1"))
    wait_for(lambda: "You have opted out" in str(emu.home_view("U0REP1")))
    emu.send_click("U0REP1", "home.optin", view=emu.home_view("U0REP1"))
    wait_for(lambda: "Opt out" in str(emu.home_view("U0REP1")))


def test_export_with_nothing_stored_says_so(http_stack: Stack) -> None:
    assert "nothing to export" in trust(http_stack, "export", user="U0REP1")
    assert http_stack.emulator.files == []


def test_forget_me_asks_first_then_leaves_no_trace(http_stack: Stack) -> None:
    """Nothing about the rep stays: no row, no shared note in a stored or posted digest, and
    none of the DMs Trustbot sent them (issue #15)."""
    emu = http_stack.emulator
    trust(http_stack, "team create west <#C0SALES>")
    trust(http_stack, "team add west <@U0REP1>")
    send_checkin(http_stack)
    click(http_stack, f"checkin.answer:{SCALE}:4")
    click(http_stack, "checkin.note")
    view = wait_for(
        lambda: next(
            (v for v in emu.views_opened("U0REP1") if v.get("callback_id") == "checkin.note"), None
        )
    )
    note = "My shared thought about our pricing"
    assert emu.send_view_submission("U0REP1", view, note_values(note, shared=True)).ok
    team = next(t for t in rows(http_stack.database_url, Team) if t.name == "west")
    week = date(2026, 11, 16)
    figures = Figures(
        period_start=week,
        period_end=week + timedelta(days=6),
        k=5,
        notes_k=5,
        notes=Notes(texts=[note, "another rep wrote this"]),
    )
    bot = WebClient(token=BOT_TOKEN, base_url=emu.api_url)
    posted = str(bot.chat_postMessage(channel="C0SALES", text="an earlier digest")["ts"])

    async def store_digest(s: Any) -> None:
        s.add(
            Digest(
                workspace_id=team.workspace_id,
                team_id=team.id,
                period_start=week,
                period_end=week + timedelta(days=6),
                figures=figures.stored(),
                channel_id="C0SALES",
                message_ts=posted,
                published_at=datetime.now(UTC),
            )
        )

    in_session(http_stack.database_url, store_digest)
    trust(http_stack, "snooze 3", user="U0REP1")
    assert emu.dm_messages("U0REP1")
    reply = emu.send_command("/trust", "forget-me", user_id="U0REP1", channel_id="C0SALES")
    post = wait_for(lambda: emu.response_url_posts(reply.response_url))[0]
    assert "Delete my data" in str(post.body)
    assert rows(http_stack.database_url, Member) != []  # nothing deleted before the click
    message = {"ts": "1.0", "blocks": post.body["blocks"], "text": post.body["text"]}
    clicked = emu.send_block_action(
        "U0REP1",
        [
            {
                "action_id": "privacy.forget",
                "block_id": "forget",
                "type": "button",
                "value": "forget",
            }
        ],
        message=message,
        channel_id="C0SALES",
    )
    done = wait_for(lambda: emu.response_url_posts(clicked.response_url))[0]
    assert "records about you were deleted" in str(done.body)

    everything = in_db(http_stack.database_url, dump)
    assert "U0REP1" not in everything and note not in everything
    assert "another rep wrote this" in everything  # the others' shared notes stay
    wait_for(lambda: not emu.dm_messages("U0REP1"), "the rep's DMs deleted")
    redrawn = emu.state.get_message("C0SALES", posted)
    assert redrawn is not None and note not in str(redrawn)


def test_export_sends_my_answers_as_a_csv_file(http_stack: Stack) -> None:
    from datetime import date

    from bot.runtime.pseudonyms import Pseudonyms
    from bot.storage.models import Response
    from tests.support.stack import PSEUDONYM_KEY

    trust(http_stack, "team create west <#C0SALES>")
    (team,) = rows(http_stack.database_url, Team)

    async def seed(s: Any) -> None:
        for user, value in (("U0REP1", "trust_and_value"), ("U0REP2", "quota")):
            s.add(
                Response(
                    workspace_id=team.workspace_id,
                    period_start=date(2026, 11, 23),
                    context="checkin:2026-11-23",
                    pseudonym=Pseudonyms(PSEUDONYM_KEY).weekly(
                        team.workspace_id, user, date(2026, 11, 23)
                    ),
                    prompt_id="goal.trust_or_else",
                    dimension="goal",
                    value=value,
                    score=5,
                )
            )

    in_session(http_stack.database_url, seed)
    assert "Sent you a CSV of your 1 answers" in trust(http_stack, "export", user="U0REP1")
    (file,) = http_stack.emulator.files
    content = file["content"].decode()
    assert "trust_and_value" in content and "quota" not in content
    assert file["channels"] == [http_stack.emulator.dm_channel_id("U0REP1")]


def test_home_is_refreshed_by_self_service_commands(http_stack: Stack) -> None:
    emu = http_stack.emulator
    trust(http_stack, "snooze 2", user="U0REP1")
    wait_for(lambda: "Snoozed until" in str(emu.home_view("U0REP1")))
    trust(http_stack, "optout", user="U0REP1")
    wait_for(lambda: "You have opted out" in str(emu.home_view("U0REP1")))
    me = trust(http_stack, "me", user="U0REP1")
    assert "You have opted out" in me
