"""The deal webhooks over HTTP (Starlette): ``POST /webhooks/deals`` and ``/webhooks/hubspot``.

Each request is checked in this order, and a refused one stores nothing:

1. size: a ``Content-Length`` over :data:`MAX_BODY` (1 MiB), or more bytes than that
   actually sent, is answered ``413``;
2. signature: missing, malformed, wrong or more than 5 minutes away is ``401``
   (``/webhooks/deals``: Slack's scheme, ``v0=hex(HMAC-SHA256(secret, "v0:<ts>:<body>"))``,
   checked by slack_sdk's ``SignatureVerifier`` on our clock; ``/webhooks/hubspot``:
   HubSpot's v3 signature);
3. schema: ``400 {"error": ..., "field": ...}`` naming the first bad field;
4. workspace: ``503`` while no Slack workspace is known (single-workspace install).

Then the update is committed as an ``accepted`` deal event and the answer is ``202
{"accepted": true, "id": <deal event id>}`` (``200 {"duplicate": true, "id": ...}`` for an
``event_id`` already stored). Resolving the rep (which may call Slack) and planning the
nudge happen afterwards, in :class:`bot.deals.Pipeline`.

Both webhooks sign with ``TRUSTBOT_WEBHOOK_SECRET`` (for HubSpot, set it to the HubSpot
app's client secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_sdk.signature import Clock as SignatureClock
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.core import deals
from bot.runtime import Runtime
from bot.runtime.clock import Clock

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""Largest body accepted (1 MiB)."""
WINDOW_SECONDS = 5 * 60
"""How far a request's timestamp may be from our clock."""

TIMESTAMP_HEADER = "X-Trustbot-Request-Timestamp"
SIGNATURE_HEADER = "X-Trustbot-Signature"
HUBSPOT_SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
HUBSPOT_TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"

