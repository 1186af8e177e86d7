"""The learned polling schedule: back-off until runs have been seen, then polls where they ended,
never planning more reads than the documented 30 s cadence would make on those runs."""

import itertools
import math
import random

import pytest

from support import FakeClock
from tools.polling.loop import poll_until
from tools.polling.schedule import MIN_SAMPLES, PollPolicy, Schedule, plan_polls
from tools.progress import Reporter

pytestmark = pytest.mark.anyio


def _learned(durations, **policy) -> PollPolicy:
    poll = PollPolicy(**policy)
    for seconds in durations:
        poll.run_times.record(seconds)
    return poll


def test_back_off_until_enough_runs_were_seen():
    poll = _learned([200.0] * (MIN_SAMPLES - 1))
    schedule = Schedule(poll)
    assert schedule.plan is None
    assert [schedule.next_wait(0.0) for _ in range(6)] == [5.0, 7.5, 11.25, 16.875, 25.3125, 30.0]


def test_no_learning_when_turned_off():
    poll = _learned([200.0] * 10, learn=False)
    assert Schedule(poll).plan is None


@pytest.mark.parametrize("immediate", [True, False])
def test_plans_stay_within_the_cadence_budget(immediate):
    rng = random.Random(3)
    for median, sigma in [(180, 0.5), (60, 1.0), (20, 0.3), (600, 0.2)]:
        samples = [median * math.exp(rng.gauss(0, sigma)) for _ in range(40)]
        plan = plan_polls(samples, cadence_s=30.0, floor_s=5.0, immediate=immediate)
        assert plan.every_s >= 5.0
        assert plan.expected_polls <= plan.budget_polls or plan.every_s == 30.0


def test_learned_schedule_waits_out_the_quiet_spell_then_polls_steadily():
    poll = _learned([170.0, 180.0, 190.0, 200.0, 210.0, 185.0, 195.0])
    schedule = Schedule(poll)
    assert schedule.plan is not None and schedule.plan.quiet_s > 100
    ages = [0.0]
    for _ in range(8):
        ages.append(ages[-1] + schedule.next_wait(ages[-1]))
    assert ages[1] == pytest.approx(schedule.plan.quiet_s)
    assert all(b - a > 0 for a, b in itertools.pairwise(ages))
    assert all(b - a <= 30.0 + 1e-9 for a, b in itertools.pairwise(ages[1:]))


async def test_poll_until_learns_durations_and_skips_the_first_read_when_the_start_is_known():
    clock = FakeClock()
    poll = PollPolicy()
    reads: list[float] = []

    async def run_once(duration: float, started_at: float | None) -> None:
        start = clock.now()
        if started_at is not None:
            started_at = start

        async def fetch() -> bool:
            reads.append(clock.now() - start)
            return clock.now() - start >= duration

        await poll_until(
            fetch,
            lambda done: done,
            lambda done: "done" if done else "running",
            clock=clock,
            policy=poll,
            deadline=start + 3600,
            report=Reporter(None),
            started_at=started_at,
        )

    for _ in range(MIN_SAMPLES):
        await run_once(200.0, None)
    assert len(poll.run_times) == MIN_SAMPLES
    assert all(150 < d <= 215 for d in poll.run_times.samples())
    reads.clear()
    await run_once(200.0, started_at=0.0)
    assert reads[0] > 60, "the first read waits for the quiet spell"
    assert len(reads) <= math.ceil(200 / 30)
