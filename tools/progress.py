"""Progress notifications a workflow sends to its caller as it goes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
