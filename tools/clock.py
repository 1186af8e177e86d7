"""Wall time and sleeping, injectable so tests and benchmarks never wait for real."""

from __future__ import annotations

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    """What a workflow asks of time: the current time and a sleep."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)
