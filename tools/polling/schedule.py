"""When to ask Cekura about a run next.

Before this process has watched a few runs finish, the schedule is PollPolicy's back-off: quick
first polls, then one every `max_s` (Cekura documents polling "about every 30 s"). Once it has seen
`MIN_SAMPLES` runs finish, polls go where those runs finished: a quiet spell while finishing is
unlikely, a steady interval through the range recent runs took, then `max_s` again past it.

The plan is chosen on the durations seen, never on a guess about them: among quiet spells (a low
quantile of recent durations) and intervals (from `initial_s` to `max_s`), it takes the plan with
the lowest expected detection lag that, on those runs, makes no more requests than
`BUDGET_SHARE` of what polling every `max_s` would have (a 5% margin, so the noise of a small
sample does not tip it over). So it learns both the scale and the spread of the run times from
what it observes, and it never plans to spend more than the documented cadence. `benchmarks/`
measures it against fixed 30 s polling (`python -m benchmarks --only polling`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

MIN_SAMPLES = 5
WINDOW = 50
QUIET_QUANTILES: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
INTERVAL_STEPS = 26
HORIZON_FACTOR = 1.25
EPSILON = 1e-3
BUDGET_SHARE = 0.95


class RunTimes:
    """How long the newest `window` runs took, as this process observed them (a run's duration is
    taken as the midpoint between the last poll that saw it running and the one that saw it end)."""

    def __init__(self, window: int = WINDOW) -> None:
        self._seen: deque[float] = deque(maxlen=window)
        self._plans: dict[tuple[float, float, bool], Plan] = {}

    def record(self, seconds: float) -> None:
        """Remember one observed duration (ignored unless positive and finite)."""
        if seconds > 0 and math.isfinite(seconds):
            self._seen.append(seconds)
            self._plans.clear()

    def samples(self) -> tuple[float, ...]:
        return tuple(self._seen)

    def __len__(self) -> int:
        return len(self._seen)

    def plan(self, *, cadence_s: float, floor_s: float, immediate: bool) -> Plan:
        """The plan for these samples, cached until the next observation."""
        key = (cadence_s, floor_s, immediate)
        if key not in self._plans:
            self._plans[key] = plan_polls(
                self.samples(), cadence_s=cadence_s, floor_s=floor_s, immediate=immediate
            )
        return self._plans[key]


@dataclass(frozen=True)
class PollPolicy:
    """How often to ask Cekura about a run: starts quick, backs off to `max_s`; heartbeat keeps the
    caller's idle watchdog fed between polls (Claude Code aborts silent calls)."""

    initial_s: float = 5.0
    factor: float = 1.5
    max_s: float = 30.0
    heartbeat_s: float = 15.0
    # Once runs have been seen to finish, poll where they finished (see Schedule).
    learn: bool = True
    run_times: RunTimes = field(default_factory=RunTimes, compare=False, repr=False)


@dataclass(frozen=True)
class Plan:
    """Poll at `quiet_s` (if above 0), then every `every_s` up to `horizon_s`, then every cadence.

    `expected_polls`, `budget_polls` and `expected_lag_s` are per run, over the samples planned on.
    """

    quiet_s: float
    every_s: float
    horizon_s: float
    expected_polls: float
    budget_polls: float
    expected_lag_s: float


def quantile(ordered: Sequence[float], p: float) -> float:
    """Linear-interpolated quantile of an ascending, non-empty sequence."""
    position = p * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _expected(
    x: float, quiet: float, every: float, horizon: float, cadence: float, immediate: bool
) -> tuple[float, float]:
    """(polls, lag) for a run of `x` seconds, averaged over where it ends between two polls."""
    polls = 1.0 if immediate else 0.0
    if quiet > 0:
        polls += 1
        if x <= quiet:
            return polls, quiet - x
    start = max(quiet, 0.0)
    if x <= horizon:
        return polls + (x - start) / every + 0.5, every / 2
    return polls + (horizon - start) / every + (x - horizon) / cadence + 0.5, cadence / 2


