"""The reps' hands: reading the DMs the app posted and clicking, selecting and typing as each
rep's persona would, through the emulator (the same payloads Slack would send)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlmodel import col, select

from bot.core.prompts import PromptBank
from bot.demo.model import (
    COMMITMENT_WORDS,
    DB_POLL,
    DELIVERY_ID,
    POLL,
    WAIT,
    FollowShown,
    Outcome,
    Seen,
)
from bot.demo.personas import Behaviour, Rep
from bot.runtime import Runtime
from bot.runtime.clock import ManualClock
from bot.slack.kit.checkin import (
    ANSWER_ACTION,
    NOTE_ACTION,
    NOTE_BLOCK,
    NOTE_INPUT,
    SHARE_BLOCK,
    SHARE_INPUT,
)
from bot.slack.kit.follow_through import WORDS_BLOCK, WORDS_INPUT
from bot.storage.models import Delivery
from slack_emulator import SlackEmulator


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of JSON data (several times faster than ``copy.deepcopy``)."""
    copied: dict[str, Any] = json.loads(json.dumps(value))
    return copied


def _round_id(raw: str) -> str:
    return raw.split("|", 1)[0]


def _answer_of(raw: object, action_id: str) -> str:
    """The answer a button or option stands for: after the ``|`` of its value, else the last
    segment of its action id."""
    text = str(raw or "")
    return text.split("|", 1)[1] if "|" in text else action_id.rsplit(":", 1)[-1]


def chosen(message: dict[str, Any] | None, prompt_id: str) -> str | None:
    """The answer a check-in message shows as picked for ``prompt_id``."""
    for block in (message or {}).get("blocks") or []:
        if block.get("block_id") != f"a|{prompt_id}":
            continue
        for element in block.get("elements") or []:
            if element.get("type") == "static_select":
                option = element.get("initial_option") or {}
                return _answer_of(option.get("value"), "") if option else None
            if element.get("style") == "primary":
                return _answer_of(element.get("value"), element.get("action_id", ""))
    return None


