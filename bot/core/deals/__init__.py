"""Deal updates: one normalised model for every source, stored once, turned into nudges.

Four sources feed the same :class:`DealUpdate`:

- ``webhook``: ``POST /webhooks/deals`` (PRODUCT.md, "Deal webhook"), parsed by
  :func:`parse_webhook`;
- ``hubspot``: HubSpot deal property-change notifications, :func:`parse_hubspot`;
- ``salesforce``: Salesforce Outbound Messages and signed callouts, compared with each deal's
  last known state (:mod:`~bot.core.deals.salesforce`, :mod:`~bot.core.deals.last_known`);
- ``slack``: ``message_metadata_posted`` events whose metadata ``event_type`` is
  ``deal_updated`` and whose ``event_payload`` is the webhook's JSON, :func:`parse_metadata`.

Life of an update:

1. :func:`store` (or :class:`Recorder`, which lets concurrent requests share a commit)
   records it as a :class:`~bot.storage.models.DealEvent` with status ``accepted`` before
   anyone is answered. ``(workspace, source, event_id)`` is unique in the database, so a repeat is
   recognised (and acknowledged, not stored) even across restarts.
2. :func:`process_events` runs afterwards (in the background: :class:`Pipeline`): it
   resolves the rep (Slack user ID as given, or e-mail via the ``resolve_email`` callable,
   which may call Slack), applies :mod:`bot.guardrails` and plans a ``nudge`` row in the
   outbox (:class:`~bot.storage.models.Delivery`). The event ends ``nudged`` (due now),
   ``deferred`` (planned for a later slot), ``skipped`` (paused team, snoozed or opted-out
   rep, nudges off, no slot within a week), ``waiting`` (a new deal at a stage before anyone
   met the buyer: seed 000's questions wait for the first move past it) or ``unknown_rep``
   (no such Slack user, or not a rep of any team): kept, and listed by :func:`unknown_reps`
   for ``/trust status``. What the nudge asks is picked when it is drawn
   (:func:`nudge_context`): :func:`route` reads the change for its meaning
   (:func:`classify_stage` a stage's) and :func:`moment_key` names the moment.
3. :func:`process_pending` finds events still ``accepted`` (the process stopped between 1
   and 2, or Slack was unreachable) and processes them: run it at start-up and periodically.

Modules: :mod:`~bot.core.deals.model` (the update and its JSON), :mod:`~.hubspot`,
:mod:`~.storing` (accepting), :mod:`~.rules` (which moment), :mod:`~.stages` (what a stage
means), :mod:`~.planning` (to a nudge),
:mod:`~.resolvers`, :mod:`~.reporting`, :mod:`~.nudge_content` (what the DM says).
Plain Python over the storage layer: nothing here imports Slack's libraries.
"""

from bot.core.deals.hubspot import HubSpotBatch, parse_hubspot
from bot.core.deals.model import (
    ACCEPTED,
    DEAL_UPDATED,
    DEFERRED,
    HUBSPOT,
    NUDGED,
    SKIPPED,
    SLACK,
    UNKNOWN_REP,
    WAITING,
    WEBHOOK,
    DealUpdate,
    PayloadError,
    ResolveEmail,
    WorkspaceResolver,
    parse_metadata,
    parse_webhook,
)
from bot.core.deals.nudge_content import NudgeContent, answer_context, nudge_context
from bot.core.deals.planning import (
    Pipeline,
    Processed,
    metadata_apps,
    process_event,
    process_events,
    process_pending,
    receive_metadata,
)
from bot.core.deals.reporting import UnknownRep, UnknownReps, unknown_reps
from bot.core.deals.resolvers import EmailCache, email_cache, single_workspace
from bot.core.deals.rules import DealMoment, Moment, moment_for, moment_key, route
from bot.core.deals.salesforce import SALESFORCE
from bot.core.deals.stages import DealType, Direction, StageFacts, StageKind, classify_stage
from bot.core.deals.storing import Receipt, Recorder, store

__all__ = [
    "ACCEPTED",
    "DEAL_UPDATED",
    "DEFERRED",
    "HUBSPOT",
    "NUDGED",
    "SALESFORCE",
    "SKIPPED",
    "SLACK",
    "UNKNOWN_REP",
    "WAITING",
    "WEBHOOK",
    "DealMoment",
    "DealType",
    "DealUpdate",
    "Direction",
    "EmailCache",
    "HubSpotBatch",
    "Moment",
    "NudgeContent",
    "PayloadError",
    "Pipeline",
    "Processed",
    "Receipt",
    "Recorder",
    "ResolveEmail",
    "StageFacts",
    "StageKind",
    "UnknownRep",
    "UnknownReps",
    "WorkspaceResolver",
    "answer_context",
    "classify_stage",
    "email_cache",
    "metadata_apps",
    "moment_for",
    "moment_key",
    "nudge_context",
    "parse_hubspot",
    "parse_metadata",
    "parse_webhook",
    "process_event",
    "process_events",
    "process_pending",
    "receive_metadata",
    "route",
    "single_workspace",
    "store",
    "unknown_reps",
]
