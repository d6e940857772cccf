"""An admin's stage mapping per CRM, for the stage names the built-in rules cannot place.

``/trust stages map salesforce "Technical Win" evaluation`` says what a stage means; the rules
(:func:`~bot.core.deals.stages.classify_stage`) then read that name so, over their own guess
but never over what the CRM itself says (Salesforce's ``IsWon``/``IsClosed``). A mapping
belongs to one CRM (``salesforce``, ``hubspot``, ``webhook``, ``slack``: the source of the
updates) or to ``all`` of them; the CRM's own one wins. Stage identifiers are unique across
pipelines within one CRM (a Salesforce stage is one picklist value of the org; a HubSpot
custom pipeline's stages have ids of their own), so one mapping per CRM covers its pipelines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from bot.core import audit
from bot.core.answers import upsert
from bot.core.deals.model import HUBSPOT, SLACK, WEBHOOK
from bot.core.deals.salesforce import SALESFORCE
from bot.core.deals.stages import StageKind, kind_by_name, normalise
from bot.core.untrusted import invisible
from bot.runtime import Runtime
from bot.storage.models import StageMapping

ALL: Final = "all"
PIPELINES: Final = (ALL, SALESFORCE, HUBSPOT, WEBHOOK, SLACK)
"""What a mapping belongs to: every CRM, or the updates of one source."""

MOMENTS: Final[Mapping[str, StageKind]] = {
    "early": StageKind.EARLY,
    "evaluation": StageKind.EVALUATION,
    "proposal": StageKind.PROPOSAL,
    "negotiation": StageKind.NEGOTIATION,
    "contract": StageKind.COMMIT,
    "commit": StageKind.COMMIT,
    "won": StageKind.WON,
    "lost": StageKind.LOST,
    "no_decision": StageKind.NO_DECISION,
    "no-decision": StageKind.NO_DECISION,
    "disqualified": StageKind.DISQUALIFIED,
}
"""The words ``/trust stages map`` takes for what a stage means, and the kind each is."""
SHOWN: Final[Mapping[StageKind, str]] = {
    StageKind.EARLY: "early (seed 000's new-deal questions)",
    StageKind.EVALUATION: "evaluation",
    StageKind.PROPOSAL: "proposal",
    StageKind.NEGOTIATION: "negotiation",
    StageKind.COMMIT: "contract",
    StageKind.WON: "won",
    StageKind.LOST: "lost",
    StageKind.NO_DECISION: "no_decision",
    StageKind.DISQUALIFIED: "disqualified",
}
STAGE_MAX: Final = 300  # DealEvent.to_value's length
MAPPINGS_MAX: Final = 500  # per workspace: a pipeline has tens of stages, not thousands

Overrides = Mapping[str, StageKind]
"""Stage names (as the rules read them) to kinds: what ``route()`` takes."""


class StageMapError(ValueError):
    """A mapping that cannot be stored: the message says what was wrong."""


@dataclass(frozen=True)
class Mapped:
    """One stored mapping, for ``/trust stages``."""

    pipeline: str
    stage: str
    kind: StageKind
    guessed: StageKind  # what the built-in rules read the name as


def check_stage(stage: str) -> str:
    """The stage name, trimmed, or :class:`StageMapError` saying what is wrong with it."""
    name = stage.strip()
    if not name:
        raise StageMapError("The stage name is empty.")
    if len(name) > STAGE_MAX:
        raise StageMapError(f"A stage name is at most {STAGE_MAX} characters.")
    if any(invisible(c) for c in name):
        raise StageMapError("The stage name holds invisible characters: type it plainly.")
    if not normalise(name):
        raise StageMapError("The stage name needs at least one letter or digit.")
    return name


def check_pipeline(pipeline: str) -> str:
    found = pipeline.strip().lower()
    if found not in PIPELINES:
        raise StageMapError(f"The CRM is one of {', '.join(PIPELINES)}.")
    return found


def check_moment(moment: str) -> StageKind:
    found = MOMENTS.get(moment.strip().lower())
    if found is None:
        raise StageMapError(
            f"What a stage means is one of {', '.join(sorted(set(SHOWN.values())))}."
        )
    return found


def _overrides(rows: list[tuple[str, str, str]], source: str) -> dict[str, StageKind]:
    """The overrides for ``source``'s updates from rows ``(pipeline, stage_key, kind)``: the
    source's own over ``all``."""
    found: dict[str, StageKind] = {}
    for pipeline, key, kind in sorted(rows, key=lambda r: r[0] != ALL):  # `all` first
        if pipeline in (ALL, source):
            found[key] = StageKind(kind)
    return found


