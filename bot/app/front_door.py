"""What every HTTP request passes before a route (or Bolt) reads it: a size cap and a deadline.

- **Size.** Starlette's own limit (``Starlette(max_body_size=...)``, Starlette 1.6) refuses a
  body over :data:`MAX_BODY` with ``413``: at once when its ``Content-Length`` says so,
  otherwise as soon as the bytes read pass the limit, so no more than the limit is ever held
  (uvicorn reads at most 64 KiB ahead of the app, and discards what is still sent after the
  answer). Slack's largest payloads are a few hundred kilobytes (a modal is at most 250 KB,
  views.open's ``view_too_large``), URL-encoded for interactivity.
- **Time.** Neither uvicorn nor Starlette times out a slow body: uvicorn's
  ``timeout_keep_alive`` counts only the idle time between two requests and
  ``h11_max_incomplete_event_size`` bounds the size of the headers, not their pace. A body
  trickled a byte at a time (slowloris) would hold its connection and its task for ever, so
  :class:`BodyDeadline` gives every body :data:`BODY_TIMEOUT` seconds from the end of the
  headers, then answers ``408`` and closes the connection.

The ``413`` is Starlette's (``Content Too Large``, plain text); the ``408`` is JSON
(``{"error": ...}``) like the webhooks' other refusals, and logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""Largest request body accepted on any route (1 MiB)."""
BODY_TIMEOUT = 10.0
"""Seconds a request's body may take to arrive, counted from the end of its headers."""


@dataclass(frozen=True)
class FrontDoor:
    """The limits every request is held to."""

    max_body: int = MAX_BODY
    body_timeout: float = BODY_TIMEOUT

    def exception_handlers(self) -> dict[int, object]:
        """Starlette exception handlers: the answer to a body too slow to arrive."""
        return {408: self._too_slow}

    async def _too_slow(self, request: Request, exc: Exception) -> Response:
        log.warning(
            "refused a request to %s: its body took over %g s", request.url.path, self.body_timeout
        )
        return JSONResponse(
            {"error": f"the body took longer than {self.body_timeout:g} s to arrive"},
            status_code=408,
            headers={"Connection": "close"},  # uvicorn closes the connection after the answer
        )


LIMITS = FrontDoor()
"""The production limits."""


class BodyDeadline:
    """ASGI middleware: a request's body must have arrived within ``seconds`` of its headers.

    One timer per request, cancelled as soon as the body is complete. If it fires while the
    route waits for more of the body, that wait is cancelled and the answer is ``408``
    (through Starlette's exception handling, like any HTTP error); a route busy with
    something else is left alone, and its next read of the body gets the ``408``. Once the
    body is complete nothing is timed (``receive`` then waits for the client to go away)."""

    def __init__(self, app: ASGIApp, seconds: float = BODY_TIMEOUT) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        task = asyncio.current_task()
        assert task is not None
        expired = waiting = False

        def expire() -> None:
            nonlocal expired
            expired = True
            if waiting:
                task.cancel()

        timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            self.seconds, expire
        )

        async def receive_in_time() -> Message:
            nonlocal timer, waiting
            if timer is None:
                return await receive()
            if expired:
                raise HTTPException(408, "body too slow")
            waiting = True
            try:
                message = await receive()
            except asyncio.CancelledError:
                if expired and task.uncancel() == 0:  # our cancellation, not a shutdown
                    raise HTTPException(408, "body too slow") from None
                raise
            finally:
                waiting = False
            if message["type"] != "http.request" or not message.get("more_body", False):
                timer.cancel()  # the body is complete (or the client gone)
                timer = None
            return message

        try:
            await self.app(scope, receive_in_time, send)
        finally:
            if timer is not None:
                timer.cancel()
