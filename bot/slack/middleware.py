"""Global Bolt middleware (payload shapes, request ids, the workspace row) and event
de-duplication.

De-duplication is not a middleware: Bolt runs middleware before its ack, and an Events API
request must be answered before any database work (a retry is Slack's answer to a slow ack).
:func:`once_per_event` wraps each event listener instead, which Bolt runs after the ack.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.core.seen_events import first_sighting
from bot.core.workspaces import ensure_workspace, note_enterprise
from bot.runtime import Runtime, logs
from bot.slack.kit.blocks import notice

log = logging.getLogger(__name__)


def install(app: AsyncApp, runtime: Runtime) -> None:
    """Add the middleware to ``app``, in order."""
    known: set[tuple[str, str | None]] = set()
    app.use(PayloadShape())  # first: Bolt's own kwargs and matchers assume Slack's shapes

    @app.middleware
    async def request_ids(body: dict[str, Any], next_: Callable[[], Awaitable[None]]) -> None:
        logs.request_id.set(
            str(body.get("event_id") or body.get("trigger_id") or uuid.uuid4().hex[:12])
        )
        await next_()

    @app.middleware
    async def workspace_row(context: dict[str, Any], next_: Callable[[], Awaitable[None]]) -> None:
        team_id, enterprise_id = context.get("team_id"), context.get("enterprise_id")
        if team_id and (team_id, enterprise_id) not in known:
            await ensure_workspace(runtime.db, team_id, runtime.clock)
            await note_enterprise(runtime.db, team_id, enterprise_id)
            known.add((team_id, enterprise_id))
        await next_()


INTERACTIONS = ("block_actions", "view_submission", "view_closed")
ID_MAX = 32
COMMAND_FIELDS = ("team_id", "user_id", "trigger_id", "response_url")
"""The form fields of a slash command that Slack always sends and our listener reads."""
SELECTIONS = {"selected_option": dict, "selected_options": list, "selected_users": list}
"""What an element's chosen value must be, where it has one."""


def _id(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _slack_id(value: object) -> bool:
    """A Slack id fits our id columns (32 characters); Slack's own are about 11."""
    return isinstance(value, str) and len(value) <= ID_MAX


def _element(value: object) -> bool:
    return isinstance(value, dict) and all(
        value.get(key) is None or isinstance(value[key], kind) for key, kind in SELECTIONS.items()
    )


def malformed(body: dict[str, Any]) -> str | None:
    """The first part of a slash command or an interaction payload that is not shaped as
    Slack sends it (Bolt's matchers and our listeners index into these), or ``None`` when
    all is well or the request is neither."""
    url = body.get("response_url")  # where the listener's respond() posts
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        return "response_url"
    if "command" in body:  # a slash command's form
        return next((f for f in COMMAND_FIELDS if not _id(body.get(f))), None)
    kind = body.get("type")
    if kind not in INTERACTIONS:
        return None
    user = body.get("user")
    if not isinstance(user, dict) or not _id(user.get("id")):
        return "user.id"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            return "actions"
        for n, action in enumerate(actions):
            if not _element(action) or not _id(action.get("action_id")):
                return f"actions[{n}]"
        for key in ("container", "channel", "message", "view"):
            if body.get(key) is not None and not isinstance(body[key], dict):
                return key
        return None
    view = body.get("view")
    if not isinstance(view, dict):
        return "view"
    for key in ("type", "callback_id"):
        if not isinstance(view.get(key), str):
            return f"view.{key}"
    state = view.get("state")
    if state is None:
        return None
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict) or not all(
        isinstance(block, dict) and all(_element(v) for v in block.values())
        for block in values.values()
    ):
        return "view.state.values"
    return None


class PayloadShape(AsyncMiddleware):
    """Answer ``400`` to a signed payload whose ids are not strings, or a slash command or an
    interaction not shaped as Slack sends it, before Bolt's matchers or any listener index
    into it (a ``500`` and a traceback else)."""

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        context = req.context  # the ids Bolt read out of the payload, wherever they were
        ids = (context.team_id, context.enterprise_id, context.user_id, context.channel_id)
        wrong = None if all(_slack_id(i) for i in ids if i is not None) else "ids"
        wrong = wrong or malformed(req.body)
        if wrong is not None:
            log.warning("refused a payload not shaped as Slack sends it: malformed %s", wrong)
            return BoltResponse(status=400, body={"error": f"malformed {wrong}"})
        return await next()


Listener = Callable[..., Awaitable[None]]


def once_per_event(runtime: Runtime) -> Callable[[Listener], Listener]:
    """Decorate an event listener (which takes ``body``) so that a retried delivery of an
    event already handled, even before a restart, does nothing. Bolt acks first."""

    def wrap(listener: Listener) -> Listener:
        if "body" not in inspect.signature(listener).parameters:
            raise TypeError(f"{listener.__name__} must take `body` to be de-duplicated")

        @functools.wraps(listener)
        async def run(*args: Any, **kwargs: Any) -> None:
            event_id = kwargs["body"].get("event_id")
            if isinstance(event_id, str) and not await first_sighting(
                runtime.db, event_id, runtime.clock
            ):
                log.info("event %s already handled; ignoring the retry", event_id)
                return
            await listener(*args, **kwargs)

        return run

    return wrap


