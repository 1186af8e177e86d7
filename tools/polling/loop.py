"""Polling a remote job until it settles, on a learned schedule, with a deadline and heartbeats."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tools.clock import Clock
from tools.polling.schedule import PollPolicy, Schedule
from tools.progress import Reporter

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
    started_at: float | None = None,
) -> PollOutcome[T]:
    """Fetch, then again after each wait the schedule gives, until `settled` or `deadline`.

    Without `started_at` (clock time the job started) the first fetch is immediate; with it, the
    first fetch waits while the schedule expects no job of that age to have finished. Between
    polls a heartbeat notification goes out every `policy.heartbeat_s`, so a caller's idle
    watchdog never sees a silent gap even while the remote status stays the same.
    """
    origin = clock.now() if started_at is None else started_at
    schedule = Schedule(policy, knows_start=started_at is not None)
    first = min(schedule.first_wait(clock.now() - origin), max(0.0, deadline - clock.now()))
    if first > 0:
        await _wait(clock, policy, first, report, "waiting before the first status check")
    value = await fetch()
    polls = 1
    previous_age: float | None = 0.0 if started_at is not None else None
    age = clock.now() - origin
    await report(describe(value))
    while True:
        if settled(value):
            schedule.observe(previous_age, age)
            return PollOutcome(value, polls, timed_out=False)
        remaining = deadline - clock.now()
        if remaining <= 0:
            return PollOutcome(value, polls, timed_out=True)
        wait = min(schedule.next_wait(age), remaining)
        await _wait(clock, policy, wait, report, f"{describe(value)} (still waiting)")
        value = await fetch()
        polls += 1
        previous_age, age = age, clock.now() - origin
        await report(describe(value))


async def _wait(clock: Clock, policy: PollPolicy, wait: float, report: Reporter, note: str) -> None:
    """Sleep `wait` seconds in heartbeat-sized chunks, reporting `note` between them."""
    slept = 0.0
    while slept < wait:
        chunk = min(policy.heartbeat_s, wait - slept)
        await clock.sleep(chunk)
        slept += chunk
        if slept < wait:
            await report(note)
