"""A simulated CRM for ``trustbot demo``: deals that move week by week, and the signed
``POST /webhooks/deals`` that tells Trustbot about each change (PRODUCT.md, "Deal webhook")."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp

from bot.demo.personas import Rep
from bot.runtime.clock import Clock

TIMESTAMP_HEADER = "X-Trustbot-Request-Timestamp"
SIGNATURE_HEADER = "X-Trustbot-Signature"

COMPANIES = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Logistics",
    "Wayne Security",
    "Wonka Supply",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Massive Dynamic",
    "Vandelay Imports",
    "Pied Piper",
    "Gringotts",
    "Oscorp",
)
UPDATE_RATE = 0.6
"""Chance that a rep's deals change in a given week (one change at most)."""
KINDS = ("renewal", "expansion", "pilot", "platform deal", "analytics rollout", "migration")
LADDER = (
    "Prospecting",
    "Discovery",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
)
"""The open stages a deal climbs, one step per change (Salesforce's default names): the first
is before anyone met the buyer, so Trustbot waits for the move to Discovery to ask seed 000's
questions."""
CONTRACT = "Contract Sent"
POOR_FIT = 0.3
"""Share of new deals that are a poor fit (price-only buyers with little long-term potential):
a candid rep says No to seed 000's questions, and such a deal is later disqualified."""


@dataclass
class Deal:
    deal_id: str
    name: str
    rep: Rep
    close: date
    stage: str = "Discovery"
    slips: int = 0
    fit: str = "good"  # or "poor"
    discounted: bool = False

    @property
    def open(self) -> bool:
        return self.stage in LADDER or self.stage == CONTRACT


@dataclass
class Crm:
    """Each rep works a few deals; every week some of them change."""

    reps: list[Rep]
    rng: random.Random
    deals: dict[str, list[Deal]] = field(default_factory=dict)
    sequence: int = 0
    opened: int = 0
    start: date = date(2026, 1, 5)

    def __post_init__(self) -> None:
        """Pipelines already in motion: a third of the reps start with a deal in discovery, a
        third with one in negotiation, the rest with nothing yet (their first change: a new
        deal)."""
        for i, rep in enumerate(self.reps):
            if i % 3:
                deal = self._new_deal(rep, self.start)
                deal.stage = "Discovery" if i % 3 == 1 else "Negotiation/Review"

    def _new_deal(self, rep: Rep, today: date) -> Deal:
        self.opened += 1
        company = COMPANIES[(self.opened - 1) % len(COMPANIES)]
        deal = Deal(
            deal_id=f"D-{1000 + self.opened}",
            name=f"{company} {self.rng.choice(KINDS)}",
            rep=rep,
            close=today + timedelta(days=self.rng.randint(21, 60)),
            fit="poor" if self.rng.random() < POOR_FIT else "good",
        )
        self.deals.setdefault(rep.user_id, []).append(deal)
        return deal

    def _event(
        self, deal: Deal, change: str, now: datetime, old: str | None, new: str | None
    ) -> dict[str, Any]:
        self.sequence += 1
        return {
            "event_id": f"crm-{self.sequence:05d}",
            "deal_id": deal.deal_id,
            "deal_name": deal.name,
            "rep": {"slack_user_id": deal.rep.user_id},
            "change": change,
            "from": old,
            "to": new,
            "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _stage(self, deal: Deal, now: datetime, new: str) -> dict[str, Any]:
        old, deal.stage = deal.stage, new
        if new in ("won", "lost"):
            return self._event(deal, new, now, old, "Closed Won" if new == "won" else "Closed Lost")
        return self._event(deal, "stage_changed", now, old, new)

    def _move(self, deal: Deal, now: datetime) -> dict[str, Any]:
        """The next thing that happens to a deal in play: out of prospecting into discovery
        (first contact); a poor fit is then disqualified by a rep who qualifies out; otherwise
        one stage up the ladder, with a discount request on the way (by its size: 5-30 %),
        a close date that slips (pushed again, or pulled in), and at the end won or lost."""
        persona = deal.rep.persona
        if deal.stage == "Prospecting":
            return self._stage(deal, now, "Discovery")
        poor = deal.fit == "poor" and deal.stage == "Discovery"
        if poor and self.rng.random() < persona.qualifies_out:
            return self._stage(deal, now, "Closed - Not a fit")
        at = LADDER.index(deal.stage) if deal.stage in LADDER else len(LADDER)
        if at >= 3 and not deal.discounted and self.rng.random() < persona.discounts:
            deal.discounted = True
            ask = self.rng.choice(("5%", "15%", "30%"))
            return self._event(deal, "discount_requested", now, None, ask)
        if deal.slips < 2 and at >= 2 and self.rng.random() < persona.slips:
            deal.slips += 1
            days = self.rng.choice((14, 21, 30, 45)) * (-1 if self.rng.random() < 0.15 else 1)
            moved = deal.close + timedelta(days=days)
            old, deal.close = deal.close, moved
            return self._event(deal, "close_date_changed", now, old.isoformat(), moved.isoformat())
        if at + 1 < len(LADDER):
            return self._stage(deal, now, LADDER[at + 1])
        if deal.stage != CONTRACT:
            return self._stage(deal, now, CONTRACT)
        luck = persona.deal_luck * (0.5 if deal.fit == "poor" else 1.0)
        return self._stage(deal, now, "won" if self.rng.random() < luck else "lost")

    def updates(self, rep: Rep, now: datetime) -> list[dict[str, Any]]:
        """This week's change to ``rep``'s deals, as webhook bodies: most weeks, a new deal
        (entered at Prospecting, before anyone met the buyer, or at Discovery) or the next step
        of one in play."""
        if self.rng.random() >= UPDATE_RATE:
            return []
        active = [d for d in self.deals.get(rep.user_id, []) if d.open]
        if not active:
            deal = self._new_deal(rep, now.date())
            deal.stage = "Prospecting" if self.rng.random() < 0.5 else "Discovery"
            return [self._event(deal, "created", now, None, deal.stage)]
        return [self._move(active[0], now)]


def signature(secret: str, timestamp: str, body: str) -> str:
    """``v0=<hex HMAC-SHA256(secret, "v0:<timestamp>:<body>")>``, as Slack signs requests."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return "v0=" + digest.hexdigest()


class WebhookSender:
    """POSTs deal updates to the app, signed with ``TRUSTBOT_WEBHOOK_SECRET`` on ``clock``'s
    time (the app checks the timestamp against the same clock)."""

    def __init__(self, url: str, secret: str, clock: Clock, session: aiohttp.ClientSession):
        self.url = url
        self.secret = secret
        self.clock = clock
        self.session = session
        self.answers: dict[int, int] = {}

    async def send(self, update: dict[str, Any]) -> int:
        """Send one update; returns the HTTP status (202 accepted, 200 duplicate, ...)."""
        body = json.dumps(update, separators=(",", ":"))
        timestamp = str(int(self.clock.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self.secret, timestamp, body),
        }
        async with self.session.post(self.url, data=body.encode(), headers=headers) as response:
            await response.read()
            status = response.status
        self.answers[status] = self.answers.get(status, 0) + 1
        return status
