"""A run directory held by another run, for the tests of what a second run into it does."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from mars_core.store import RunDir


@contextlib.contextmanager
def held_by_another_run(path: Path) -> Iterator[threading.Event]:
    """Hold `path`'s run lock from another thread (filelock is reentrant within one thread) until the block ends
    or the yielded event is set."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with RunDir(path).lock():
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        yield release
    finally:
        release.set()
        holder.join()
