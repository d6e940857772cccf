"""glibc's allocator settings for the server (bot/runtime/allocator.py)."""

from __future__ import annotations

import pytest

from bot.runtime import allocator


class FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[int, ...]]] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", (param, value)))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", (pad,)))
        return 1


def test_the_server_limits_glibc_to_two_arenas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    libc = FakeLibc()
    assert allocator.limit_arenas(libc=libc)
    assert libc.calls == [("mallopt", (allocator.M_ARENA_MAX, 2))]


def test_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    libc = FakeLibc()
    assert not allocator.limit_arenas(libc=libc)
    assert libc.calls == []


def test_without_glibc_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr(allocator, "_glibc", lambda: None)
    assert not allocator.limit_arenas()
    allocator.trim()  # no error


def test_trim_gives_freed_memory_back() -> None:
    libc = FakeLibc()
    allocator.trim(libc=libc)
    assert libc.calls == [("malloc_trim", (0,))]
