"""``POST /webhooks/salesforce``: Salesforce Outbound Messages (SOAP) and signed JSON callouts.

What the messages mean is :mod:`bot.core.deals.salesforce`; this module is the HTTP side.

**Outbound Messages** (any body not sent as JSON; Salesforce sends ``text/xml``), checked in
this order, a refused one storing nothing:

1. size: over 1 MiB is ``413`` (before any parsing);
2. ``TRUSTBOT_SALESFORCE_ORG_ID`` not set: ``503`` (nothing to check the sender against);
3. the XML, parsed by defusedxml with DTDs forbidden: malformed, a DTD, an entity, not a SOAP
   envelope of Salesforce notifications, a bad field: ``400``;
4. ``OrganizationId`` not the configured org (compared on its 15-character form): ``403``.
   Outbound Messages carry no signature: Salesforce's own advice is to check that messages
   contain your organization ID, accept only Salesforce's IP ranges and use TLS
   (*Considerations for Security*, Outbound Messaging); the IP allow-list and TLS belong to
   the proxy in front of Trustbot;
5. no Slack workspace known yet: ``503``.

Then the updates are committed and the answer is Salesforce's acknowledgement (``200``, a SOAP
envelope with ``<Ack>true</Ack>``), also when the message meant no new update (a repeat,
another object, unchanged values), so that Salesforce stops sending it.

Refusals carry a SOAP 1.1 Fault (``soapenv:Client`` for 4xx, ``soapenv:Server`` for 5xx) under
an HTTP status that says what happened. WS-I's Basic Profile asks for ``500`` with every fault,
but Salesforce gives an answer no meaning beyond "not acknowledged": anything but the Ack is
retried (with growing intervals, for up to 24 hours) and the ``notificationsResponse`` schema has
no room for an error; so the status is chosen for whoever reads our logs and Salesforce's
delivery-failure list. A wrong org is ``403``, not ``401``: no credential sent differently
could change the answer (and a ``401`` must name an authentication scheme).

**Callouts** (``Content-Type: application/json``, from Apex): signed like ``POST
/webhooks/deals`` (``401`` for a missing, wrong or stale signature), ``org_id`` if given must be
the configured org (``403``); answered like ``POST /webhooks/hubspot``: ``202 {"accepted":
true, "ids": [...], "duplicates": n, "ignored": n}``, ``200 {"duplicate": true}``, ``200
{"accepted": false, "ignored": n}``.
"""

from __future__ import annotations

import logging
from typing import Final
from xml.sax.saxutils import escape

from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app.webhooks import DealWebhooks, Refused, read_body
from bot.core import deals
from bot.core.deals import salesforce

log = logging.getLogger(__name__)

PATH: Final = "/webhooks/salesforce"
XML: Final = "text/xml; charset=utf-8"
ACK: Final = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">\n'
    "  <soapenv:Body>\n"
    '    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">\n'
    "      <Ack>true</Ack>\n"
    "    </notificationsResponse>\n"
    "  </soapenv:Body>\n"
    "</soapenv:Envelope>\n"
)
"""Salesforce's acknowledgement of a whole message (the ``notificationsResponse`` element of
the Outbound Messaging WSDL, in the envelope listeners answer with)."""


def fault(status: int, message: str) -> Response:
    """A SOAP 1.1 Fault saying ``message``, under HTTP ``status``."""
    code = "soapenv:Client" if status < 500 else "soapenv:Server"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>\n"
    )
    return Response(body, status_code=status, media_type=XML)


class SalesforceWebhook:
    """``POST /webhooks/salesforce`` beside the other deal webhooks of ``hooks``: the same
    workspace, recorder and background step (so ``hooks.drain()`` covers it too)."""

    def __init__(self, hooks: DealWebhooks) -> None:
        self.hooks = hooks
        settings = hooks.runtime.settings
        self.org_id = settings.TRUSTBOT_SALESFORCE_ORG_ID
        self.actions = dict(settings.TRUSTBOT_SALESFORCE_ACTIONS)

    def routes(self) -> list[Route]:
        return [Route(PATH, self.endpoint, methods=["POST"])]

    async def endpoint(self, request: Request) -> Response:
        callout = "json" in request.headers.get("content-type", "").lower()
        try:
            body = await read_body(request, self.hooks.max_body)
            message = self._callout(request, body) if callout else self._outbound(body)
            workspace_id = await self.hooks.workspace()
            if workspace_id is None:
                raise Refused(503, "no Slack workspace is installed yet")
            accepted = await salesforce.accept(
                self.hooks.runtime, self.hooks.recorder, workspace_id, message, self.actions
            )
        except Refused as refused:
            if callout:
                return refused.response()
            text = refused.error + (f" ({refused.field})" if refused.field else "")
            return fault(refused.status, text)
        except (OperationalError, InterfaceError, IntegrityError):
            # IntegrityError: another process saved the same deal's first state meanwhile
            log.exception("Salesforce webhook: database unavailable or busy")
            error = "database unavailable, try again later"
            return JSONResponse({"error": error}, 503) if callout else fault(503, error)
        pipeline = self.hooks.pipeline
        new = [r for r in accepted.receipts if r.created]
        if pipeline is not None:
            for receipt, update in zip(accepted.receipts, accepted.updates, strict=True):
                if receipt.created:
                    pipeline.submit(receipt.id, lookup=update.rep_user_id is None)
        if not callout:
            return Response(ACK, media_type=XML)
        if not accepted.updates:
            return JSONResponse({"accepted": False, "ignored": accepted.ignored})
        if not new:
            return JSONResponse({"duplicate": True})
        return JSONResponse(
            {
                "accepted": True,
                "ids": [r.id for r in new],
                "duplicates": len(accepted.receipts) - len(new),
                "ignored": accepted.ignored,
            },
            status_code=202,
        )

    def _outbound(self, body: bytes) -> salesforce.Message:
        if self.org_id is None:
            raise Refused(503, "TRUSTBOT_SALESFORCE_ORG_ID is not set")
        try:
            message = salesforce.parse_outbound_message(body)
        except deals.PayloadError as error:
            raise Refused(400, error.message, error.field) from None
        if not salesforce.same_org(self.org_id, message.organization_id):
            raise Refused(403, "OrganizationId is not the org Trustbot is set up for")
        return message

    def _callout(self, request: Request, body: bytes) -> salesforce.Message:
        self.hooks.verify_signature(request, body)
        try:
            message = salesforce.parse_callout(body)
        except deals.PayloadError as error:
            raise Refused(400, error.message, error.field) from None
        if (
            self.org_id is not None
            and message.organization_id
            and not salesforce.same_org(self.org_id, message.organization_id)
        ):
            raise Refused(403, "org_id is not the org Trustbot is set up for", "org_id")
        return message
