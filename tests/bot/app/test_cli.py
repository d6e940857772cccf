"""The trustbot command line, as a user runs it (subprocesses, real ports)."""

from __future__ import annotations

import importlib.metadata
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, insert

from bot.app.web import create_web_app
from bot.runtime import Runtime
from bot.runtime.settings import load_settings
from bot.storage import Database
from bot.storage.sealed import new_key
from bot.storage.slack_tables import slack_bots
from slack_emulator import SlackEmulator
from tests.support.cli import (
    SERVE_SETTINGS,
    TRUSTBOT,
    env,
    free_port,
    running,
    trustbot,
    wait_healthy,
)
from tests.support.slack_app import APP_SCOPES
from tests.support.waiting import wait_for


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
            env=env(tmp_path, SLACK_API_URL=emu.api_url, **SERVE_SETTINGS),
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


# -- operations: issue #16 ------------------------------------------------------------------

RUN_SETTINGS = {**SERVE_SETTINGS, "SLACK_APP_TOKEN": "xapp-cli"}


def test_version_comes_from_the_package(tmp_path: Path) -> None:
    out = trustbot(tmp_path, "--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"trustbot {importlib.metadata.version('trustbot')}"


def test_every_missing_setting_is_named_in_one_line(tmp_path: Path) -> None:
    """On main only the first missing setting was named: one more start per setting."""
    out = trustbot(tmp_path, "run")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "TRUSTBOT_PSEUDONYM_KEY",
        "TRUSTBOT_WEBHOOK_SECRET",
        "SLACK_APP_TOKEN",
    ):
        assert f"{name} is not set: expected" in out.stderr
    bad = trustbot(tmp_path, "serve", SLACK_BOT_TOKEN="oops", TRUSTBOT_PSEUDONYM_KEY="short")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "SLACK_BOT_TOKEN is malformed" in bad.stderr
    assert "TRUSTBOT_PSEUDONYM_KEY is malformed" in bad.stderr


@pytest.mark.parametrize("value", ["99999", "-1", "http", "65536"])
def test_attack_a_port_out_of_range_is_one_clear_error(tmp_path: Path, value: str) -> None:
    """On main ``--port 99999`` ended in an OverflowError traceback from bind()."""
    out = trustbot(tmp_path, "serve", "--port", value, **SERVE_SETTINGS)
    assert out.returncode == 2
    assert f"argument --port: '{value}' is not a port: expected 0 to 65535" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_port_in_use_is_one_clear_error(tmp_path: Path) -> None:
    assert trustbot(tmp_path, "migrate").returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        out = trustbot(tmp_path, "serve", "--port", port, "--host", "127.0.0.1", **SERVE_SETTINGS)
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1].startswith(f"trustbot: --port {port}: cannot listen on")
    assert "in use" in out.stderr and "Traceback" not in out.stderr


def test_a_fresh_database_says_it_has_no_schema_yet(tmp_path: Path) -> None:
    """On main: "the database schema is at None"."""
    out = trustbot(tmp_path, "serve", "--port", str(free_port()), **SERVE_SETTINGS)
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == (
        "trustbot: the database has no schema yet: run `trustbot migrate`"
    )


def test_serve_migrate_creates_the_schema_then_serves(tmp_path: Path) -> None:
    with running(
        tmp_path, "serve", "--migrate", SLACK_API_URL="http://127.0.0.1:9/api/", **SERVE_SETTINGS
    ) as server:
        assert httpx.get(f"{server.url}/healthz", timeout=5).json() == {"ok": True}


def test_attack_run_serves_health_and_stops_on_sigterm_while_slack_is_unreachable(
    tmp_path: Path,
) -> None:
    """Slack out of reach (a network outage, a firewall): on main ``trustbot run`` waited for
    Socket Mode before it served /healthz or handled SIGTERM, so an orchestrator saw it dead
    and could not stop it cleanly."""
    assert trustbot(tmp_path, "migrate").returncode == 0
    with running(tmp_path, "run", SLACK_API_URL="http://127.0.0.1:9/api/", **RUN_SETTINGS) as s:
        assert httpx.get(f"{s.url}/healthz", timeout=5).status_code == 200
        wait_for(lambda: "cannot reach Slack" in s.output(), "a warning that Slack is away")
        s.proc.terminate()
        assert s.proc.wait(timeout=15) == 0
    assert "Traceback" not in s.output()


def test_attack_run_with_a_refused_app_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A wrong SLACK_APP_TOKEN: on main slack_sdk retried apps.connections.open every 10 s
    for ever, a traceback each time."""
    assert trustbot(tmp_path, "migrate").returncode == 0
    with SlackEmulator(scopes=APP_SCOPES, bot_token="xoxb-cli", app_token="xapp-right") as emu:
        settings = {**RUN_SETTINGS, "SLACK_APP_TOKEN": "xapp-wrong"}
        with running(tmp_path, "run", healthy=False, SLACK_API_URL=emu.api_url, **settings) as s:
            assert s.proc.wait(timeout=30) == 2
        said = s.output()
    assert said.splitlines()[-1] == (
        "trustbot: SLACK_APP_TOKEN was refused by Slack (invalid_auth): expected an app-level "
        "token (xapp-...) with connections:write, from Basic Information › App-Level Tokens"
    )
    assert said.count("SLACK_APP_TOKEN") == 1 and "Traceback" not in said


def test_migrate_seals_clear_tokens_or_names_the_missing_key(tmp_path: Path) -> None:
    """A database from a version that stored OAuth tokens in clear: ``trustbot migrate``
    without ``TRUSTBOT_TOKEN_KEY`` says so in one line (exit 2); with it, seals them."""
    assert trustbot(tmp_path, "migrate").returncode == 0
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(slack_bots).values(
                client_id="1.2",
                app_id="A1",
                team_id="T1",
                bot_token="xoxb-clear",
                is_enterprise_install=False,
                installed_at=datetime.now(UTC),
            )
        )
    engine.dispose()
    refused = trustbot(tmp_path, "migrate")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "1 Slack token is stored in clear: set TRUSTBOT_TOKEN_KEY" in refused.stderr
    sealed = trustbot(tmp_path, "migrate", TRUSTBOT_TOKEN_KEY=new_key())
    assert sealed.returncode == 0 and "1 Slack token sealed" in sealed.stdout
    assert "xoxb-" not in (tmp_path / "cli.db").read_bytes().decode("latin-1")
