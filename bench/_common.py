"""What several benchmarks share: seeded databases kept between runs, child processes on free
loopback ports, percentiles."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

READY_WITHIN = 60.0  # seconds for a child server to answer
APP_MANIFEST = Path(__file__).resolve().parent.parent / "app.yml"
"""The Slack app manifest: its bot scopes are all an emulator grants the benchmarked app."""
SIGNING_SECRET = "bench-signing-secret"
PSEUDONYM_KEY = "bench-pseudonym-key-0123456789"  # seeded answers are stored under it
WEBHOOK_SECRET = "bench-webhook-secret-0123"


# --------------------------------------------------------------------------- running one


def cli(parser: argparse.ArgumentParser, run: Callable[..., dict[str, Any]], argv: Any) -> Any:
    """Parse ``argv`` (``--json`` added: print the result as JSON too) and call ``run`` with
    the options as keyword arguments; returns its result record."""
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    options = vars(parser.parse_args(argv))
    as_json = options.pop("json")
    result = run(**options)
    if as_json:
        print(json.dumps(result, indent=2))
    return result


def app_env(api_url: str, database_url: str, bot_token: str, admins: str = "") -> dict[str, str]:
    """The settings of a benchmarked Trustbot (as environment variables): the emulator at
    ``api_url``, the database, the bench's secrets and pseudonym key."""
    env = {
        "SLACK_BOT_TOKEN": bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "TRUSTBOT_DATABASE_URL": database_url,
        "TRUSTBOT_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "TRUSTBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    return {**env, "TRUSTBOT_ADMINS": admins} if admins else env


def emulator(bot_token: str, signing_secret: str, **options: Any) -> Any:
    """The project's Slack emulator (a context manager), granting the app only the bot scopes
    of its manifest (``app.yml``)."""
    from slack_emulator import SlackEmulator, scopes_from_manifest

    scopes = scopes_from_manifest(APP_MANIFEST)
    return SlackEmulator(signing_secret, bot_token, scopes=scopes, **options)


# --------------------------------------------------------------------------- seeded databases


def cache_dir() -> Path:
    """Where seeded databases are kept between runs (``TRUSTBOT_BENCH_CACHE`` or a temp dir)."""
    path = Path(
        os.environ.get("TRUSTBOT_BENCH_CACHE")
        or Path(tempfile.gettempdir()) / "trustbot-bench-cache"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def schema_head() -> str:
    """The newest migration: a cached database made under another schema is made again."""
    from alembic.script import ScriptDirectory

    from bot.storage.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    return str(head)


def seeded_copy(key: str, seed: Callable[[Path], object], into: Path) -> bool:
    """Copy to ``into`` the SQLite database cached under ``key``, seeded by ``seed(path)`` the
    first time (and again whenever the schema changes). Returns whether it was cached."""
    cached = cache_dir() / f"{key}-{schema_head()}.db"
    hit = cached.exists()
    if not hit:
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        seed(partial)
        partial.rename(cached)
    shutil.copyfile(cached, into)
    return hit


# --------------------------------------------------------------------------- child processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Until ``url`` answers at all (any status), or the process has died."""
    deadline = time.monotonic() + READY_WITHIN
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # answered, with an error status: it is up
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Child:
    """A command in its own process, stopped (SIGINT, then SIGKILL) when the block ends."""

    def __init__(
        self,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        log: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.args = list(args)
        self.env = {**os.environ, **(env or {})}
        self.log = log
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> Child:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd
            )
        finally:
            if self.log:
                out.close()  # type: ignore[union-attr]
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def python(*args: str) -> list[str]:
    """``python -m ...`` in this interpreter (the project's virtualenv)."""
    return [sys.executable, *args]


def trustbot(*args: str) -> list[str]:
    """The ``trustbot`` console script next to this interpreter (``-m bot.app.cli`` without one)."""
    script = Path(sys.executable).with_name("trustbot")
    return [str(script), *args] if script.exists() else python("-m", "bot.app.cli", *args)


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` (0..1) percentile by the nearest rank."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 1)))
    return ordered[int(rank) - 1]
