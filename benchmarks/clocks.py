"""Clocks for the benchmarks: simulated time running `1/factor` times faster than real time, and a
fake clock that only moves when someone sleeps."""

from __future__ import annotations

import time

import anyio


class ScaledClock:
    """A `tools.clock.Clock` on simulated time: starts at the real time, then runs `1/factor`
    times faster; sleeping `s` simulated seconds takes `s * factor` real ones."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self._epoch = time.time()
        self._start = time.monotonic()

    def now(self) -> float:
        return self._epoch + (time.monotonic() - self._start) / self.factor

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds) * self.factor)


class SimSeconds:
    """Simulated seconds since creation, as a plain callable (the sandbox's `clock`)."""

    def __init__(self, factor: float) -> None:
        self.factor = factor
        self._start = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self._start) / self.factor


class FakeClock:
    """Time moves only when someone sleeps, and sleeping returns at once; also callable, so the
    same object can be the sandbox's clock."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await anyio.sleep(0)
