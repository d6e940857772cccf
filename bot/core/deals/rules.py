"""Which moment a deal change is: the seeds' moments, each with its own prompts."""

from __future__ import annotations

import logging
import re
from typing import Final

from bot.core.prompts import DealChange

log = logging.getLogger(__name__)


EARLY_STAGES: Final = ("lead", "prospect", "qualif", "discover", "appointment", "new", "intro")
WON_STAGES: Final = frozenset({"won", "closedwon", "win"})
LOST_STAGES: Final = frozenset({"lost", "closedlost", "dead"})


def moment_for(change: DealChange | str, to_value: str | None = None) -> DealChange:
    """The moment whose prompts a nudge asks (PRODUCT.md's moments, from the seeds).

    Every change is its own moment, except a stage change, which reads the new stage:
    into won / lost it is that moment; into an early stage (lead, prospect, qualification,
    discovery, HubSpot's ``appointmentscheduled`` / ``qualifiedtobuy`` ...) it asks seed
    000's three investment questions (the ``created`` moment); any later stage is the
    move toward contract (reliability, seed 002).
    """
    change = DealChange(change)
    if change is not DealChange.STAGE_CHANGED or not to_value:
        return change
    stage = re.sub(r"[^a-z]", "", to_value.lower())
    if stage in WON_STAGES:
        return DealChange.WON
    if stage in LOST_STAGES:
        return DealChange.LOST
    if stage.startswith(EARLY_STAGES):
        return DealChange.CREATED
    return change
