"""Progress notifications a workflow sends to its caller as it goes."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from tools.clock import Clock

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]


class Reporter:
    """Sends increasing progress notifications; a no-op when the caller did not ask for progress.

    `tick`, if given, runs at every report whether or not anyone listens: a workflow that reports
    as it goes uses it as a heartbeat (a write renews its hold on the metric)."""

    def __init__(
        self, send: ProgressFn | None, tick: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self._send = send
        self._tick = tick
        self._count = 0

    async def __call__(self, message: str) -> None:
        if self._tick is not None:
            await self._tick()
        if self._send is None:
            return
        self._count += 1
        await self._send(float(self._count), None, message)


class BatchProgress:
    """One progress line for a whole batch, so no metric's state hides another's: how many are
    done of how many, each metric's latest state (in the order asked) and the time elapsed.

    Each metric reports through its own `reporter(metric_id)`; every report sends the whole line."""

    SHOWN = 12

    def __init__(self, send: ProgressFn | None, metric_ids: list[int], clock: Clock) -> None:
        self._report = Reporter(send)
        self._clock = clock
        self._started = clock.now()
        self._states: dict[int, str] = dict.fromkeys(metric_ids, "queued")
        self._done: set[int] = set()

    def reporter(self, metric_id: int) -> ProgressFn:
        """The progress function one metric's workflow reports through."""

        async def update(_value: float, _total: float | None, message: str | None) -> None:
            await self._set(metric_id, _state_of(metric_id, message or ""))

        return update

    async def finished(self, metric_id: int, status: str) -> None:
        """The metric has its outcome."""
        self._done.add(metric_id)
        await self._set(metric_id, status)

    async def _set(self, metric_id: int, state: str) -> None:
        self._states[metric_id] = state
        await self._report(self.line())

    def line(self) -> str:
        """E.g. `1/3 metrics done, 42s: 101 proposed · 102 optimiser running · 103 queued`."""
        elapsed = self._clock.now() - self._started
        shown = [f"{m} {s}" for m, s in list(self._states.items())[: self.SHOWN]]
        hidden = len(self._states) - len(shown)
        more = [f"{hidden} more"] if hidden > 0 else []
        head = f"{len(self._done)}/{len(self._states)} metrics done, {elapsed:.0f}s"
        return f"{head}: {' · '.join(shown + more)}"


def _state_of(metric_id: int, message: str) -> str:
    """A metric's state from its own progress message: without the `metric N: ` prefix or a
    trailing run id in brackets, short."""
    state = message.removeprefix(f"metric {metric_id}: ").strip()
    state = re.sub(r"\s*\([^()]*\)$", "", state) or "working"
    return state if len(state) <= 60 else state[:59] + "…"
