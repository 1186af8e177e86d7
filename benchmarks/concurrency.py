"""Benchmark 3: concurrency. Wall time of one `optimise_metrics(apply=True)` call over many metrics
against the same call over one, and the server's peak RSS.

Every metric is a clone of 101 (a clean improvement: optimise, apply, re-score) with the same
optimiser and re-score run time (the medians), so the ratio measures how the work overlaps, not
the spread of run times. Rows: the shipped policy, and the same server with the concurrency
bound lifted to the batch size (what a proposed change would give).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mcp import Client

from benchmarks.clocks import SimSeconds
from benchmarks.config import BenchConfig
from benchmarks.mcp_session import ModelSide, server_env, server_params
from benchmarks.procs import children, cpu_seconds, peak_rss_mb
from benchmarks.world import build_state, draw_durations, metric_ids
from sandbox import start_background

SERVER = "benchmarks.scaled_server"


@dataclass
class BatchRun:
    """One timed `optimise_metrics` call."""

    label: str
    n: int
    concurrency: int | None
    wall_s: float
    peak_rss_mb: float | None
    server_cpu_s: float | None
    requests: int
    statuses: Counter[str]
    time_factor: float


def _signal(pids: list[int], signum: int, profile: Path | None) -> None:
    """Start or stop the server's profiler (only when profiling)."""
    if profile is not None:
        for pid in pids:
            os.kill(pid, signum)


async def run_batch(
    config: BenchConfig,
    n: int,
    *,
    concurrency: int | None = None,
    label: str = "",
    time_factor: float | None = None,
    database_url: str | None = None,
    profile: Path | None = None,
) -> BatchRun:
    """Time `optimise_metrics(apply=True)` over `n` clones of metric 101 through stdio, with the
    ledger in SQLite under a temp dir or in the PostgreSQL database `database_url`; `profile`:
    the server's cProfile stats of the call go to that file."""
    factor = time_factor or config.concurrency_time_factor
    config = dataclasses.replace(config, time_factor=factor)
    state = build_state(
        config,
        draw_durations(config, n, fixed=True),
        SimSeconds(config.time_factor),
        templates=(101,),
    )
    args = ["--time-factor", str(config.time_factor)]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    if profile is not None:
        args += ["--profile", str(profile.resolve())]
    with start_background(state) as sandbox, tempfile.TemporaryDirectory() as tmp:
        env = server_env(sandbox.url, Path(tmp))
        if database_url:
            env["CEKURA_OPTIMISE_DATABASE_URL"] = database_url
        params = server_params(SERVER, *args, env=env)
        earlier = set(children(SERVER))
        async with Client(params) as client:
            await client.list_tools()
            pids = [pid for pid in children(SERVER) if pid not in earlier]
            cpu_before = sum(cpu_seconds(pid) or 0.0 for pid in pids)
            model = ModelSide(client)
            _signal(pids, signal.SIGUSR1, profile)
            started = time.perf_counter()
            result = await model.call(
                "optimise_metrics", {"metric_ids": metric_ids(n), "apply": True}
            )
            wall = time.perf_counter() - started
            _signal(pids, signal.SIGUSR2, profile)
            rss = max((peak_rss_mb(pid) or 0.0 for pid in pids), default=None)
            cpu = sum(cpu_seconds(pid) or 0.0 for pid in pids) - cpu_before
    counts = (result.structured_content or {}).get("counts") or {"error": 1}
    return BatchRun(
        label,
        n,
        concurrency,
        wall,
        rss or None,
        cpu,
        len(state.requests),
        Counter(counts),
        config.time_factor,
    )


async def run_concurrency(
    config: BenchConfig, report: Callable[[list[BatchRun]], None] | None = None
) -> list[BatchRun]:
    """One metric, many metrics as shipped, many metrics with the bound lifted; then the last two
    again on a clock 2.5 times slower, to show how much of the gap is magnified local CPU."""
    many = config.concurrency_metrics
    slow = config.concurrency_time_factor * 2.5
    runs = [
        await run_batch(config, 1, label="1 metric"),
        await run_batch(config, many, label=f"{many} metrics (shipped)"),
        await run_batch(
            config, many, concurrency=many, label=f"{many} metrics, concurrency {many}"
        ),
        await run_batch(config, 1, label=f"1 metric, time factor {slow:g}", time_factor=slow),
        await run_batch(
            config,
            many,
            concurrency=many,
            label=f"{many} metrics, concurrency {many}, time factor {slow:g}",
            time_factor=slow,
        ),
    ]
    if report:
        report(runs)
    return runs
