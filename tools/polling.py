"""Polling a remote job until it settles, with back-off, a deadline and heartbeat progress."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tools.workflow import Clock, PollPolicy, Reporter

T = TypeVar("T")


@dataclass
class PollOutcome(Generic[T]):
    """The last state seen, how many polls it took, and whether the deadline ran out first."""

    value: T
    polls: int
    timed_out: bool


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    settled: Callable[[T], bool],
    describe: Callable[[T], str],
    *,
    clock: Clock,
    policy: PollPolicy,
    deadline: float,
    report: Reporter,
) -> PollOutcome[T]:
    """Fetch now, then after each back-off interval, until `settled` or `deadline` (clock time).

    Between polls a heartbeat notification goes out every `policy.heartbeat_s`, so a caller's idle
    watchdog never sees a silent gap even while the remote status stays the same.
    """
    value = await fetch()
    polls = 1
    await report(describe(value))
    for wait in policy.intervals():
        if settled(value):
            return PollOutcome(value, polls, timed_out=False)
        remaining = deadline - clock.now()
        if remaining <= 0:
            return PollOutcome(value, polls, timed_out=True)
        wait = min(wait, remaining)
        slept = 0.0
        while slept < wait:
            chunk = min(policy.heartbeat_s, wait - slept)
            await clock.sleep(chunk)
            slept += chunk
            if slept < wait:
                await report(f"{describe(value)} (still waiting)")
        value = await fetch()
        polls += 1
        await report(describe(value))
    raise AssertionError("unreachable: intervals() never ends")
