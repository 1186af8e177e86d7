"""`GET /healthz` (the process answers) and `GET /readyz` (its storage is reachable and its schema
current), answered before authentication and the Host check: a load balancer probes by address and
carries no token. The bodies are one status word, so they tell a stranger nothing; why a probe
failed goes to the log. A flood of probes cannot starve the stores: at most one check runs at a
time (probes that arrive meanwhile share its answer), and its answer is reused for READY_CACHE_S.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio

from tools.ledger import LedgerUnavailable

log = logging.getLogger("cekura_optimise.health")
Check = Callable[[], Awaitable[None]]
READY_TIMEOUT_S = 5.0
READY_CACHE_S = 1.0


class _Flight:
    """One run of the checks that concurrent probes wait on; `ready` once `done` is set."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.ready = False


class Health:
    """ASGI middleware that answers the two probe paths itself and passes everything else on.
    `clock` (monotonic seconds) times the cached answer."""

    def __init__(
        self, app: Any, checks: Sequence[Check], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self._checks = tuple(checks)
        self._clock = clock
        self._flight: _Flight | None = None
        self._answered: tuple[float, bool] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in ("/healthz", "/readyz"):
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _answer(send, 405, {"status": "method_not_allowed"}, head=False)
            return
        head = scope["method"] == "HEAD"
        if path == "/healthz":
            await _answer(send, 200, {"status": "ok"}, head=head)
        elif await self._ready():
            await _answer(send, 200, {"status": "ready"}, head=head)
        else:
            await _answer(send, 503, {"status": "unavailable"}, head=head)

    async def _ready(self) -> bool:
        """The last answer if under READY_CACHE_S old, else the answer of the check in flight (one
        is started if none is): shielded, so a probe that hangs up cannot strand the others."""
        if self._answered is not None and self._clock() - self._answered[0] < READY_CACHE_S:
            return self._answered[1]
        flight = self._flight
        if flight is not None:
            await flight.done.wait()
            return flight.ready
        self._flight = flight = _Flight()
        try:
            with anyio.CancelScope(shield=True):
                flight.ready = await self._check()
            self._answered = (self._clock(), flight.ready)
        finally:
            self._flight = None
            flight.done.set()
        return flight.ready

    async def _check(self) -> bool:
        """True when every store answers its check within READY_TIMEOUT_S."""
        try:
            with anyio.fail_after(READY_TIMEOUT_S):
                for check in self._checks:
                    await check()
        except LedgerUnavailable as exc:
            log.warning("not ready: storage unavailable (%s)", exc)
            return False
        except TimeoutError:
            log.warning("not ready: storage did not answer within %gs", READY_TIMEOUT_S)
            return False
        return True


async def _answer(send: Any, status: int, body: dict[str, str], *, head: bool) -> None:
    """A small JSON answer that no cache keeps."""
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if status == 405:
        headers.append((b"allow", b"GET, HEAD"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else data})
