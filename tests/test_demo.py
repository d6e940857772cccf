"""``trustbot demo``: a short run in-process, and what it leaves behind."""

from __future__ import annotations

import io
import json
import random
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.demo import main
from bot.demo.crm import signature
from bot.demo.personas import PEOPLE, Behaviour, team
from bot.demo.render import Directory, mrkdwn
from bot.prompts import default_bank

pytestmark = pytest.mark.slow

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """One short run shared by the checks below: two weeks, six reps."""
    out = tmp_path_factory.mktemp("demo") / "out"
    capture = pytest.MonkeyPatch()
    buffer = io.StringIO()
    capture.setattr(sys, "stdout", buffer)
    try:
        code = main(argv=["--weeks", "2", "--team-size", "6", "--out", str(out)])
    finally:
        capture.undo()
    return code, buffer.getvalue(), out


def section(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin : text.index(end, begin)]


def test_the_demo_finishes_and_writes_its_files(demo: tuple[int, str, Path]) -> None:
    code, _, out = demo
    assert code == 0
    charts = sorted(out.glob("trust-index-*.png"))
    assert len(charts) == 2  # one digest a week
    assert all(chart.read_bytes().startswith(PNG) for chart in charts)
    assert (out / "trustbot.db").is_file()


def test_the_transcript_holds_all_slack_traffic(demo: tuple[int, str, Path]) -> None:
    _, _, out = demo
    lines = (out / "transcript.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    methods = {e.get("method") for e in entries if e.get("kind") == "api"}
    assert {"chat.postMessage", "chat.update", "files.completeUploadExternal"} <= methods
    clicks = [e for e in entries if (e.get("payload") or {}).get("type") == "block_actions"]
    assert clicks and all(e["direction"] == "slack->app" for e in clicks)
    assert any(e.get("kind") == "slash_commands" for e in entries)
    notes = [e for e in entries if (e.get("payload") or {}).get("type") == "view_submission"]
    assert notes  # some notes were written in the modal


def test_the_database_has_pseudonymous_answers(demo: tuple[int, str, Path]) -> None:
    _, _, out = demo
    with sqlite3.connect(out / "trustbot.db") as db:
        (answers,) = db.execute("SELECT count(*) FROM response").fetchone()
        (rounds,) = db.execute("SELECT count(*) FROM checkinround").fetchone()
        dumped = " ".join(str(row) for row in db.execute("SELECT * FROM response"))
    assert answers > 40 and rounds >= 2
    assert not any(user_id in dumped for user_id, *_ in PEOPLE)


def test_the_output_shows_a_reps_dms_and_the_digests(demo: tuple[int, str, Path]) -> None:
    _, text, _ = demo
    dms = section(text, "DMs of @nadia", "Weekly digests in #")
    assert "Weekly trust check-in · week of 5 Jan" in dms
    assert "[1]  [2]  [3]  [4]  [5]" in dms  # the buttons of the message as posted
    assert "[Add a note]" in dms
    assert "This check-in has closed" in dms
    digests = section(text, "Weekly digests in #", "── Output")
    assert digests.count("Trust digest: field-sales") == 2
    assert "Participation" in digests and "Trust index" in digests
    assert digests.count("📈 Trust index, last 8 weeks: field-sales") == 2  # the charts


def test_no_digest_names_a_rep(demo: tuple[int, str, Path]) -> None:
    _, text, _ = demo
    digests = section(text, "Weekly digests in #", "── Output")
    for user_id, name, real_name, _ in PEOPLE:
        assert user_id not in digests
        assert f"@{name}" not in digests and real_name not in digests
    assert not re.search(r"\bU0[A-Z0-9]{4,}", text)  # no Slack user ID anywhere in the output


def test_personas_are_repeatable_and_distinct() -> None:
    bank = default_bank()
    prompt = bank.prompt("care.interests_first")
    reps = team(4)
    assert [r.persona.key for r in reps] == ["quota", "advisor", "newcomer", "burned_out"]
    assert len({r.tz for r in team(12)}) == 12

    def answers(rep_index: int, seed: int) -> list[str]:
        behaviour = Behaviour(reps[rep_index], random.Random(seed))
        return [behaviour.answer(prompt, list("12345"), week / 5) for week in range(6)]

    assert answers(2, 1) == answers(2, 1)
    quota, advisor = answers(0, 3), answers(1, 3)
    assert sum(map(int, advisor)) > sum(map(int, quota))
    with pytest.raises(ValueError):
        team(2)


def test_webhook_signature_is_slacks_scheme() -> None:
    # the example from Slack's "Verifying requests from Slack" guide
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
        "-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977"
        "00885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10"
        "d2c447fce8b6703c"
    )
    assert signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_mrkdwn_reads_as_in_slack() -> None:
    names = Directory(users={"U1": "ana"}, channels={"C1": "sales"})
    text = mrkdwn("*Bold* _it_ <@U1> in <#C1> &amp; <https://x.io|a link> :seedling:", names)
    assert text.plain == "Bold it @ana in #sales & a link 🌱"
    assert any("bold" in str(span.style) for span in text.spans)
    quote = mrkdwn("> a quote", names)
    assert quote.plain == "▌ a quote"
