"""When to repeat a request to Cekura, and how long to wait first.

A small hand-written policy rather than `stamina`: stamina sleeps with its own `asyncio.sleep`
(no injectable sleep or clock for tests) and cannot give up early when Cekura's `Retry-After`
asks for a longer wait than the caller's deadline allows.

Which requests may be repeated at all is decided by the client, per endpoint; this module only
knows which answers are worth another try and how long to wait.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Statuses where Cekura (or a proxy in front of it) says "not now": trying again later may work.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})

_SECONDS = re.compile(r"\d{1,10}(\.\d{1,6})?")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date.

    Returns None when the header is missing or unreadable; a date in the past gives 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; be lenient with a missing zone
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(
    retry_number: int,
    *,
    initial_s: float,
    max_s: float,
    rng: Callable[[], float] = random.random,
) -> float:
    """Capped exponential backoff with jitter for the `retry_number`-th retry (1-based).

    The wait is between half and all of `min(max_s, initial_s * 2**(retry_number-1))`, so
    concurrent clients spread out but no retry fires almost immediately.
    """
    if retry_number < 1:
        raise ValueError("retry_number starts at 1")
    ceiling = min(max_s, initial_s * 2 ** (retry_number - 1))
    return ceiling * (0.5 + 0.5 * rng())


@dataclass
class Deadline:
    """An overall time budget for one client call, on an injectable monotonic clock."""

    seconds: float
    clock: Callable[[], float]

    def __post_init__(self) -> None:
        self._end = self.clock() + self.seconds

    def remaining(self) -> float:
        return self._end - self.clock()
