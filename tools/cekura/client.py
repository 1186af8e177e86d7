"""Async client for the Cekura endpoints this project uses (contract: cekura-api.md §2-§7, §12).

The endpoint methods live in one module per resource; `transport` sends every call, deciding
from its retry table which failures are worth another attempt.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
import httpx

from .call_logs import CallLogCalls
from .history import HistoryCalls
from .metrics import MetricCalls
from .optimiser import OptimiserCalls
from .preview import PreviewCalls
from .schedules import ScheduleCalls
from .transport import Transport

__all__ = ["DEFAULT_BASE_URL", "CekuraClient"]

DEFAULT_BASE_URL = "https://api.cekura.ai"


class CekuraClient(
    OptimiserCalls, MetricCalls, HistoryCalls, ScheduleCalls, CallLogCalls, PreviewCalls
):
    """One shared HTTP connection pool to Cekura; use `async with` or call `aclose()`.

    At most `max_in_flight` requests are on the wire at once (many workflows share one client).
    `sleep` and `clock` exist so tests can run retries and deadlines without waiting.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        deadline_s: float = 120.0,
        max_attempts: int = 5,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        user_agent: str = "cekura-optimise/0.1",
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = 8,
    ) -> None:
        self._transport = Transport(
            api_key,
            base_url,
            transport=transport,
            timeout_s=timeout_s,
            deadline_s=deadline_s,
            max_attempts=max_attempts,
            backoff_initial_s=backoff_initial_s,
            backoff_max_s=backoff_max_s,
            sleep=sleep,
            user_agent=user_agent,
            clock=clock,
            max_in_flight=max_in_flight,
        )
        self.base_url = self._transport.base_url

    def __repr__(self) -> str:
        return f"CekuraClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> CekuraClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._transport.aclose()
