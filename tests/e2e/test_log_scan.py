"""A full run of ``trustbot serve --log-level debug`` as a real process, its logs scanned: JSON
lines with request and delivery ids, and not one token, secret or word a rep wrote."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from slack_emulator import SlackEmulator
from tests.support.checkin_dm import note_values
from tests.support.deals import deal, signed_headers
from tests.support.slack_app import APP_SCOPES
from tests.support.stack import trust_in
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-logscan-7b1f0c2d9e"
APP_TOKEN = "xapp-1-A0LOGSCAN-4c5d6e7f"
SECRETS = {
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "SLACK_APP_TOKEN": APP_TOKEN,
    "SLACK_SIGNING_SECRET": "logscan-signing-secret-0a9b8c7d",
    "TRUSTBOT_PSEUDONYM_KEY": "logscan-pseudonym-key-5e4f3a2b1c",
    "TRUSTBOT_WEBHOOK_SECRET": "logscan-webhook-secret-6d7e8f9a",
}
NOTE = "Confession: I padded the Quillfeather renewal forecast by 40% to calm my manager."
NOTE_WORD = "Quillfeather"  # would show even if the sentence were cut or escaped
REPS = ("U0REP1", "U0REP2", "U0REP3")
ADMIN = "U0ADMIN"


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator(
        scopes=APP_SCOPES,
        signing_secret=SECRETS["SLACK_SIGNING_SECRET"],
        bot_token=BOT_TOKEN,
        app_token=APP_TOKEN,
    ) as e:
        e.add_user(ADMIN, name="alex", tz="UTC", is_admin=True)
        for n, rep in enumerate(REPS):
            e.add_user(rep, name=f"rep{n}", tz="UTC")
        e.add_user("U0MGR", name="mia", tz="UTC")
        e.add_channel("C0SALES", name="sales-managers")
        yield e


def lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def start(emu: SlackEmulator, url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``trustbot serve --log-level debug`` with every setting; its base URL from its log."""
    env = {**os.environ, **SECRETS, "SLACK_API_URL": emu.api_url, "TRUSTBOT_DATABASE_URL": url}
    env["TRUSTBOT_ADMINS"] = ADMIN
    log = workdir / "trustbot.log"
    command = [sys.executable, "-m", "bot.app.cli", "serve", "--host", "127.0.0.1", "--port", "0"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--log-level", "debug"], cwd=workdir, env=env, stdout=out, stderr=out
        )

    def listening() -> str | None:
        assert process.poll() is None, log.read_text()
        for line in lines(log):
            found = re.search(r"listening on (http://\S+)", line["message"])
            if found:
                return found.group(1)
        return None

    return process, wait_for(listening, "the server to listen", timeout=30)


def trust(emu: SlackEmulator, text: str, user: str = ADMIN) -> str:
    """``/trust <text>``; the text of the answer (a real process logging at debug: 15 s)."""
    return trust_in(emu, text, user, timeout=15)


def answer_everything(emu: SlackEmulator, rep: str) -> None:
    """Click one answer to every question of the rep's check-in DM."""
    (dm,) = wait_for(lambda: emu.dm_messages(rep), f"{rep}'s check-in")
    for block in dm["blocks"]:
        if block["type"] != "actions" or not block.get("block_id", "").startswith("a|"):
            continue
        element = block["elements"][0]
        value = element["options"][0]["value"] if "options" in element else None
        assert emu.send_click(rep, element["action_id"], value=value).ok


def deal_webhook(base: str) -> httpx.Response:
    body = json.dumps(deal("crm-logscan-1", {"slack_user_id": REPS[0]}, deal_id="D-7"))
    headers = signed_headers(body, SECRETS["TRUSTBOT_WEBHOOK_SECRET"])
    return httpx.post(f"{base}/webhooks/deals", content=body, headers=headers)


