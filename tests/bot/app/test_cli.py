"""The trustbot command line, as a user runs it (subprocesses, real ports)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.app.web import create_web_app
from bot.runtime import Runtime
from bot.runtime.settings import load_settings
from bot.storage import Database
from slack_emulator import SlackEmulator
from tests.support.slack_app import APP_SCOPES
from tests.support.waiting import wait_for

TRUSTBOT = [sys.executable, "-m", "bot.app.cli"]


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TRUSTBOT_"))}
    base["TRUSTBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    return base | extra


def trustbot(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRUSTBOT, *args],
        env=env(tmp_path, **extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_explains_each_command(tmp_path: Path) -> None:
    out = trustbot(tmp_path, "--help")
    assert out.returncode == 0
    for word in ("serve", "run", "migrate", "/slack/events", "Socket Mode"):
        assert word in out.stdout


@pytest.mark.parametrize(
    ("command", "extra", "line"),
    [
        ("serve", {}, "trustbot: SLACK_BOT_TOKEN is not set: expected the bot token"),
        ("serve", {"SLACK_BOT_TOKEN": "oops"}, "trustbot: SLACK_BOT_TOKEN is malformed"),
        (
            "run",
            {
                "SLACK_BOT_TOKEN": "xoxb-1",
                "SLACK_SIGNING_SECRET": "s",
                "TRUSTBOT_PSEUDONYM_KEY": "k" * 20,
                "TRUSTBOT_WEBHOOK_SECRET": "w",
            },
            "trustbot: SLACK_APP_TOKEN is not set",
        ),
        (
            "migrate",
            {"TRUSTBOT_DATABASE_URL": "oracle://x"},
            "trustbot: TRUSTBOT_DATABASE_URL is malformed",
        ),
    ],
)
def test_bad_settings_stop_with_one_line(
    tmp_path: Path, command: str, extra: dict[str, str], line: str
) -> None:
    out = trustbot(tmp_path, command, **extra)
    assert out.returncode == 2
    assert out.stderr.startswith(line)
    assert out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr


def test_migrate_then_serve_answers_healthz_and_signed_help(tmp_path: Path) -> None:
    assert trustbot(tmp_path, "migrate").returncode == 0
    again = trustbot(tmp_path, "migrate")
    assert again.returncode == 0 and "database at revision" in again.stdout
    with SlackEmulator(scopes=APP_SCOPES, signing_secret="cli-secret", bot_token="xoxb-cli") as emu:
        port = free_port()
        proc = subprocess.Popen(
            [*TRUSTBOT, "serve", "--port", str(port), "--host", "127.0.0.1"],
            env=env(
                tmp_path,
                SLACK_BOT_TOKEN="xoxb-cli",
                SLACK_SIGNING_SECRET="cli-secret",
                SLACK_API_URL=emu.api_url,
                TRUSTBOT_PSEUDONYM_KEY="cli-pseudonym-key-123",
                TRUSTBOT_WEBHOOK_SECRET="cli-webhook",
            ),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
            emu.connect_http(f"http://127.0.0.1:{port}/slack/events")
            reply = emu.send_command("/trust", "help", user_id="U0REP1", channel_id="C0SALES")
            assert reply.status == 200
            assert "/trust forget-me" in str(reply.body)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_serve_refuses_an_out_of_date_schema(tmp_path: Path) -> None:
    out = trustbot(
        tmp_path,
        "serve",
        "--port",
        str(free_port()),
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        TRUSTBOT_PSEUDONYM_KEY="k" * 20,
        TRUSTBOT_WEBHOOK_SECRET="w",
    )
    assert out.returncode == 2
    assert "run `trustbot migrate`" in out.stderr


async def test_healthz_is_503_when_the_database_is_gone() -> None:
    settings = load_settings(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    runtime = Runtime(settings=settings, db=Database("postgresql://nobody@127.0.0.1:1/gone"))
    from bot.app.bolt import create_app

    web = create_web_app(runtime, create_app(runtime))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t") as c:
        r = await c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["ok"] is False
    await runtime.db.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"trustbot exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, "trustbot serve to be healthy", timeout=timeout, interval=0.1)


def test_a_bad_prompt_file_stops_start_up_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.app import cli
    from bot.core import prompts

    bad = tmp_path / "prompts"
    bad.mkdir()
    for name in ("questions.yaml", "moments.yaml", "tips.yaml"):
        src = Path(prompts.__file__).parents[3] / "prompts" / name
        (bad / name).write_text(src.read_text())
    text = (bad / "questions.yaml").read_text()
    (bad / "questions.yaml").write_text(text.replace("dimension: candor", "dimension: bravado", 1))
    monkeypatch.setattr(prompts, "default_bank", lambda: prompts.load_bank(bad))
    for name, value in env(tmp_path).items():
        monkeypatch.setenv(name, value)
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "TRUSTBOT_PSEUDONYM_KEY": "k" * 20,
        "TRUSTBOT_WEBHOOK_SECRET": "w",
    }.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve", "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert err.startswith("trustbot: ") and "questions.yaml" in err and "bravado" in err
    assert err.count("\n") == 1
