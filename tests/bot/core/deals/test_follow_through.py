"""Follow-through from a nudge: what each moment offers, and every click checked before
anything is sent (another rep's nudge, an unknown or closed one, an action not offered)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.core import deals, nudges, teams
from bot.core.answers import AnswerError
from bot.core.deals import follow_through as follow
from bot.core.deals.follow_through import Action, FollowError
from bot.core.prompts import DealChange, MomentKey
from bot.core.trust.commands import Caller, Reply
from bot.core.trust.grammar import Command, CommandError
from bot.core.trust.registry import execute, parse
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.storage.models import Team
from tests.support.deals import LONDON, NEW_YORK, WS, accept, no_lookup, update
from tests.support.deals import nudges as planned


@pytest.mark.parametrize(
    ("moment", "verdict", "channel", "expected"),
    [
        (MomentKey.TOWARD_CONTRACT, None, True, (Action.COMMITMENT,)),
        (MomentKey.TOWARD_CONTRACT, None, False, ()),
        (MomentKey.NEGOTIATION, None, True, (Action.COMMITMENT,)),
        (MomentKey.WON, None, True, (Action.HANDOVER, Action.REFERENCE)),
        (MomentKey.WON, None, False, (Action.REFERENCE,)),
        (MomentKey.CREATED, "stop", True, (Action.QUALIFY_OUT,)),
        (MomentKey.CREATED, "go", True, ()),
        (MomentKey.DISQUALIFIED, None, False, (Action.QUALIFY_OUT,)),
        (MomentKey.LOST, None, True, ()),
        (MomentKey.CLOSE_DATE_PUSHED, None, True, ()),
    ],
)
def test_what_each_moment_offers(
    moment: MomentKey, verdict: str | None, channel: bool, expected: tuple[Action, ...]
) -> None:
    assert follow.offered(moment, verdict, channel) == expected


async def nudge(runtime: Runtime, **changes: object) -> int:
    [event] = await accept(runtime, update("e1", **changes))
    await deals.process_event(runtime, event, no_lookup)
    [row] = await planned(runtime)
    assert row.id is not None
    return row.id


async def with_channel(runtime: Runtime) -> None:
    await teams.update(
        runtime.db, WS, "UADMIN", "sales", runtime.clock, delivery_channel_id="C0DELIVER"
    )


WON = {"change": DealChange.WON, "from_value": "Negotiation", "to_value": "Closed Won"}


async def test_a_reps_own_won_nudge_gives_the_plan(runtime: Runtime) -> None:
    await with_channel(runtime)
    delivery = await nudge(runtime, **WON)
    plan = await follow.check(runtime, WS, LONDON, delivery, "handover", "Go-live 1 March\n")
    assert (plan.action, plan.delivery_channel, plan.words) == (
        Action.HANDOVER,
        "C0DELIVER",
        "Go-live 1 March",
    )
    assert plan.deal_name == "Acme renewal"
    reference = await follow.check(runtime, WS, LONDON, delivery, "reference")
    assert reference.words is None and reference.managers == ()


async def test_forged_and_wrong_clicks_are_refused(runtime: Runtime) -> None:
    delivery = await nudge(runtime, **WON)
    with pytest.raises(AnswerError, match="not sent to you"):
        await follow.check(runtime, WS, NEW_YORK, delivery, "reference")
    with pytest.raises(AnswerError, match="no longer exists"):
        await follow.check(runtime, WS, LONDON, delivery + 99, "reference")
    with pytest.raises(AnswerError, match="no longer exists"):
        await follow.check(runtime, "T0OTHER", LONDON, delivery, "reference")
    with pytest.raises(FollowError, match="does not offer"):
        await follow.check(runtime, WS, LONDON, delivery, "qualify_out")
    with pytest.raises(FollowError, match="does not offer"):
        await follow.check(runtime, WS, LONDON, delivery, "launch_missiles")
    with pytest.raises(FollowError, match="no delivery channel"):
        await follow.check(runtime, WS, LONDON, delivery, "handover", "words")


async def test_the_reps_words_are_checked(runtime: Runtime) -> None:
    await with_channel(runtime)
    delivery = await nudge(runtime, **WON)
    for bad in ("", "  \n ", "\u202e\u200b"):
        with pytest.raises(FollowError, match="Write what you promised"):
            await follow.check(runtime, WS, LONDON, delivery, "handover", bad)
    with pytest.raises(FollowError, match="under 1000"):
        await follow.check(runtime, WS, LONDON, delivery, "handover", "x" * 1001)
    plan = await follow.check(runtime, WS, LONDON, delivery, "handover", "a\u202eb")
    assert plan.words == "ab"  # a bidi override would reorder what follows it


async def test_a_closed_nudge_offers_nothing(runtime: Runtime) -> None:
    delivery = await nudge(runtime, **WON)
    assert isinstance(runtime.clock, ManualClock)
    runtime.clock.advance(timedelta(days=10).total_seconds())
    with pytest.raises(nudges.NudgeClosed):
        await follow.check(runtime, WS, LONDON, delivery, "reference")


async def test_qualify_out_needs_a_manager_other_than_the_rep(runtime: Runtime) -> None:
    delivery = await nudge(
        runtime, change=DealChange.LOST, from_value="Qualification", to_value="Disqualified"
    )
    with pytest.raises(FollowError, match="no manager"):
        await follow.check(runtime, WS, LONDON, delivery, "qualify_out")
    await teams.add_people(
        runtime.db, WS, "UADMIN", "sales", ["U0MGR"], teams.MANAGER, runtime.clock
    )
    plan = await follow.check(runtime, WS, LONDON, delivery, "qualify_out")
    assert plan.managers == ("U0MGR",)
    async with runtime.db.session() as s:
        assert (await s.exec(select(Team))).one().delivery_channel_id is None


def test_the_delivery_command_names_a_channel_or_off() -> None:
    assert parse("delivery sales <#C0DEL|delivery>") == Command(
        "delivery", {"team": "sales", "channel": "C0DEL"}
    )
    assert parse("delivery sales OFF") == Command("delivery", {"team": "sales", "channel": None})
    with pytest.raises(CommandError, match="not a channel"):
        parse("delivery sales delivery")


async def test_the_delivery_command_is_for_admins_and_audited(runtime: Runtime) -> None:
    rep = await execute(runtime, Caller(WS, LONDON, False), parse("delivery sales <#C0DEL>"))
    assert isinstance(rep, Reply) and not rep.ok
    said = await execute(runtime, Caller(WS, "UADMIN", True), parse("delivery sales <#C0DEL>"))
    assert isinstance(said, Reply) and said.ok and "<#C0DEL>" in said.text
    async with runtime.db.session() as s:
        assert (await s.exec(select(Team))).one().delivery_channel_id == "C0DEL"
