"""The database server's clock, read by one process: what every replica stamps and judges leases
with, so a replica whose own clock is off by minutes neither takes over a live write early nor
waits on a dead one too long.

`now()` must answer without a round trip (workflows ask it often and synchronously), so the clock
is anchored: the server's `clock_timestamp()` read once, against this process's monotonic clock
at the middle of that round trip, then carried forward by the monotonic clock. The database
re-anchors it at most every `RESYNC_S` as it hands out connections. Error: half a round trip plus
the drift of the monotonic clock over one resync period (milliseconds)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

RESYNC_S = 60.0


class DatabaseClock:
    """A `Clock` reading the database server's time; wall time until first anchored."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._anchor: tuple[float, float] | None = None  # (server time, monotonic then)
        self._last = 0.0

    @property
    def stale(self) -> bool:
        """True when the clock was never anchored or its anchor is older than `RESYNC_S`."""
        return self._anchor is None or self._monotonic() - self._anchor[1] >= RESYNC_S

    async def anchor(self, server_time: Callable[[], Awaitable[float]]) -> None:
        """Read the server's time once (`server_time` does the round trip) and anchor to it."""
        before = self._monotonic()
        server = await server_time()
        after = self._monotonic()
        self._anchor = (server, (before + after) / 2)

    def now(self) -> float:
        if self._anchor is None:
            return time.time()
        server, at = self._anchor
        # never backwards, even when a re-anchor lands a few milliseconds earlier
        self._last = max(self._last, server + self._monotonic() - at)
        return self._last

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)
