"""What a CRM stage means for the deal, read from its meaning rather than its exact name.

Every CRM names its stages differently: Salesforce's default picklist says "Id. Decision
Makers" and "Negotiation/Review", HubSpot's default pipeline sends ids such as
``decisionmakerboughtin`` and ``closedwon``, and real orgs add "Closed Lost – No Decision",
"Lost to competitor" or "Current Partner". :func:`classify_stage` turns any of them into a
:class:`StageKind`:

1. an admin's override for the name (a per-workspace, per-pipeline mapping; see
   :func:`classify_stage`), else the name itself: punctuation, dashes, case, accents and
   parentheses are ignored, HubSpot's internal ids are known, and a name no rule recognises
   is :attr:`StageKind.UNKNOWN` (never guessed into a contract stage);
2. then the CRM's own facts about the stage (:class:`StageFacts`) overrule the name:
   Salesforce's ``IsClosed``/``IsWon`` and HubSpot's stage metadata (``isClosed`` and a
   ``probability`` of 1.0 or 0.0) decide won or lost whatever the label says.

Renewal and expansion are a deal's *type*, not a stage (:func:`deal_type_of`: Salesforce's
``Type`` such as "Existing Customer - Upgrade", HubSpot's ``dealtype``, or a qualifier in a
stage name such as "Closed Won (Renewal)"). :func:`direction` says whether a move between two
stages went forward, backward, or reopened a closed deal.
"""

from __future__ import annotations

import enum
import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


class StageKind(enum.StrEnum):
    """What a stage means for the deal. The open kinds are in sales order."""

    EARLY = "early"  # lead, prospecting, qualification, discovery, appointment
    EVALUATION = "evaluation"  # needs analysis, demo, value proposition, decision makers
    PROPOSAL = "proposal"  # proposal / price quote, quote sent
    NEGOTIATION = "negotiation"  # negotiation / review, contract negotiation
    COMMIT = "commit"  # contract sent, verbal commit, closing, decision maker bought in
    WON = "won"
    LOST = "lost"
    NO_DECISION = "no_decision"  # the client decided nothing: no decision, stalled
    DISQUALIFIED = "disqualified"  # we qualified out: not a fit (a good decision, not a loss)
    UNKNOWN = "unknown"


OPEN_ORDER: Final = (
    StageKind.EARLY,
    StageKind.EVALUATION,
    StageKind.PROPOSAL,
    StageKind.NEGOTIATION,
    StageKind.COMMIT,
)
"""The open kinds, earliest first: a move to an earlier one is a backward move."""
CLOSED_KINDS: Final = frozenset(
    {StageKind.WON, StageKind.LOST, StageKind.NO_DECISION, StageKind.DISQUALIFIED}
)
"""Kinds that end a deal (a "No decision" or "Stalled" stage may be open in the CRM)."""
NOT_WON: Final = frozenset({StageKind.LOST, StageKind.NO_DECISION, StageKind.DISQUALIFIED})
"""What a closed, not-won stage can mean."""


class DealType(enum.StrEnum):
    """A deal's type: a new relationship, or more business with an existing customer."""

    NEW_BUSINESS = "new_business"
    RENEWAL = "renewal"
    EXPANSION = "expansion"  # upsell, cross-sell, upgrade, add-on
    EXISTING = "existing"  # an existing customer, renewal or expansion not said


EXISTING_CUSTOMER: Final = frozenset({DealType.RENEWAL, DealType.EXPANSION, DealType.EXISTING})


class Direction(enum.StrEnum):
    """How a deal moved between two stages."""

    FORWARD = "forward"  # to a later open stage, or to an outcome
    BACKWARD = "backward"  # to an earlier open stage (proposal back to discovery)
    SAME = "same"  # within one kind (needs analysis to value proposition)
    REOPENED = "reopened"  # from an outcome back to an open stage
    UNKNOWN = "unknown"  # either stage unknown or not given


