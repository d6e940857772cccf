"""glibc's allocator, set for a long-running server (measured with bench/memory).

glibc gives each thread that allocates its own arena, up to 8 per core, and memory freed in
one arena serves only that arena: a server whose event loop, database writer thread and
executor threads take turns building digests ends up holding the peak of each. In
bench/memory (10,000 reps, 1,000 digests, the same work done) ``trustbot serve`` peaked at
227 MB; with two arenas at 198 MB; with the memory freed after each batch of digests given
back too (:func:`trim`), at 186 MB. ``MALLOC_ARENA_MAX`` set in the environment wins; on a C
library other than glibc nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter (glibc's malloc.h)
ARENAS = 2


@functools.cache  # looking the library up reads the linker's cache: once a process
def _glibc() -> Any | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = ARENAS, libc: Any | None = None) -> bool:
    """At start-up, before threads: at most ``arenas`` malloc arenas (unless the environment
    says otherwise). Whether the limit was set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False  # glibc read it at start
    libc = libc if libc is not None else _glibc()
    if libc is None:
        return False
    done = bool(libc.mallopt(M_ARENA_MAX, arenas))
    log.debug("malloc arenas limited to %s: %s", arenas, done)
    return done


def trim(libc: Any | None = None) -> None:
    """Give the memory freed after a large piece of work (a batch of digests) back to the
    system, so that the next piece starts from less."""
    libc = libc if libc is not None else _glibc()
    if libc is not None:
        libc.malloc_trim(0)
