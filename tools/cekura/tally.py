"""Counting the client's retries per unit of work (one tool call), across the tasks it spawns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class RetryTally:
    """Retries made while this tally was current; nested tallies also count toward their parent."""

    def __init__(self, parent: RetryTally | None) -> None:
        self.count = 0
        self._parent = parent

    def add(self) -> None:
        tally: RetryTally | None = self
        while tally is not None:
            tally.count += 1
            tally = tally._parent


_current: ContextVar[RetryTally | None] = ContextVar("cekura_retry_tally", default=None)


@contextmanager
def tally_retries() -> Iterator[RetryTally]:
    """Count the retries made inside this block (including child tasks started inside it)."""
    tally = RetryTally(_current.get())
    token = _current.set(tally)
    try:
        yield tally
    finally:
        _current.reset(token)


def note_retry() -> None:
    """Called by the client for every retry it makes."""
    tally = _current.get()
    if tally is not None:
        tally.add()
