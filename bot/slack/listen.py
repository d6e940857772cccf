"""One header for the listeners of clicks and modal submissions: :class:`Listen` registers
them behind :class:`~bot.slack.middleware.AfterAck` and reads who asked, and in which
workspace, in one place.

A listener written for it names what it works with (``user_id``, ``workspace_id``) rather
than Bolt's ``body`` and ``context``; Bolt sees the wrapper, which keeps the listener's name
for the failure logs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.middleware import AfterAck, Listener

Body = dict[str, Any]
Clicked = Callable[[Body, str, str, AsyncWebClient], Awaitable[None]]
"""A click's listener, run after the ack: the request's body, who clicked, in which
workspace, and the client."""
Submitted = Callable[[AsyncAck, str, str, Body, AsyncWebClient], Awaitable[None]]
"""A submission's listener, which acks itself (with the form's errors, or to close or update
the modal): its ack, who submitted the view, in which workspace, the view and the client."""
Matcher = str | re.Pattern[str]


class Listen:
    """``@listen.click(action_id, ...)`` and ``@listen.submission(callback_id)``."""

    def __init__(self, app: AsyncApp, after_ack: AfterAck) -> None:
        self.app, self.after_ack = app, after_ack

    def click(self, *action_ids: Matcher) -> Callable[[Clicked], Clicked]:
        """Register a :data:`Clicked` listener for these actions; it is acked at once."""

        def add(listener: Clicked) -> Clicked:
            async def clicked(
                ack: AsyncAck, body: Body, client: AsyncWebClient, context: AsyncBoltContext
            ) -> None:
                await ack()
                await listener(body, body["user"]["id"], str(context.team_id), client)

            self._add(clicked, listener.__name__, [self.app.action(a) for a in action_ids])
            return listener

        return add

    def submission(self, callback_id: Matcher) -> Callable[[Submitted], Submitted]:
        """Register a :data:`Submitted` listener for the submissions of a view."""

        def add(listener: Submitted) -> Submitted:
            async def submitted(
                ack: AsyncAck,
                body: Body,
                view: Body,
                client: AsyncWebClient,
                context: AsyncBoltContext,
            ) -> None:
                await listener(ack, body["user"]["id"], str(context.team_id), view, client)

            self._add(submitted, listener.__name__, [self.app.view(callback_id)])
            return listener

        return add

    def _add(
        self,
        run: Listener,
        name: str,
        matchers: Sequence[Callable[..., object]],
    ) -> None:
        run.__name__ = run.__qualname__ = name  # what a failure's log line names
        bounded = self.after_ack(run)
        for register in matchers:
            register(bounded)
