"""The ``trustbot`` command as a user runs it: a subprocess with its own environment and port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.waiting import wait_for

TRUSTBOT = [sys.executable, "-m", "bot.app.cli"]
SERVE_SETTINGS = {
    "SLACK_BOT_TOKEN": "xoxb-cli",
    "SLACK_SIGNING_SECRET": "cli-secret",
    "TRUSTBOT_PSEUDONYM_KEY": "cli-pseudonym-key-123",
    "TRUSTBOT_WEBHOOK_SECRET": "cli-webhook",
}
"""Settings that let ``serve`` start (the Slack API URL is the caller's to give)."""


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any Slack or Trustbot setting, a SQLite database
    in ``tmp_path``, and ``extra``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TRUSTBOT_"))}
    base["TRUSTBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    return base | extra


def trustbot(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``trustbot ARGS`` to its end."""
    return subprocess.run(
        [*TRUSTBOT, *args],
        env=env(tmp_path, **extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[str] | Running, timeout: float = 30) -> None:
    """Wait until ``url`` answers 200; fail at once, with its output, if the process ends."""

    def healthy() -> bool:
        process = proc.proc if isinstance(proc, Running) else proc
        if process.poll() is not None:
            said = proc.output() if isinstance(proc, Running) else process.stdout
            text = said if isinstance(said, str) else (said.read() if said else "")
            raise AssertionError(f"trustbot exited: {text}")
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, "trustbot to be healthy", timeout=timeout, interval=0.1)


@dataclass
class Running:
    """A ``trustbot`` process; what it wrote (stdout and stderr) goes to ``log``."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running(tmp_path: Path, *args: str, healthy: bool = True, **extra: str) -> Iterator[Running]:
    """``trustbot ARGS --port <free> --host 127.0.0.1`` running (healthy first, unless told
    not to wait), stopped with SIGTERM at the end."""
    port = free_port()
    log = tmp_path / f"trustbot-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*TRUSTBOT, *args, "--port", str(port), "--host", "127.0.0.1"],
            env=env(tmp_path, **extra),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Running(proc, port, log)
    try:
        if healthy:
            wait_healthy(f"{server.url}/healthz", server)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
