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
UPDATE_RATE = 0.5
"""Chance that a rep's deals change in a given week (one change at most)."""
KINDS = ("renewal", "expansion", "pilot", "platform deal", "analytics rollout", "migration")


@dataclass
class Deal:
    deal_id: str
    name: str
    rep: Rep
    close: date
    stage: str = "discovery"
    slipped: bool = False


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
        third with one in contract, the rest with nothing yet (their first change: a new deal)."""
        for i, rep in enumerate(self.reps):
            if i % 3:
                deal = self._new_deal(rep, self.start)
                deal.stage = "discovery" if i % 3 == 1 else "contract"

    def _new_deal(self, rep: Rep, today: date) -> Deal:
        self.opened += 1
        company = COMPANIES[(self.opened - 1) % len(COMPANIES)]
        deal = Deal(
            deal_id=f"D-{1000 + self.opened}",
            name=f"{company} {self.rng.choice(KINDS)}",
            rep=rep,
            close=today + timedelta(days=self.rng.randint(21, 60)),
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

    def _move(self, deal: Deal, now: datetime) -> dict[str, Any]:
        """The next thing that happens to a deal in play: from discovery a discount request
        (into negotiation) or the move to contract; after that the close date slips (once)
        or the deal is won or lost."""
        persona = deal.rep.persona
        if deal.stage == "discovery":
            if self.rng.random() < persona.discounts:
                deal.stage = "negotiation"
                return self._event(deal, "discount_requested", now, "0%", "15%")
            deal.stage = "contract"
            return self._event(deal, "stage_changed", now, "discovery", "contract")
        if not deal.slipped and self.rng.random() < persona.slips:
            deal.slipped = True
            pushed = deal.close + timedelta(days=self.rng.choice((14, 21, 30, 45)))
            old, deal.close = deal.close, pushed
            return self._event(deal, "close_date_changed", now, old.isoformat(), pushed.isoformat())
        stage = deal.stage
        deal.stage = "won" if self.rng.random() < persona.deal_luck else "lost"
        return self._event(deal, deal.stage, now, stage, deal.stage)

    def updates(self, rep: Rep, now: datetime) -> list[dict[str, Any]]:
        """This week's change to ``rep``'s deals, as webhook bodies: about every other week,
        a new deal or the next step of one in play (stage, discount, close date, won, lost)."""
        if self.rng.random() >= UPDATE_RATE:
            return []
        active = [d for d in self.deals.get(rep.user_id, []) if d.stage not in ("won", "lost")]
        if not active:
            deal = self._new_deal(rep, now.date())
            return [self._event(deal, "created", now, None, "discovery")]
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