@dataclass(frozen=True)
class StageFacts:
    """What the CRM itself says about a stage; ``None`` where it says nothing.

    Salesforce sends ``IsClosed`` and ``IsWon`` with the opportunity (both derived from the
    stage's OpportunityStage row). HubSpot keeps ``isClosed`` and ``probability`` (0.0 = closed
    lost, 1.0 = closed won) in each pipeline stage's metadata: :meth:`from_hubspot`.
    """

    is_closed: bool | None = None
    is_won: bool | None = None
    probability: float | None = None  # 0.0 to 1.0

    @classmethod
    def from_hubspot(cls, metadata: Mapping[str, object]) -> StageFacts:
        """The facts in a HubSpot pipeline stage's ``metadata`` (values are strings there:
        ``{"isClosed": "true", "probability": "1.0"}``)."""
        closed = str(metadata.get("isClosed", "")).strip().lower()
        try:
            probability: float | None = float(str(metadata.get("probability", "")))
        except ValueError:
            probability = None
        if probability is not None and not 0.0 <= probability <= 1.0:
            probability = None
        return cls(
            is_closed={"true": True, "false": False}.get(closed),
            probability=probability,
        )

    def won(self) -> bool | None:
        """Won (True), closed and not won (False), or not known to be closed (None)."""
        if self.is_won:
            return True
        if not self.is_closed:
            return None
        if self.is_won is False:
            return False
        if self.probability is not None:  # HubSpot: closed at 1.0 is won, at 0.0 lost
            if self.probability >= 1.0:
                return True
            if self.probability <= 0.0:
                return False
        return None


NO_FACTS: Final = StageFacts()