_TABLE = StageMapping.__table__  # type: ignore[attr-defined]


def overrides_in(connection: Connection, workspace_id: str) -> dict[str, dict[str, StageKind]]:
    """Every source's overrides in the workspace, on the caller's connection (the planner)."""
    rows = [
        (p, k, kind)
        for p, k, kind in connection.execute(
            sa_select(_TABLE.c.pipeline, _TABLE.c.stage_key, _TABLE.c.kind).where(
                _TABLE.c.workspace_id == workspace_id
            )
        ).all()
    ]
    return {source: _overrides(rows, source) for source in PIPELINES if rows}


async def overrides_for(runtime: Runtime, workspace_id: str, source: str) -> dict[str, StageKind]:
    """The overrides that apply to ``source``'s updates in the workspace."""
    async with runtime.db.session() as session:
        rows = (
            await session.exec(
                select(StageMapping.pipeline, StageMapping.stage_key, StageMapping.kind).where(
                    StageMapping.workspace_id == workspace_id
                )
            )
        ).all()
    return _overrides([(p, k, kind) for p, k, kind in rows], source)


async def listed(runtime: Runtime, workspace_id: str) -> list[Mapped]:
    """The workspace's mappings, by CRM then stage."""
    async with runtime.db.session() as session:
        rows = (
            await session.exec(
                select(StageMapping)
                .where(StageMapping.workspace_id == workspace_id)
                .order_by(col(StageMapping.pipeline), col(StageMapping.stage_key))
            )
        ).all()
    return [Mapped(r.pipeline, r.stage, StageKind(r.kind), kind_by_name(r.stage)) for r in rows]


async def map_stage(
    runtime: Runtime, workspace_id: str, actor: str, pipeline: str, stage: str, moment: str
) -> Mapped:
    """Store what ``stage`` means for ``pipeline``'s updates (replacing an earlier mapping of
    the same name), with an audit row; :class:`StageMapError` on bad input, nothing stored."""
    pipeline, name, kind = check_pipeline(pipeline), check_stage(stage), check_moment(moment)
    key = normalise(name)
    values = {
        "workspace_id": workspace_id,
        "pipeline": pipeline,
        "stage": name,
        "stage_key": key,
        "kind": kind.value,
        "changed_by": actor,
        "changed_at": runtime.clock.now(),
    }
    async with runtime.db.session() as session:
        count = len(
            (
                await session.exec(
                    select(StageMapping.stage_key).where(StageMapping.workspace_id == workspace_id)
                )
            ).all()
        )
        if count >= MAPPINGS_MAX:
            raise StageMapError(
                f"This workspace has {MAPPINGS_MAX} stage mappings already: unmap some first."
            )
        await session.exec(
            upsert(
                runtime.db.dialect,
                StageMapping,
                values,
                ("workspace_id", "pipeline", "stage_key"),
            )
        )
        audit.record(
            session,
            workspace_id,
            actor,
            "stages.map",
            runtime.clock,
            pipeline=pipeline,
            stage=name,
            kind=kind.value,
        )
    return Mapped(pipeline, name, kind, kind_by_name(name))


async def unmap_stage(
    runtime: Runtime, workspace_id: str, actor: str, pipeline: str, stage: str
) -> bool:
    """Forget the mapping of ``stage`` for ``pipeline``; whether there was one."""
    pipeline, name = check_pipeline(pipeline), check_stage(stage)
    async with runtime.db.session() as session:
        row = (
            await session.exec(
                select(StageMapping).where(
                    StageMapping.workspace_id == workspace_id,
                    StageMapping.pipeline == pipeline,
                    StageMapping.stage_key == normalise(name),
                )
            )
        ).first()
        if row is None:
            return False
        await session.delete(row)
        audit.record(
            session,
            workspace_id,
            actor,
            "stages.unmap",
            runtime.clock,
            pipeline=pipeline,
            stage=name,
        )
    return True
