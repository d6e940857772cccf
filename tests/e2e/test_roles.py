"""Process roles: one scheduler at a time (by lease), web-only and worker-only processes."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from bot.app import server as server_module
from bot.app.server import ServerThread, TrustbotServer
from bot.runtime import Runtime
from bot.storage import Database
from slack_emulator import SlackEmulator
from tests.support.stack import app_settings
from tests.support.waiting import wait_for


def start(emulator: SlackEmulator, database_url: str, role: str) -> ServerThread:
    settings = app_settings(emulator, database_url)
    return ServerThread(
        TrustbotServer(
            lambda: Runtime(settings=settings, db=Database(database_url)),
            port=0,
            log_level="warning",
            role=role,
        )
    ).start()


def ready(thread: ServerThread) -> httpx.Response:
    return httpx.get(f"{thread.url}/readyz")


def test_one_scheduler_at_a_time_and_a_standby_takes_over(
    emulator: SlackEmulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "LEASE_RENEW", timedelta(seconds=0.1))
    first = start(emulator, database_url, "scheduler")
    wait_for(lambda: ready(first).status_code == 200)
    second = start(emulator, database_url, "scheduler")
    try:
        time.sleep(0.5)
        standby = ready(second)
        assert standby.status_code == 503 and standby.json()["scheduler_lease"] is False
        assert ready(first).json() == {"ok": True, "database": True, "scheduler_lease": True}
        first.stop()  # a clean stop releases the lease at once
        wait_for(lambda: ready(second).status_code == 200)
    finally:
        second.stop()


def test_worker_role_serves_health_but_not_slack(
    emulator: SlackEmulator, database_url: str
) -> None:
    worker = start(emulator, database_url, "worker")
    web = start(emulator, database_url, "web")
    try:
        assert httpx.get(f"{worker.url}/healthz").status_code == 200
        assert ready(worker).json() == {"ok": True, "database": True}
        assert httpx.post(f"{worker.url}/slack/events", content=b"{}").status_code == 404
        assert httpx.post(f"{web.url}/slack/events", content=b"{}").status_code == 401  # unsigned
    finally:
        worker.stop()
        web.stop()