@functools.lru_cache(maxsize=4096)
def normalise(name: str) -> str:
    """The name as the rules read it: case folded, accents dropped, every run of punctuation,
    dashes (``-``, ``–``, ``—``), slashes, parentheses and spaces one space.

    ``"Closed Lost – No Decision"`` -> ``"closed lost no decision"``;
    ``"Pre-Calificación"`` -> ``"pre calificacion"``.
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


# Exact names (spaces removed), the defaults of the two CRMs: Salesforce's OpportunityStage
# standard value set and HubSpot's default pipeline stage ids.
_EXACT: Final[Mapping[str, StageKind]] = {
    "prospecting": StageKind.EARLY,
    "qualification": StageKind.EARLY,
    "needsanalysis": StageKind.EVALUATION,
    "valueproposition": StageKind.EVALUATION,
    "iddecisionmakers": StageKind.EVALUATION,
    "perceptionanalysis": StageKind.EVALUATION,
    "proposalpricequote": StageKind.PROPOSAL,
    "negotiationreview": StageKind.NEGOTIATION,
    "closedwon": StageKind.WON,
    "closedlost": StageKind.LOST,
    "appointmentscheduled": StageKind.EARLY,
    "qualifiedtobuy": StageKind.EARLY,
    "presentationscheduled": StageKind.EVALUATION,
    "decisionmakerboughtin": StageKind.COMMIT,
    "contractsent": StageKind.COMMIT,
}


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b{p}" for p in patterns))


# Rules over the normalised name, tried in this order: the first that matches wins. The order
# carries meaning: "Closed Lost – No Decision" is no decision before it is lost; "Unqualified"
# is disqualified before "qualif" makes it early; "Contract Negotiation" is negotiation before
# "contract" makes it a commitment; "Decision Maker Bought-In" is a commitment before
# "decision maker" makes it evaluation.
_RULES: Final[tuple[tuple[StageKind, re.Pattern[str]], ...]] = (
    (
        StageKind.DISQUALIFIED,
        _words(
            r"(dis|un|non ?)qualif",
            r"not (a )?(good |right )?fit\b",
            r"(no|bad|poor) fit\b",
            r"not qualified\b",
            r"junk\b",
            r"spam\b",
        ),
    ),
    (
        StageKind.NO_DECISION,
        _words(
            r"no decision\b",
            r"stall(ed)?\b",
            r"status quo\b",
            r"on hold\b",
            r"went dark\b",
            r"dormant\b",
        ),
    ),
    (
        StageKind.LOST,
        _words(r"lost\b", r"loss\b", r"dead\b", r"churn(ed)?\b", r"cancell?ed\b"),
    ),
    (
        StageKind.WON,
        _words(
            r"won\b",
            r"win\b",
            r"booked\b",
            r"signed\b",
            r"current (partner|customer|client)\b",
            r"closed (and )?(booked|signed)\b",
        ),
    ),
    (
        StageKind.NEGOTIATION,
        _words(r"negotiat", r"redlin", r"legal\b", r"procurement\b", r"(contract|terms) review\b"),
    ),
    (
        StageKind.COMMIT,
        _words(
            r"contract\b",
            r"verbal",
            r"commit",
            r"closing\b",
            r"bought in\b",
            r"(awaiting|pending|out for|sent for) signature\b",
            r"signature\b",
            r"purchase order\b",
        ),
    ),
    (
        StageKind.PROPOSAL,
        _words(r"propos(al|e|ed)\b", r"quot(e|ed|es|ing)\b", r"pric(e|ing)\b", r"rfp\b", r"bid\b"),
    ),
    (
        StageKind.EVALUATION,
        _words(
            r"needs? (analysis|assessment)\b",
            r"demo",
            r"value prop",
            r"decision makers?\b",
            r"decision process\b",
            r"perception\b",
            r"present",
            r"evaluat",
            r"solution",
            r"technical\b",
            r"trial\b",
            r"pilot\b",
            r"poc\b",
            r"proof of (concept|value)\b",
            r"business case\b",
            r"building value\b",
            r"validat",
            r"scoping\b",
            r"shortlist",
        ),
    ),
    (
        StageKind.EARLY,
        _words(
            r"lead\b",
            r"prospect",
            r"qualif",
            r"calific",  # Spanish: "Pre-Calificación"
            r"discover",
            r"appointment",
            r"new\b",
            r"raw\b",
            r"[ms]ql\b",
            r"sal\b",
            r"intro",
            r"first (call|meeting)\b",
            r"meeting (scheduled|booked|set)\b",
            r"engaged\b",
            r"attempting contact\b",
            r"contacted\b",
            r"initial\b",
            r"pre pipeline\b",
            r"inbound\b",
            r"outreach\b",
        ),
    ),
)

# Stems looked for inside a name of one word (HubSpot-style ids such as
# ``closedlostnodecision`` or ``contractnegotiation``), in the same order of precedence.
_STEMS: Final[tuple[tuple[StageKind, tuple[str, ...]], ...]] = (
    (StageKind.DISQUALIFIED, ("disqualif", "unqualif", "notafit", "notqualified")),
    (StageKind.NO_DECISION, ("nodecision", "stalled", "onhold")),
    (StageKind.LOST, ("closedlost", "lost")),
    (StageKind.WON, ("closedwon",)),
    (StageKind.NEGOTIATION, ("negotiat",)),
    (StageKind.COMMIT, ("contractsent", "verbal", "commit", "boughtin")),
    (StageKind.PROPOSAL, ("proposal", "quote")),
    (StageKind.EVALUATION, ("demo", "presentation", "needsanalysis", "evaluat", "valueprop")),
    (StageKind.EARLY, ("appointment", "qualif", "discover", "prospect")),
)


_UUID: Final = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)  # a pipeline has a few stage names; every update asks
def kind_by_name(name: str | None) -> StageKind:
    """The kind a stage name means by itself (no overrides, no CRM facts)."""
    if not name:
        return StageKind.UNKNOWN
    if _UUID.match(name.strip()):  # a HubSpot custom stage's id: its words mean nothing
        return StageKind.UNKNOWN
    text = normalise(name)
    squashed = text.replace(" ", "")
    exact = _EXACT.get(squashed)
    if exact is not None:
        return exact
    for kind, pattern in _RULES:
        if pattern.search(text):
            return kind
    if squashed and " " not in text and not squashed.isdigit():
        for kind, stems in _STEMS:
            if any(stem in squashed for stem in stems):
                return kind
    return StageKind.UNKNOWN


def _overridden(name: str, overrides: Mapping[str, StageKind] | None) -> StageKind | None:
    if not overrides:
        return None
    wanted = normalise(name)
    for key, kind in overrides.items():
        if normalise(key) == wanted:
            return StageKind(kind)
    return None


def classify_stage(
    name: str | None,
    facts: StageFacts = NO_FACTS,
    overrides: Mapping[str, StageKind] | None = None,
) -> StageKind:
    """What the stage ``name`` means for the deal.

    ``overrides`` is an admin's mapping from stage name to kind for one workspace's CRM
    pipeline (keys are matched like names: case, punctuation and dashes aside); it wins over
    the built-in rules. ``facts`` (what the CRM says about the stage) win over both: a won
    stage is :attr:`~StageKind.WON` whatever its name; a closed, not-won stage is lost, no
    decision or disqualified (the name chooses, :attr:`~StageKind.LOST` when it says nothing
    else); an open stage is never won or lost by its name alone (:attr:`~StageKind.UNKNOWN`).
    """
    by_name = (_overridden(name, overrides) if name else None) or kind_by_name(name)
    won = facts.won()
    if won is True:
        return StageKind.WON
    if won is False:
        return by_name if by_name in NOT_WON else StageKind.LOST
    if facts.is_closed:  # closed, outcome not known: only the name can say which
        return by_name if by_name in CLOSED_KINDS else StageKind.UNKNOWN
    if facts.is_closed is False and by_name in (StageKind.WON, StageKind.LOST):
        return StageKind.UNKNOWN
    return by_name


# Early stages where the CRM itself says nobody has talked to the buyer yet: a lead, a
# prospect, a meeting booked but not held. Seed 000's investment questions wait for the first
# move past one of these (asking "do I like them?" before anyone met is guesswork).
_PRE_CONTACT: Final = _words(
    r"lead\b",
    r"leads\b",
    r"new\b",
    r"raw\b",
    r"mql\b",
    r"prospect(s|ing)?\b",
    r"appointment (scheduled|booked|set)\b",
    r"meeting (scheduled|booked|set)\b",
    r"attempting contact\b",
    r"attempted\b",
    r"not (yet )?contacted\b",
    r"uncontacted\b",
    r"to contact\b",
    r"cold\b",
    r"target(ed)?\b",
    r"identified\b",
    r"outreach\b",
    r"pre pipeline\b",
)
_PRE_CONTACT_IDS: Final = frozenset({"appointmentscheduled", "prospecting", "newlead"})
# Words that say a conversation has happened, whatever else the name says.
_CONTACTED: Final = _words(
    r"qualif",
    r"calific",
    r"discover",
    r"(?<!not )(?<!attempting )contacted\b",
    r"engaged\b",
    r"(meeting|call|appointment|demo) (held|done|completed|happened)\b",
    r"first (call|meeting) (held|done|completed)\b",
    r"connected\b",
    r"working\b",
)


def is_pre_contact(name: str | None, overrides: Mapping[str, StageKind] | None = None) -> bool:
    """Whether the stage ``name`` says nobody has met the buyer yet (a lead, a prospect, an
    appointment scheduled but not held): an early stage, by name, before first contact.

    A name that says a conversation happened ("Contacted", "Qualification", "Discovery",
    "Meeting held") is past it; so is any stage that is not early.
    """
    if not name or classify_stage(name, NO_FACTS, overrides) is not StageKind.EARLY:
        return False
    text = normalise(name)
    if _CONTACTED.search(text):
        return False
    return text.replace(" ", "") in _PRE_CONTACT_IDS or bool(_PRE_CONTACT.search(text))


def direction(from_kind: StageKind | None, to_kind: StageKind) -> Direction:
    """How a deal moved from a stage of ``from_kind`` to one of ``to_kind``."""
    if from_kind is None or StageKind.UNKNOWN in (from_kind, to_kind):
        return Direction.UNKNOWN
    if from_kind == to_kind:
        return Direction.SAME
    if from_kind in CLOSED_KINDS:
        return Direction.REOPENED if to_kind in OPEN_ORDER else Direction.UNKNOWN
    if to_kind in CLOSED_KINDS:
        return Direction.FORWARD
    before, after = OPEN_ORDER.index(from_kind), OPEN_ORDER.index(to_kind)
    return Direction.FORWARD if after > before else Direction.BACKWARD


_TYPES: Final[tuple[tuple[DealType, re.Pattern[str]], ...]] = (
    (
        DealType.RENEWAL,
        # Salesforce's sample app: "Existing Customer - Replacement" / "- Downgrade"
        _words(r"renew", r"re sign\b", r"retention\b", r"replacement\b", r"downgrade\b"),
    ),
    (
        DealType.EXPANSION,
        _words(r"up ?sell", r"cross ?sell", r"expan", r"upgrade", r"add ?ons?\b", r"upsize"),
    ),
    (DealType.NEW_BUSINESS, _words(r"new (business|customer|logo)\b", r"newbusiness\b")),
    (DealType.EXISTING, _words(r"existing (business|customer)\b", r"existingbusiness\b")),
)


def deal_type_of(*texts: str | None) -> DealType | None:
    """The deal type named by the first of ``texts`` that names one: a Salesforce ``Type``
    ("Existing Customer - Upgrade"), a HubSpot ``dealtype`` (``existingbusiness``), or a
    stage name's qualifier ("Closed Won (Renewal)"); ``None`` when none does."""
    for text in texts:
        if not text:
            continue
        words = normalise(text)
        for deal_type, pattern in _TYPES:
            if pattern.search(words):
                return deal_type
    return None