AFTER_ACK = 10
"""Listeners working at once after their ack, per process: about the database pool's size."""

REPORTING = ("ack", "body", "client", "respond")
"""What :class:`AfterAck` asks Bolt for besides the listener's own arguments, to answer and
tell the user when the listener fails."""


class AfterAck:
    """Bounds how many listeners do their work at once, counting from their ack, and catches
    and reports what a listener raises.

    A burst of 200 requests would otherwise run 200 listeners' work side by side: the acks of
    the requests still arriving wait behind all of it on the event loop, every listener holds
    its rows in memory at the same time, and the database pool runs dry. A listener passes
    its ack first (its own ``ack()``, or Bolt's for events) and then waits its turn.

    No exception reaches Bolt: an async listener that raises soon after its ``ack()`` makes
    Bolt forget the ack (its runner sets ``ack.response`` back to ``None`` before its 10 ms
    poll sees it) and answer ``404`` after 3 s. A failure is instead logged in one line, acked
    if it was not yet, and told to the user: in the modal (``response_action: errors``) when
    a submission fails before its ack, else privately where they asked (:func:`report`).
    """

    def __init__(self, limit: int = AFTER_ACK) -> None:
        self._turns = asyncio.Semaphore(limit)

    def __call__(self, listener: Listener) -> Listener:
        turns = self._turns
        own = inspect.getfullargspec(inspect.unwrap(listener)).args

        async def run(*args: Any, **kwargs: Any) -> None:
            held = False
            acked = False

            async def take_turn() -> None:
                nonlocal held
                if not held:
                    await turns.acquire()
                    held = True

            ack = kwargs.get("ack")
            body = kwargs.get("body") or {}
            event = ack is None or body.get("type") == "event_callback"
            call = {name: value for name, value in kwargs.items() if name in own}
            if event:  # Bolt acknowledged it before the listener ran
                acked = True
                await take_turn()
            elif "ack" in own and ack is not None:
                answer: Callable[..., Awaitable[None]] = ack

                async def ack_then_wait(*a: Any, **kw: Any) -> None:
                    nonlocal acked
                    await answer(*a, **kw)
                    acked = True
                    await take_turn()

                call["ack"] = ack_then_wait
            try:
                await listener(*args, **call)
            except Exception as error:
                await report(listener.__name__, error, kwargs, acked=acked)
            finally:
                if held:
                    turns.release()

        functools.update_wrapper(run, listener)
        del run.__wrapped__  # type: ignore[attr-defined]  # Bolt unwraps to read the arguments
        # Bolt passes a listener the arguments its signature names: the listener's own, and
        # what a report needs
        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                for name in dict.fromkeys([*own, *REPORTING])
            ]
        )
        run.after_ack = self  # type: ignore[attr-defined]  # a test checks every listener has it
        return run


TRIGGER_ERRORS = ("expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id")


def what_failed(error: Exception) -> str:
    """The cause of a listener's failure, in words a user can act on."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error") or "error")
        if code in TRIGGER_ERRORS:  # views.open: a trigger_id lives 3 s and is used once
            return f"Slack no longer let Trustbot open the window (`{code}`)"
        return f"Slack refused it (`{code}`)"
    if isinstance(error, OperationalError | InterfaceError):
        return "Trustbot's database is busy or unreachable"
    return "something went wrong inside Trustbot (it is in the log)"


async def report(name: str, error: Exception, kwargs: dict[str, Any], *, acked: bool) -> None:
    """Log a listener's failure in one line, ack the request if the listener had not, and
    tell the user: in the modal if a submission is still open, else with an ephemeral
    message where the request came from (a slash command's or a message's
    ``response_url``), else in their DM with the app (Home, modals). Events have no one
    to tell."""
    cause = what_failed(error)
    if isinstance(error, SlackApiError | OperationalError | InterfaceError):
        log.error("%s failed: %s", name, cause)
    else:
        log.error("%s failed: %s", name, cause, exc_info=error)
    body: dict[str, Any] = kwargs.get("body") or {}
    text = f"Sorry, that did not work: {cause}. Please try again in a moment."
    ack, respond, client = kwargs.get("ack"), kwargs.get("respond"), kwargs.get("client")
    try:
        if not acked and ack is not None:
            block = _first_input(body) if body.get("type") == "view_submission" else None
            if block is not None:
                await ack(response_action="errors", errors={block: text.replace("`", "")})
                return
            await ack()
        if body.get("type") == "event_callback" or not body:
            return
        if body.get("response_url") and respond is not None:
            await respond(response_type="ephemeral", replace_original=False, **notice(text))
            return
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        if client is not None and isinstance(user, str):
            await client.chat_postMessage(channel=user, **notice(f":warning: {text}"))
    except Exception as failed:  # Slack unreachable too: the log line above is all there is
        log.warning("could not tell the user that %s failed: %s", name, what_failed(failed))


def _first_input(body: dict[str, Any]) -> str | None:
    """The block id of a submitted modal's first input, where Slack can show an error."""
    values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    return next(iter(values), None) if isinstance(values, dict) else None