_DIGITS = re.compile(r"^[0-9]{1,15}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
# HubSpot v3: these escapes in the request URI are decoded before signing.
_HUBSPOT_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_HUBSPOT_ESCAPES = re.compile("|".join(_HUBSPOT_DECODE), re.IGNORECASE)


class Refused(Exception):
    """A request answered with a 4xx/5xx JSON error; nothing of it is stored."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.error}
        if self.field is not None:
            body["field"] = self.field
        return JSONResponse(body, status_code=self.status)


class ClockAdapter(SignatureClock):
    """Our clock (``runtime.clock``) in the shape ``SignatureVerifier`` asks for."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.time()


def sign(secret: str, timestamp: str, body: bytes | str) -> str:
    """The ``X-Trustbot-Signature`` value for a body (what a sender computes)."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return signature


def hubspot_uri(uri: str) -> str:
    """The request URI as HubSpot v3 signs it: the listed escapes decoded."""
    return _HUBSPOT_ESCAPES.sub(lambda m: _HUBSPOT_DECODE[m.group(0).upper()], uri)


def hubspot_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 signature: base64(HMAC-SHA256(secret, method + uri + body + timestamp)),
    over the UTF-8 bytes, with ``uri`` as :func:`hubspot_uri` gives it."""
    message = method.encode() + hubspot_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, or :class:`Refused` 413 as soon as it is known to exceed ``limit`` bytes.

    Read from the ASGI messages directly (Starlette's ``stream()`` is an async generator per
    request, which costs more than the read on a busy webhook)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not _DIGITS.match(declared.strip()):
            raise Refused(400, "Content-Length is not a number", "Content-Length")
        if int(declared) > limit:
            raise Refused(413, f"body over {limit} bytes")
    chunks: list[bytes] = []  # read as it comes: a chunked body has no length to check first
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "the body was not sent completely", "body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"body over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _signature_headers(
    request: Request, timestamp_header: str, signature_header: str
) -> tuple[str, str]:
    """The request's timestamp and signature headers, stripped; :class:`Refused` (401) unless
    both are there."""
    timestamp = request.headers.get(timestamp_header, "").strip()
    signature = request.headers.get(signature_header, "").strip()
    if not timestamp or not signature:
        raise Refused(401, f"missing {timestamp_header} or {signature_header}")
    return timestamp, signature


def _json(status: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


class DealWebhooks:
    """The two webhook endpoints of one process, and the background step behind them.

    ``workspace`` says which workspace a webhook belongs to (see
    :func:`bot.deals.single_workspace`); ``resolve_email`` turns a rep's e-mail into a Slack
    user ID (see :func:`email_resolver`). ``hubspot_url`` is the public URL HubSpot posts to
    (as entered in the HubSpot app), needed when a proxy changes scheme or host; by default
    the URL of the request as received. ``background=False`` leaves accepted events for
    :func:`bot.deals.process_pending` (tests of crash safety).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        workspace: deals.WorkspaceResolver,
        resolve_email: deals.ResolveEmail,
        hubspot_url: str | None = None,
        max_body: int = MAX_BODY,
        background: bool = True,
    ) -> None:
        self.runtime = runtime
        self.workspace = workspace
        self.hubspot_url = hubspot_url
        self.max_body = max_body
        self.recorder = deals.Recorder(runtime)
        self.pipeline = deals.Pipeline(runtime, resolve_email) if background else None
        secret = runtime.settings.TRUSTBOT_WEBHOOK_SECRET
        self._secret = secret or None
        self._verifier = SignatureVerifier(secret, ClockAdapter(runtime.clock)) if secret else None

    def routes(self) -> list[Route]:
        """``POST /webhooks/deals`` and ``POST /webhooks/hubspot``, to mount in the web app."""
        return [
            Route("/webhooks/deals", self.deal_webhook, methods=["POST"]),
            Route("/webhooks/hubspot", self.hubspot_webhook, methods=["POST"]),
        ]

    async def drain(self) -> None:
        """Wait for the background step to finish what was accepted so far."""
        if self.pipeline is not None:
            await self.pipeline.drain()

    async def aclose(self) -> None:
        """Stop the background step (at shutdown); unfinished events stay ``accepted``."""
        if self.pipeline is not None:
            await self.pipeline.aclose()

    # -- endpoints ----------------------------------------------------------------

    async def deal_webhook(self, request: Request) -> Response:
        """``POST /webhooks/deals`` (PRODUCT.md, "Deal webhook")."""
        return await self._answer(request, self._deal_updates)

    async def hubspot_webhook(self, request: Request) -> Response:
        """``POST /webhooks/hubspot``: a batch of HubSpot deal notifications.

        ``202 {"accepted": true, "ids": [...], "duplicates": n, "ignored": n}`` when something
        new was stored; ``200 {"duplicate": true}`` when every mapped event was seen before;
        ``200 {"accepted": false, "ignored": n}`` when no event maps to a deal change.
        """
        return await self._answer(request, self._hubspot_updates)

    # -- internals ----------------------------------------------------------------

    async def _answer(
        self,
        request: Request,
        parse: Callable[[Request, bytes], tuple[str, list[deals.DealUpdate], int]],
    ) -> Response:
        try:
            body = await read_body(request, self.max_body)
            source, updates, ignored = parse(request, body)
            if not updates:
                return _json(200, accepted=False, ignored=ignored)
            workspace_id = await self.workspace()
            if workspace_id is None:
                raise Refused(503, "no Slack workspace is installed yet")
            receipts = await self.recorder.store(workspace_id, source, updates)
        except Refused as refused:
            return refused.response()
        except (OperationalError, InterfaceError):
            log.exception("deal webhook: database unavailable")
            return _json(503, error="database unavailable, try again later")
        new = [r for r in receipts if r.created]
        if self.pipeline is not None:
            for receipt, update in zip(receipts, updates, strict=True):
                if receipt.created:
                    self.pipeline.submit(receipt.id, lookup=update.rep_user_id is None)
        if source == deals.WEBHOOK:
            [receipt] = receipts
            if receipt.created:
                return _json(202, accepted=True, id=receipt.id)
            return _json(200, duplicate=True, id=receipt.id)
        if not new:
            return _json(200, duplicate=True)
        return _json(
            202,
            accepted=True,
            ids=[r.id for r in new],
            duplicates=len(receipts) - len(new),
            ignored=ignored,
        )

    def _deal_updates(
        self, request: Request, body: bytes
    ) -> tuple[str, list[deals.DealUpdate], int]:
        self.verify_signature(request, body)
        try:
            return deals.WEBHOOK, [deals.parse_webhook(body)], 0
        except deals.PayloadError as error:
            raise Refused(400, error.message, error.field) from None

    def verify_signature(self, request: Request, body: bytes) -> None:
        """:class:`Refused` (401, or 503 without a secret) unless the body carries a valid
        ``X-Trustbot-Signature`` at most 5 minutes old (the deal webhook's scheme)."""
        if self._verifier is None:
            raise Refused(503, "TRUSTBOT_WEBHOOK_SECRET is not set")
        timestamp, signature = _signature_headers(request, TIMESTAMP_HEADER, SIGNATURE_HEADER)
        if not _DIGITS.match(timestamp) or not _SIGNATURE.match(signature):
            raise Refused(401, "malformed timestamp or signature")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise Refused(401, "the body is not UTF-8, so its signature cannot match") from None
        if abs(self.runtime.clock.time() - int(timestamp)) > WINDOW_SECONDS:
            raise Refused(401, "stale timestamp: more than 5 minutes away")
        if not self._verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
            raise Refused(401, "bad signature")

    def _hubspot_updates(
        self, request: Request, body: bytes
    ) -> tuple[str, list[deals.DealUpdate], int]:
        if self._secret is None:
            raise Refused(503, "TRUSTBOT_WEBHOOK_SECRET is not set")
        timestamp, signature = _signature_headers(
            request, HUBSPOT_TIMESTAMP_HEADER, HUBSPOT_SIGNATURE_HEADER
        )
        if not _DIGITS.match(timestamp) or not signature.isascii():
            raise Refused(401, "malformed timestamp or signature")
        if abs(self.runtime.clock.time() * 1000 - int(timestamp)) > WINDOW_SECONDS * 1000:
            raise Refused(401, "stale timestamp: more than 5 minutes away")
        uri = self.hubspot_url or str(request.url)
        expected = hubspot_signature(self._secret, request.method, uri, body, timestamp)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise Refused(401, "bad signature")
        try:
            batch = deals.parse_hubspot(body)
        except deals.PayloadError as error:
            raise Refused(400, error.message, error.field) from None
        return deals.HUBSPOT, batch.updates, batch.ignored
