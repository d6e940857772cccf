"""Keeps the emulator's traffic in memory and, optionally, as a JSON-lines transcript."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

from slack_emulator.models import ApiCall, AppDelivery, ValidationFailure


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": len(value), "base64": base64.b64encode(value[:256]).decode()}
    return str(value)


class TrafficRecorder:
    """Thread-safe lists of the emulator's traffic: Web API calls, deliveries to the app and
    refused payloads (not the product's deal ``Recorder``)."""

    def __init__(self, transcript_path: str | Path | None = None) -> None:
        self._lock = threading.Lock()
        self.calls: list[ApiCall] = []
        self.deliveries: list[AppDelivery] = []
        self.validation_failures: list[ValidationFailure] = []
        self.transcript_path = Path(transcript_path) if transcript_path else None

    def write(self, entry: dict[str, Any]) -> None:
        """Append one line to the transcript (when one is set)."""
        if self.transcript_path is None:
            return
        line = json.dumps({"time": time.time(), **entry}, default=_jsonable, sort_keys=True)
        with self._lock, self.transcript_path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def call(self, call: ApiCall) -> None:
        with self._lock:
            self.calls.append(call)
        self.write(
            {
                "direction": "app->slack",
                "kind": "api",
                "method": call.method,
                "args": {k: v for k, v in call.args.items() if k != "token"},
                "status": call.status,
                "response": call.response,
            }
        )

    def delivery(self, delivery: AppDelivery) -> None:
        with self._lock:
            self.deliveries.append(delivery)
        self.write(
            {
                "direction": "slack->app",
                "kind": delivery.kind,
                "via": delivery.via,
                "payload": delivery.payload,
                "status": delivery.status,
                "response": delivery.body,
                "timed_out": delivery.timed_out,
            }
        )

    def failure(self, failure: ValidationFailure) -> None:
        with self._lock:
            self.validation_failures.append(failure)

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()
            self.deliveries.clear()
            self.validation_failures.clear()

    def snapshot_calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self.calls)

    def snapshot_deliveries(self) -> list[AppDelivery]:
        with self._lock:
            return list(self.deliveries)

    def snapshot_failures(self) -> list[ValidationFailure]:
        with self._lock:
            return list(self.validation_failures)
