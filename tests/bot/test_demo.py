"""``trustbot demo``: a short run in-process, and what it leaves behind."""

from __future__ import annotations

import json
import random
import re
import sqlite3
from pathlib import Path

import pytest

from bot.core.prompts import default_bank
from bot.demo import main
from bot.demo.crm import signature
from bot.demo.personas import PEOPLE, Behaviour, team
from bot.demo.render import Directory, mrkdwn

PNG = b"\x89PNG\r\n\x1a\n"


def section(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin : text.index(end, begin)]


@pytest.mark.slow
def test_a_short_demo_runs_offline_and_leaves_its_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One run (two weeks, six reps), checked as a whole: it is the slow part."""
    out = tmp_path / "out"
    assert main(argv=["--weeks", "2", "--team-size", "6", "--out", str(out)]) == 0
    text = capsys.readouterr().out

    # one chart per weekly digest, as uploaded with files_upload_v2
    charts = sorted(out.glob("trust-index-*.png"))
    assert len(charts) == 2
    assert all(chart.read_bytes().startswith(PNG) for chart in charts)

    # all Slack traffic, both ways
    lines = (out / "transcript.jsonl").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    methods = {e.get("method") for e in entries if e.get("kind") == "api"}
    assert {"chat.postMessage", "chat.update", "files.completeUploadExternal"} <= methods
    clicks = [e for e in entries if (e.get("payload") or {}).get("type") == "block_actions"]
    assert clicks and all(e["direction"] == "slack->app" for e in clicks)
    assert any(e.get("kind") == "slash_commands" for e in entries)
    notes = [e for e in entries if (e.get("payload") or {}).get("type") == "view_submission"]
    assert notes  # notes were written in the modal the app opened

    # the database holds the answers, under pseudonyms
    with sqlite3.connect(out / "trustbot.db") as db:
        (answers,) = db.execute("SELECT count(*) FROM response").fetchone()
        (rounds,) = db.execute("SELECT count(*) FROM checkinround").fetchone()
        dumped = " ".join(str(row) for row in db.execute("SELECT * FROM response"))
    assert answers > 40 and rounds >= 2
    assert not any(user_id in dumped for user_id, *_ in PEOPLE)

    # a rep's DMs, rendered from the Block Kit posted
    dms = section(text, "DMs of @nadia", "Weekly digests in #")
    assert "Weekly trust check-in · week of 5 Jan" in dms
    assert "[1]  [2]  [3]  [4]  [5]" in dms  # the buttons of the message as posted
    assert "[Add a note]" in dms
    assert "This check-in has closed" in dms

    # coach, don't judge: at most five questions, a different check-in each week, and a rep
    # who qualifies out or admits a risk keeps their behaviour trend
    coaching = section(text, "Coach, don't judge", "Weekly digests in #")
    assert re.search(r"(\d) different check-ins in \1 weeks; at most 5 questions each", coaching)
    assert "CHANGED" not in coaching
    assert "Seed 000's verdicts on new deals" in coaching
    assert "/trust status › Outcomes" in coaching  # the team's outcomes line, k applied

    # one follow-through: a rep flags a commitment from a nudge, posted in their words
    follow = section(text, "Follow-through: from reflection to action", "Weekly digests in #")
    assert "clicked “Flag a commitment to delivery”" in follow
    assert "Trustbot · in #delivery" in follow and "Commitment to check on" in follow
    assert "Go-live within 6 weeks of signature" in follow

    # a rep with logged trust evidence opens their App Home: their own page and blind spot
    page = section(text, "The rep's own page: @", "Weekly digests in #")
    assert "My behaviour trends" in page and "What buyers have shared with me" in page
    assert "My blind spot check (only I see this)" in page and "Buyers told me" in page
    assert "A practice for next week" in page and "UTC" not in page

    # each weekly digest, with its chart
    digests = section(text, "Weekly digests in #", "── Output")
    assert digests.count("Trust digest: field-sales") == 2
    assert digests.count("Participation:") == 2 and "Team trust index" in digests
    assert digests.count("📈 field-sales: week of") == 2
    # built for decisions: a focus that holds with something to do each week, what is
    # withheld said at most once a digest, and nothing written for developers
    focus = re.findall(r"Coaching focus until [^:]+: [A-Za-z ]+", digests)
    assert len(focus) == 2 and focus[0] == focus[1]
    assert digests.count("This week, do:") == 2
    assert digests.count("so that no one can be singled out") <= 2
    for wording in ("Figures are fixed", "From 00", "split not shown", "not enough responses"):
        assert wording not in digests

    # the manager takes part, and the team hears back
    assert "The manager's own check-in" in text and "Your check-in as a manager" in text
    assert "Trustbot · team summary" in dms and "Your team's week: field-sales" in dms

    # anonymity: no digest names a rep; no Slack user ID is printed at all
    for user_id, name, real_name, _ in PEOPLE:
        assert user_id not in digests
        assert f"@{name}" not in digests and real_name not in digests
    assert not re.search(r"\bU0[A-Z0-9]{4,}", text)


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


def test_a_candid_rep_says_no_to_a_poor_fit_and_didnt_come_up_happens() -> None:
    bank = default_bank()
    advisor = Behaviour(team(4)[1], random.Random(5))
    worth = bank.prompt("value_focus.worth_investment")
    options = ["yes", "no", "not_sure"]
    noes = 0
    for _ in range(40):
        advisor.begin_nudge("poor")
        noes += advisor.answer(worth, options, 0.5) == "no"
    assert noes >= 30  # the trusted advisor qualifies out of nearly every poor fit
    advisor.begin_nudge("good")
    assert {advisor.answer(worth, options, 0.5) for _ in range(40)} <= {"yes", "not_sure"}
    burned_out = Behaviour(team(4)[3], random.Random(5))
    scale = bank.prompt("care.interests_first")
    values = [c.value for c in scale.answer.choices()]
    picked = {burned_out.answer(scale, values, 0.5) for _ in range(200)}
    assert "didnt_come_up" in picked and picked - {"didnt_come_up"} <= set("12345")


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
