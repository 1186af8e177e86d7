"""Benchmark 2: polling. Progress requests per optimisation and completion-detection lag (from the
moment the run is due in the sandbox to the read that sees it finished), on a fake clock shared by
the sandbox and the workflow, so hundreds of multi-minute runs take seconds.

Policies compared over the same run times, each as one long-lived process would meet them:
- fixed 30 s: the raw routine (start, then read every 30 s; no read at the start);
- back-off only: our PollPolicy without learning (what shipped before the learned schedule);
- ours: the real `optimise_metric` with the default PollPolicy (learns from runs it sees);
- ours + start time: `poll_until` given the run's start time, so the schedule can skip the read
  at the start (a one-line change in `tools/workflows/follow.py`, suggested, not made).
"""

from __future__ import annotations

import math
import random
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.clocks import FakeClock
from benchmarks.config import BenchConfig
from sandbox import SandboxState, sandbox_transport
from tools.cekura.client import CekuraClient
from tools.context import Policy, Workflow
from tools.ledger import open_ledger
from tools.polling.loop import poll_until
from tools.polling.schedule import PollPolicy
from tools.progress import Reporter
from tools.workflows.optimise import optimise_metric

METRIC = 101
FIXED = "fixed 30 s (raw routine)"
BACKOFF = "back-off only (before)"
OURS = "ours (learned schedule)"
OURS_STARTED = "ours + run start time"
POLICIES = (FIXED, BACKOFF, OURS, OURS_STARTED)


@dataclass
class PollStats:
    """Per-optimisation figures for one policy over one run-time distribution."""

    distribution: str
    policy: str
    runs: int
    requests_mean: float
    lag_median_s: float
    lag_mean_s: float
    lag_p90_s: float


class _Recorder(httpx.AsyncBaseTransport):
    """Passes requests through, noting the (fake) time of each progress read by progress id."""

    def __init__(self, inner: httpx.AsyncBaseTransport, clock: FakeClock) -> None:
        self.inner = inner
        self.clock = clock
        self.reads: dict[str, list[float]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/process_feedbacks_progress/"):
            progress_id = request.url.params.get("progress_id", "")
            self.reads.setdefault(progress_id, []).append(self.clock())
        return await self.inner.handle_async_request(request)


def distributions(config: BenchConfig) -> dict[str, list[float]]:
    """The main run-time distribution (from the config) and two others, each from the seed."""
    rng = random.Random(config.seed + 1)
    n = config.polling_runs
    other = max(20, n // 2)
    main = f"lognormal median {config.optimiser_median_s:g} s, sigma {config.optimiser_sigma:g}"
    return {
        main: [
            config.optimiser_median_s * math.exp(rng.gauss(0, config.optimiser_sigma))
            for _ in range(n)
        ],
        "lognormal median 60 s, sigma 1.0": [
            60 * math.exp(rng.gauss(0, 1.0)) for _ in range(other)
        ],
        "exponential mean 150 s": [rng.expovariate(1 / 150) for _ in range(other)],
    }


async def _measure(policy: str, durations: list[float]) -> list[tuple[int, float]]:
    """(progress reads, detection lag) per run, for one policy over `durations` in order."""
    clock = FakeClock()
    state = SandboxState.seeded(clock=clock)
    recorder = _Recorder(sandbox_transport(state), clock)
    out: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with CekuraClient(
            "bench-key", "http://sandbox.bench", transport=recorder, sleep=clock.sleep, clock=clock
        ) as client:
            poll = PollPolicy(learn=policy != BACKOFF)
            wf = Workflow(
                client=client,
                ledger=open_ledger(Path(tmp) / "ledger.sqlite3"),
                clock=clock,
                policy=Policy(poll=poll),
                owner="bench",
            )
            for seconds in durations:
                state.faults.slow_run(METRIC, seconds=seconds, times=1)
                progress_id = await _one_run(policy, wf, client, clock)
                job = state.optimiser_jobs[progress_id]
                reads = recorder.reads[progress_id]
                out.append((len(reads), reads[-1] - (job.timer.started + seconds)))
    return out


async def _one_run(policy: str, wf: Workflow, client: CekuraClient, clock: FakeClock) -> str:
    if policy in (BACKOFF, OURS):
        result = await optimise_metric(wf, METRIC, force=True)
        assert result.progress_id is not None, result.summary
        return result.progress_id
    progress_id = await client.start_optimisation(METRIC)
    if policy == FIXED:
        while True:
            await clock.sleep(30.0)
            state = await client.get_optimisation_progress(progress_id)
            if state.state != "running":
                return progress_id
    started = clock.now()
    await poll_until(
        lambda: client.get_optimisation_progress(progress_id),
        lambda s: s.state != "running",
        lambda s: s.state,
        clock=clock,
        policy=wf.policy.poll,
        deadline=started + 6 * 3600,
        report=Reporter(None),
        started_at=started,
    )
    return progress_id


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


async def run_polling(
    config: BenchConfig, report: Callable[[list[PollStats]], None] | None = None
) -> list[PollStats]:
    """Every policy over every distribution."""
    results: list[PollStats] = []
    for name, durations in distributions(config).items():
        group = []
        for policy in POLICIES:
            runs = await _measure(policy, durations)
            lags = [lag for _, lag in runs]
            group.append(
                PollStats(
                    name,
                    policy,
                    len(runs),
                    statistics.fmean(r for r, _ in runs),
                    statistics.median(lags),
                    statistics.fmean(lags),
                    _p90(lags),
                )
            )
        results.extend(group)
        if report:
            report(group)
    return results