def test_a_full_run_logs_ids_and_no_secret_or_free_text(
    emu: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    process, base = start(emu, database_url, tmp_path)
    try:
        emu.connect_http(f"{base}/slack/events")
        assert "created" in trust(emu, "team create sales <#C0SALES|sales-managers>")
        assert "Added" in trust(emu, "team add sales " + " ".join(f"<@{r}>" for r in REPS))
        trust(emu, "team manager sales <@U0MGR>")
        trust(emu, "anonymity sales 3")
        trust(emu, "checkin sales now")
        for rep in REPS:  # delivered by the outbox worker of this process
            answer_everything(emu, rep)

        rep = REPS[0]
        assert emu.send_click(rep, "checkin.note").ok
        (view,) = wait_for(lambda: emu.views_opened(rep), "the note modal")
        saved = emu.send_view_submission(rep, view, note_values(NOTE, shared=True))
        assert saved.ok and not saved.body
        wait_for(lambda: "Edit note" in str(emu.dm_messages(rep)[0]["blocks"]), "the note saved")
        assert emu.send_click(rep, "checkin.note").ok  # reopened: the note goes back to Slack
        reopened = wait_for(lambda: emu.views_opened(rep)[1:], "the note modal again")
        assert NOTE in str(reopened)
        trust(emu, "export", user=rep)  # the rep's CSV, note included, goes to Slack too
        wait_for(lambda: any(NOTE_WORD in str(f.get("content")) for f in emu.files), "export")

        accepted = deal_webhook(base)
        assert accepted.status_code == 202, accepted.text
        assert accepted.headers["x-request-id"]
        # a first run: no complete week yet, so the digest says what it covers and when
        # this week's arrives (posting a past week is in tests/e2e/test_digest_e2e.py)
        assert "A digest covers one whole week" in trust(emu, "digest sales now")
        trust(emu, "status")
        assert httpx.get(f"{base}/healthz", headers={"X-Request-Id": "lb-check-1"}).is_success
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0

    log = tmp_path / "trustbot.log"
    text = log.read_text()
    entries = lines(log)  # every line is one JSON object
    assert {e["level"] for e in entries} >= {"debug", "info"}  # the detailed level was on
    assert any(e.get("request_id") == "lb-check-1" for e in entries)  # the access log line
    assert any("delivery_id" in e for e in entries)
    leaks = {name: value for name, value in SECRETS.items() if value in text}
    assert leaks == {}, f"secrets in the log: {sorted(leaks)}"
    assert "xoxb-" not in text and "xapp-" not in text
    assert NOTE_WORD not in text and NOTE not in text, "a rep's note reached the log"


def test_a_database_error_while_saving_a_note_logs_no_note_and_no_pseudonym(
    emu: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    """Issue #15: a database error's message used to carry the statement's parameters (the
    note, the rep's pseudonym) into the log. The engines hide them now; the error is forced
    here by taking the ``note`` table away while the app runs."""
    from datetime import date, timedelta

    from sqlalchemy import create_engine, text

    from bot.runtime.pseudonyms import Pseudonyms
    from bot.storage import sync_url

    process, base = start(emu, database_url, tmp_path)
    rep = REPS[0]
    try:
        emu.connect_http(f"{base}/slack/events")
        trust(emu, "team create sales <#C0SALES|sales-managers>")
        trust(emu, f"team add sales <@{rep}>")
        trust(emu, "checkin sales now")
        wait_for(lambda: emu.dm_messages(rep), "the check-in")
        assert emu.send_click(rep, "checkin.note").ok
        (view,) = wait_for(lambda: emu.views_opened(rep), "the note modal")
        engine = create_engine(sync_url(database_url))
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE note RENAME TO note_gone"))
        try:
            emu.send_view_submission(rep, view, note_values(NOTE, shared=True))
            wait_for(
                lambda: (
                    "note" in (tmp_path / "trustbot.log").read_text().lower()
                    and any(
                        e["level"] in ("error", "warning") for e in lines(tmp_path / "trustbot.log")
                    )
                ),
                "the error in the log",
            )
        finally:
            with engine.begin() as conn:
                conn.execute(text("ALTER TABLE note_gone RENAME TO note"))
            engine.dispose()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    text_ = (tmp_path / "trustbot.log").read_text()
    assert "note" in text_.lower()  # the failure is there ...
    assert NOTE_WORD not in text_ and NOTE not in text_  # ... but not what the rep wrote
    this_week = date.today() - timedelta(days=date.today().weekday())
    weeks = [this_week + timedelta(weeks=n) for n in (-1, 0, 1)]
    pseudonyms = Pseudonyms(SECRETS["TRUSTBOT_PSEUDONYM_KEY"]).weeks(emu.state.team_id, rep, weeks)
    assert not [p for p in pseudonyms if p in text_], "a pseudonym reached the log"
