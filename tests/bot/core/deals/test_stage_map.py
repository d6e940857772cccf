"""``/trust stages``: an admin says what a CRM stage means when its name cannot tell, and the
deal rules read it so."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.core import deals
from bot.core.deals import stage_map
from bot.core.prompts import DealChange, MomentKey
from bot.core.trust.commands import Caller, Reply
from bot.core.trust.grammar import Command, CommandError
from bot.core.trust.registry import execute, parse
from bot.core.untrusted import unmarked
from bot.runtime import Runtime
from bot.storage.models import AuditLog, StageMapping
from tests.support.deals import WS, accept, no_lookup, nudges, update

ADMIN = Caller(WS, "UADMIN", is_admin=True)
USAGE = "/trust stages [map <crm> <stage> <moment> | unmap <crm> <stage>]"


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("stages", {"action": "show"}),
        ("STAGES show", {"action": "show"}),
        (
            "stages map salesforce Technical Win evaluation",
            {
                "action": "map",
                "pipeline": "salesforce",
                "stage": "Technical Win",
                "moment": "evaluation",
            },
        ),
        (
            'stages map all "Closed – Gone Dark" no_decision',
            {
                "action": "map",
                "pipeline": "all",
                "stage": "Closed – Gone Dark",
                "moment": "no_decision",
            },
        ),
        (
            "stages unmap hubspot 1234567",
            {"action": "unmap", "pipeline": "hubspot", "stage": "1234567"},
        ),
    ],
)
def test_the_grammar_takes_stage_names_with_spaces(text: str, args: dict[str, str]) -> None:
    assert parse(text) == Command("stages", args)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("stages rename a b", "not show, map or unmap"),
        ("stages map salesforce evaluation", "Name the CRM, the stage and what it means"),
        ("stages unmap salesforce", "Name the CRM and the stage"),
        ("stages show everything", "didn't expect"),
    ],
)
def test_a_bad_stages_command_says_what_is_missing(text: str, says: str) -> None:
    with pytest.raises(CommandError) as info:
        parse(text)
    assert says in unmarked(info.value.message) and info.value.usage == USAGE


async def run(runtime: Runtime, text: str, caller: Caller = ADMIN) -> Reply:
    reply = await execute(runtime, caller, parse(text))
    assert isinstance(reply, Reply)
    return reply


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("stages map pipedrive Won evaluation", "The CRM is one of all, salesforce"),
        ("stages map salesforce Technical Win maybe", "What a stage means is one of"),
        ("stages map salesforce ' ' evaluation", "The stage name is empty"),
        ("stages map salesforce '--' evaluation", "at least one letter or digit"),
        ("stages map salesforce Tech\u202ewin evaluation", "invisible characters"),
        (f"stages map salesforce {'x' * 301} evaluation", "at most 300 characters"),
    ],
)
async def test_bad_mappings_are_refused_with_the_reason_and_store_nothing(
    runtime: Runtime, text: str, says: str
) -> None:
    reply = await run(runtime, text)
    assert not reply.ok and says in unmarked(reply.text) and reply.usage == USAGE
    async with runtime.db.session() as s:
        assert (await s.exec(select(StageMapping))).all() == []
        logged = (await s.exec(select(AuditLog.action))).all()
        assert not [a for a in logged if a.startswith("stages")]


async def test_only_admins_map_stages(runtime: Runtime) -> None:
    rep = Caller(WS, "U0LONDON", is_admin=False)
    reply = await run(runtime, "stages map salesforce Technical Win evaluation", rep)
    assert not reply.ok and "for Trustbot admins" in reply.text
    assert await stage_map.listed(runtime, WS) == []


async def test_map_show_and_unmap(runtime: Runtime) -> None:
    assert "No stage mappings" in (await run(runtime, "stages")).text
    said = await run(runtime, "stages map Salesforce technical win evaluation")
    assert said.ok and "*evaluation*" in said.text and "read as won" in said.text  # its guess
    again = await run(runtime, "stages map salesforce 'TECHNICAL-WIN' proposal")  # same stage
    assert again.ok
    await run(runtime, "stages map all Gone Dark no-decision")
    [gone, tech] = await stage_map.listed(runtime, WS)
    assert (gone.pipeline, gone.stage, gone.kind) == (
        "all",
        "Gone Dark",
        deals.StageKind.NO_DECISION,
    )
    assert (tech.pipeline, tech.stage, tech.kind) == ("salesforce", "TECHNICAL-WIN", "proposal")
    shown = unmarked((await run(runtime, "stages")).text)
    assert "salesforce: _TECHNICAL-WIN_ → *proposal*" in shown
    assert (await run(runtime, "stages unmap salesforce technical win")).ok
    missing = await run(runtime, "stages unmap salesforce technical win")
    assert not missing.ok and "no mapping" in missing.text
    async with runtime.db.session() as s:
        logged = (await s.exec(select(AuditLog.action))).all()
        actions = [a for a in logged if a.startswith("stages")]
    assert actions == ["stages.map", "stages.map", "stages.map", "stages.unmap"]


async def test_a_workspace_holds_a_bounded_number_of_mappings(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stage_map, "MAPPINGS_MAX", 2)
    for n in range(2):
        assert (await run(runtime, f"stages map webhook Stage {n} proposal")).ok
    full = await run(runtime, "stages map webhook Stage 9 proposal")
    assert not full.ok and "2 stage mappings already" in full.text


async def moment_of(
    runtime: Runtime, event_id: str, source: str = deals.WEBHOOK, **changes: object
) -> str:
    [stored] = await accept(runtime, update(event_id, **changes), source=source)
    await deals.process_event(runtime, stored, no_lookup)
    delivery = next(d for d in await nudges(runtime) if d.deal_event_id == stored)
    return (await deals.nudge_context(runtime, delivery)).moment


async def test_the_rules_read_a_mapped_stage_as_the_admin_said(runtime: Runtime) -> None:
    move = {
        "change": DealChange.STAGE_CHANGED,
        "from_value": "Qualification",
        "to_value": "Technical Win",
    }
    # by its name alone, "Technical Win" reads as a won deal: the admin knows better
    assert await moment_of(runtime, "e1", deal_id="D-1", **move) == MomentKey.WON
    await run(runtime, "stages map webhook Technical Win negotiation")
    assert await moment_of(runtime, "e2", deal_id="D-2", **move) == MomentKey.NEGOTIATION
    # another CRM's updates are not read by this mapping ...
    assert await moment_of(runtime, "e3", deals.HUBSPOT, deal_id="D-3", **move) == MomentKey.WON
    # ... unless it is mapped for all of them; the CRM's own mapping wins over `all`
    await run(runtime, "stages map all Technical Win proposal")
    assert (
        await moment_of(runtime, "e4", deals.HUBSPOT, deal_id="D-4", **move) == MomentKey.PROPOSAL
    )
    assert await moment_of(runtime, "e5", deal_id="D-5", **move) == MomentKey.NEGOTIATION


async def test_a_mapped_closed_stage_is_never_asked_the_contract_questions(
    runtime: Runtime,
) -> None:
    await run(runtime, "stages map all Gone Dark no_decision")
    moment = await moment_of(
        runtime,
        "e1",
        change=DealChange.STAGE_CHANGED,
        from_value="Negotiation",
        to_value="gone dark",
    )
    assert moment == MomentKey.NO_DECISION


async def test_a_stage_mapped_early_before_contact_still_waits(runtime: Runtime) -> None:
    """Mapping a stage early makes it early; the planner reads the mapping too, so a new
    deal created at "Sourced" is asked at once (it is not a pre-contact name)."""
    await run(runtime, "stages map webhook Sourced early")
    [created] = await accept(
        runtime, update("e1", change=DealChange.CREATED, from_value=None, to_value="Sourced")
    )
    assert await deals.process_event(runtime, created, no_lookup) == deals.NUDGED
    await run(runtime, "stages map webhook Lead Received evaluation")
    [lead] = await accept(
        runtime,
        update(
            "e2",
            deal_id="D-9",
            change=DealChange.CREATED,
            from_value=None,
            to_value="Lead Received",
        ),
    )
    # "lead" is a pre-contact word, but the admin said this stage is past evaluation
    assert await deals.process_event(runtime, lead, no_lookup) == deals.NUDGED
