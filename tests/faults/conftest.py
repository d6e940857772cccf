"""Shared pieces of the fault tests: a seeded random source whose seed is always logged."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

import pytest


@dataclass
class Chaos:
    """Where faults strike. ``FAULT_SEED=n pytest tests/faults`` replays a run."""

    seed: int
    random: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def __str__(self) -> str:
        return f"FAULT_SEED={self.seed}"


@pytest.fixture
def chaos(request: pytest.FixtureRequest) -> Chaos:
    """A seeded random source; the seed is printed (shown with a failure) and belongs in
    every assertion message."""
    seed = int(os.environ.get("FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"{request.node.nodeid}: FAULT_SEED={seed}")
    return Chaos(seed)