class Hands:
    """What the reps do in Slack; :class:`bot.demo.driver.Driver` adds everyone else."""

    emu: SlackEmulator
    clock: ManualClock
    out: Outcome
    bank: PromptBank
    rt: Runtime
    behaviour: dict[str, Behaviour]
    late: dict[str, Seen]

    # -- plumbing -------------------------------------------------------------

    def warn(self, text: str) -> None:
        if text not in self.out.warnings:
            self.out.warnings.append(text)

    async def until(self, check: Callable[[], object], what: str, limit: float = WAIT) -> bool:
        """Poll ``check`` briefly until it is true; a warning (not a crash) after ``limit`` s."""
        deadline = time.monotonic() + limit
        while not check():
            if time.monotonic() > deadline:
                self.warn(f"timed out waiting for {what}")
                return False
            await asyncio.sleep(POLL)
        return True

    async def until_db(self, count: Callable[[], Any], what: str, limit: float = WAIT) -> None:
        """Poll a database count until it is zero (a warning after ``limit`` seconds)."""
        deadline = time.monotonic() + limit
        while await count():
            if time.monotonic() > deadline:
                self.warn(f"timed out waiting for {what}")
                return
            await asyncio.sleep(DB_POLL)

    def message(self, seen: Seen) -> dict[str, Any] | None:
        """The DM as it reads now, copied under the emulator's lock (its ``message()`` copies
        outside the lock, which races with the app's ``chat.update``)."""
        state = self.emu.state
        with state.lock:
            found = state.get_message(seen.channel, seen.ts)
            return _copy(found) if found else None

    def peek(self, seen: Seen, check: Callable[[dict[str, Any]], bool]) -> bool:
        """``check`` the live DM under the emulator's lock, without copying it."""
        state = self.emu.state
        with state.lock:
            found = state.get_message(seen.channel, seen.ts)
            return found is not None and check(found)

    async def _kinds(self, delivery_ids: Iterable[int]) -> dict[int, str]:
        ids = list(delivery_ids)
        if not ids:
            return {}
        async with self.rt.db.session() as session:
            rows = await session.exec(
                select(Delivery.id, Delivery.kind).where(col(Delivery.id).in_(ids))
            )
            return {i: str(kind) for i, kind in rows.all() if i is not None}

    async def collect(self, reps: Sequence[Rep]) -> list[Seen]:
        """DMs that arrived since the last look, labelled checkin / nudge / reminder."""
        fresh: list[tuple[Rep, dict[str, Any], int | None]] = []
        state = self.emu.state
        for rep in reps:
            with state.lock:
                channel = state.dm_by_user.get(rep.user_id)
                new = [
                    _copy(m)
                    for ts, m in state.messages.get(channel or "", {}).items()
                    if ts not in self.out.seen
                ]
            for message in sorted(new, key=lambda m: float(m["ts"])):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                raw = str(payload.get("delivery_id"))
                fresh.append((rep, message, int(raw) if raw.isdigit() else None))
        kinds = await self._kinds(d for _, _, d in fresh if d is not None)
        now = self.clock.now()
        found = []
        for rep, message, delivery_id in fresh:
            kind = kinds.get(delivery_id, "dm") if delivery_id is not None else "dm"
            if kind == "dm" and "still open" in str(message.get("text", "")):
                kind = "reminder"
            seen = Seen(str(message["channel"]), str(message["ts"]), rep.user_id, kind, now)
            self.out.seen[seen.ts] = seen
            first = self.out.first_checkin is None and rep == self.out.featured
            if kind == "checkin" and first:
                self.out.first_checkin = message
            found.append(seen)
        return found

    async def click(
        self, user: str, action_id: str, seen: Seen, value: str | None = None
    ) -> dict[str, Any] | None:
        """Click ``action_id`` in the DM as it stands now. The message as it was before the
        click, or None when the click could not be made or the app did not acknowledge it."""
        before = self.message(seen)
        if before is None:
            self.warn(f"a DM to a rep disappeared ({seen.ts})")
            return None
        delivery = await self.emu.asend_click(user, action_id, message=before, value=value)
        self.out.clicks += 1
        if not delivery.ok:
            self.warn(f"a click on {action_id} was not acknowledged (HTTP {delivery.status})")
            return None
        return before

    def _progress(self, week: int) -> float:
        return week / max(1, self.out.options.weeks - 1)

    async def answer_checkin(self, rep: Rep, seen: Seen, week: int) -> None:
        behaviour = self.behaviour[rep.user_id]
        message = self.message(seen) or {}
        for block in message.get("blocks") or []:
            block_id = str(block.get("block_id") or "")
            if block.get("type") != "actions" or not block_id.startswith("a|"):
                continue
            prompt_id = block_id[2:]
            if not self.bank.has_prompt(prompt_id) or not behaviour.answers_question():
                continue
            prompt = self.bank.prompt(prompt_id)
            elements = block.get("elements") or []
            if elements and elements[0].get("type") == "static_select":
                options = elements[0].get("options") or []
                values = [_answer_of(o.get("value"), "") for o in options]
                value = behaviour.answer(prompt, values, self._progress(week))
                raw = f"{_round_id(str(options[0].get('value')))}|{value}"
                clicked = await self.click(rep.user_id, f"{ANSWER_ACTION}:{prompt_id}", seen, raw)
            else:
                values = [_answer_of(e.get("value"), e.get("action_id", "")) for e in elements]
                value = behaviour.answer(prompt, values, self._progress(week))
                action_id = f"{ANSWER_ACTION}:{prompt_id}:{value}"
                clicked = await self.click(rep.user_id, action_id, seen)
            if clicked is None:
                continue

            def shown(pid: str = prompt_id, v: str = value) -> bool:
                return self.peek(seen, lambda m: chosen(m, pid) == v)

            await self.until(shown, "a check-in answer to show in the DM")
        note = behaviour.note(week)
        if note is not None and NOTE_ACTION in str(message.get("blocks")):
            await self.write_note(rep, seen, *note)

    def opened_since(self, user: str, index: int) -> dict[str, Any] | None:
        """The first modal opened for ``user`` after view event ``index`` (read in place:
        ``views_opened()`` copies every view ever published, Home tabs included)."""
        state = self.emu.state
        with state.lock:
            for event in state.view_events[index:]:
                if event["user"] == user and event["kind"] in ("open", "push", "ack_push"):
                    return _copy(event["view"])
        return None

    async def write_note(self, rep: Rep, seen: Seen, text: str, shared: bool) -> None:
        """The "Add a note" button, then the modal the app opens, typed into and submitted."""
        with self.emu.state.lock:
            index = len(self.emu.state.view_events)
        if await self.click(rep.user_id, NOTE_ACTION, seen) is None:
            return
        if not await self.until(
            lambda: self.opened_since(rep.user_id, index), "the note modal to open"
        ):
            return
        view = self.opened_since(rep.user_id, index) or {}
        option = next(
            (
                b["element"]["options"][0]
                for b in view.get("blocks") or []
                if b.get("block_id") == SHARE_BLOCK
            ),
            None,
        )
        values = {
            NOTE_BLOCK: {NOTE_INPUT: {"type": "plain_text_input", "value": text}},
            SHARE_BLOCK: {
                SHARE_INPUT: {
                    "type": "checkboxes",
                    "selected_options": [option] if shared and option else [],
                }
            },
        }
        submitted = await self.emu.asend_view_submission(rep.user_id, view, values)
        if not submitted.ok or (isinstance(submitted.body, dict) and submitted.body):
            self.warn("a note was refused by the modal")
            return
        await self.until(
            lambda: self.peek(seen, lambda m: "Edit note" in str(m.get("blocks"))),
            "the note to show in the DM",
        )

    def _prompt_in(self, action_id: str) -> str | None:
        return next((part for part in action_id.split(":") if self.bank.has_prompt(part)), None)

    def fit_of(self, message: dict[str, Any]) -> str | None:
        """What the rep sees of the deal a nudge is about (the CRM knows; see the driver)."""
        return None

    async def answer_nudge(self, rep: Rep, seen: Seen, week: int) -> None:
        """Answer a deal nudge with clicks: every question (a row of buttons or a select
        whose action id names a prompt) gets the persona's answer."""
        behaviour = self.behaviour[rep.user_id]
        message = self.message(seen) or {}
        behaviour.begin_nudge(self.fit_of(message))
        for block in message.get("blocks") or []:
            if block.get("type") != "actions":
                continue
            questions: dict[str, list[tuple[str, str, str | None]]] = {}
            for element in block.get("elements") or []:
                action_id = str(element.get("action_id") or "")
                prompt_id = self._prompt_in(action_id)
                if prompt_id is None:
                    continue
                if element.get("type") == "button":
                    answer = _answer_of(element.get("value"), action_id)
                    questions.setdefault(prompt_id, []).append((answer, action_id, None))
                elif element.get("type") == "static_select":
                    for option in element.get("options") or []:
                        picked = str(option.get("value"))
                        questions.setdefault(prompt_id, []).append(
                            (_answer_of(picked, ""), action_id, picked)
                        )
            for prompt_id, options in questions.items():
                prompt = self.bank.prompt(prompt_id)
                value = behaviour.answer(prompt, [o[0] for o in options], self._progress(week))
                _, clicked, option_value = next(o for o in options if o[0] == value)
                before = await self.click(rep.user_id, clicked, seen, option_value)
                if before is None:
                    return

                def changed(old: dict[str, Any] | None = before) -> bool:
                    return not self.peek(seen, lambda m: m == old)

                await self.until(changed, "a nudge answer to show in the DM", limit=5)
        await self.follow_through(rep, seen)

    async def follow_through(self, rep: Rep, seen: Seen) -> None:
        """The first nudge in the run that offers to flag a commitment to delivery: the rep
        clicks it, writes what they promised in the form, and the bot posts it (once a run,
        so the report has one to show)."""
        if self.out.follow_through is not None:
            return
        message = self.message(seen) or {}
        buttons = [
            e
            for b in message.get("blocks") or []
            if b.get("block_id") == "follow"
            for e in b.get("elements") or []
        ]
        chosen = next((b for b in buttons if str(b.get("action_id")).endswith(":commitment")), None)
        if chosen is None:
            return
        with self.emu.state.lock:
            index = len(self.emu.state.view_events)
        before = len(self.emu.state.list_messages(DELIVERY_ID))
        if await self.click(rep.user_id, str(chosen["action_id"]), seen) is None:
            return
        if not await self.until(
            lambda: self.opened_since(rep.user_id, index), "the commitment form to open"
        ):
            return
        view = self.opened_since(rep.user_id, index) or {}
        values = {
            WORDS_BLOCK: {WORDS_INPUT: {"type": "plain_text_input", "value": COMMITMENT_WORDS}}
        }
        submitted = await self.emu.asend_view_submission(rep.user_id, view, values)
        if not submitted.ok or (isinstance(submitted.body, dict) and submitted.body):
            self.warn("a commitment was refused by its form")
            return

        def posted() -> list[dict[str, Any]]:
            return self.emu.state.list_messages(DELIVERY_ID)[before:]  # copies, under its lock

        if not await self.until(posted, "the commitment to reach the delivery channel"):
            return
        title = next(
            (
                str(b["text"]["text"])
                for b in message.get("blocks") or []
                if b.get("type") == "header"
            ),
            "a deal nudge",
        )
        self.out.follow_through = FollowShown(
            rep.name, title, str(chosen["text"]["text"]), posted()[-1]
        )

    async def rep_turn(self, rep: Rep, arrived: list[Seen], week: int) -> None:
        """A rep reads the DMs that just arrived and acts as their persona would."""
        behaviour = self.behaviour[rep.user_id]
        for seen in arrived:
            if seen.kind == "checkin":
                timing = behaviour.timing()
                if timing == "prompt":
                    await self.answer_checkin(rep, seen, week)
                elif timing == "late":
                    self.late[rep.user_id] = seen
            elif seen.kind == "nudge" and behaviour.answers_nudge():
                await self.answer_nudge(rep, seen, week)