def plan_polls(
    samples: Sequence[float], *, cadence_s: float, floor_s: float, immediate: bool
) -> Plan:
    """The lowest-lag plan that, on `samples`, polls no more than once every `cadence_s` would.

    `immediate`: the caller reads the run once as soon as it starts following it, and that read
    counts against the budget. When no plan fits, the plan is the cadence itself.
    """
    ordered = sorted(samples)
    horizon = HORIZON_FACTOR * ordered[-1]
    cadence_polls = sum(max(1, math.ceil(x / cadence_s)) for x in ordered) / len(ordered)
    budget = BUDGET_SHARE * cadence_polls
    floor_s = min(floor_s, cadence_s)
    step = (cadence_s - floor_s) / (INTERVAL_STEPS - 1)
    best: Plan | None = None
    for p in QUIET_QUANTILES:
        quiet = quantile(ordered, p) if p > 0 else 0.0
        for i in range(INTERVAL_STEPS):
            every = floor_s + i * step
            outcomes = [_expected(x, quiet, every, horizon, cadence_s, immediate) for x in ordered]
            polls = sum(o[0] for o in outcomes) / len(ordered)
            if polls > budget:
                continue
            lag = sum(o[1] for o in outcomes) / len(ordered)
            if best is None or (lag, polls) < (best.expected_lag_s, best.expected_polls):
                best = Plan(quiet, every, horizon, polls, budget, lag)
            break
    if best is None:
        outcomes = [_expected(x, 0.0, cadence_s, 0.0, cadence_s, immediate) for x in ordered]
        best = Plan(
            0.0,
            cadence_s,
            0.0,
            sum(o[0] for o in outcomes) / len(ordered),
            budget,
            sum(o[1] for o in outcomes) / len(ordered),
        )
    return best


class Schedule:
    """The waits of one poll_until call, by the age of the run (seconds since it started, or since
    following began when the start time is unknown)."""

    def __init__(self, policy: PollPolicy, *, knows_start: bool = False) -> None:
        self._policy = policy
        self._knows_start = knows_start
        self._cold_wait = policy.initial_s
        self.plan: Plan | None = None
        if policy.learn and len(policy.run_times) >= MIN_SAMPLES:
            self.plan = policy.run_times.plan(
                cadence_s=policy.max_s, floor_s=policy.initial_s, immediate=not knows_start
            )

    def first_wait(self, age_s: float) -> float:
        """How long to wait before the first read: 0 unless the run's start time is known and the
        plan's quiet spell is still on (a run followed from an unknown age may have ended)."""
        if self.plan is None or not self._knows_start:
            return 0.0
        first = self.plan.quiet_s if self.plan.quiet_s > 0 else self.plan.every_s
        return max(0.0, first - age_s)

    def next_wait(self, age_s: float) -> float:
        """How long to wait after a read made at `age_s`."""
        if self.plan is None:
            wait = self._cold_wait
            self._cold_wait = min(self._policy.max_s, self._cold_wait * self._policy.factor)
            return wait
        return self._next_point(age_s) - age_s

    def _next_point(self, age_s: float) -> float:
        plan = self.plan
        assert plan is not None
        if age_s + EPSILON < plan.quiet_s:
            return plan.quiet_s
        start = max(plan.quiet_s, 0.0)
        steps = math.floor((max(plan.horizon_s, start) - start) / plan.every_s + EPSILON)
        last = start + steps * plan.every_s
        if age_s + EPSILON < last:
            return _after(start, plan.every_s, age_s)
        return _after(last, self._policy.max_s, age_s)

    def observe(self, previous_age_s: float | None, age_s: float) -> None:
        """A read at `age_s` found the run settled; the one at `previous_age_s` found it running."""
        if previous_age_s is not None and self._policy.learn:
            self._policy.run_times.record((previous_age_s + age_s) / 2)


def _after(origin: float, step: float, age_s: float) -> float:
    """The first point of `origin + k * step` (k >= 1) later than `age_s` by more than EPSILON."""
    k = max(1, math.floor((age_s - origin) / step) + 1)
    point = origin + k * step
    while point <= age_s + EPSILON:
        point += step
    return point
