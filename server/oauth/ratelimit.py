"""Rate limits on the OAuth endpoints, per client address and endpoint group (token bucket).

Registration, authorization/consent and token/revocation each get their own bucket of
`per_minute` requests per address, refilled evenly; a request over the limit gets 429 with
Retry-After before it reaches any handler. The address is `addresses.current_address()`: the
peer, or behind a trusted proxy the client it forwarded for; IPv6 by its /64.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from server.oauth.addresses import current_address

Scope = dict[str, Any]

GROUPS: dict[str, str] = {
    "/token": "token",
    "/revoke": "token",
    "/register": "register",
    "/authorize": "consent",
    "/oauth/consent": "consent",
}
MAX_BUCKETS = 50_000


class TokenBuckets:
    """`per_minute` requests per key, refilled continuously; `take` says how long to wait."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, key: tuple[str, str]) -> float:
        """0 if the request may go ahead (and is counted), else seconds until one may."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            self._prune(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= MAX_BUCKETS:
            return
        full_after = self.capacity / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


class RateLimit:
    """ASGI middleware applying TokenBuckets to the OAuth endpoints (everything else passes)."""

    def __init__(self, app: Any, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        group = GROUPS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if group is None or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take((group, current_address()))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = str(max(1, math.ceil(wait)))
        body = json.dumps(
            {
                "error": "rate_limited",
                "error_description": f"Too many requests; try again in {retry_after} seconds.",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", retry_after.encode()),
                    (b"cache-control", b"no-store"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
