"""Benchmark 5: server CPU per metric. The server process's CPU time (user + system, from /proc,
not wall time: the machine may be shared) during one `optimise_metrics(apply=True)` call over many
clones of metric 101, with the ledger in SQLite and in PostgreSQL.

Each run is the concurrency benchmark's batch (`benchmarks.concurrency.run_batch`: fresh sandbox,
fresh server process, CPU counted from after `tools/list` to the end of the call), once per backend.
For scale, `benchmarks.httpx_floor` measures what a bare httpx client spends per request on the
same sandbox: the floor under our CPU per Cekura request.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio

from benchmarks.clocks import SimSeconds
from benchmarks.concurrency import BatchRun, run_batch
from benchmarks.config import BenchConfig
from benchmarks.mcp_session import ROOT, child_env
from benchmarks.pg import fresh_database, pg_server
from benchmarks.world import build_state, draw_durations
from sandbox import start_background


@dataclass
class CpuRun:
    """One backend's batch, or why it did not run."""

    backend: str
    batch: BatchRun | None
    skipped: str = ""

    @property
    def ms_per_metric(self) -> float | None:
        if self.batch is None or self.batch.server_cpu_s is None:
            return None
        return self.batch.server_cpu_s * 1000 / self.batch.n

    @property
    def ms_per_request(self) -> float | None:
        if self.batch is None or self.batch.server_cpu_s is None or not self.batch.requests:
            return None
        return self.batch.server_cpu_s * 1000 / self.batch.requests


@dataclass
class Floor:
    """CPU a bare httpx client used for `requests` metric GETs."""

    requests: int
    cpu_s: float

    @property
    def ms_per_request(self) -> float:
        return self.cpu_s * 1000 / self.requests


def httpx_floor(config: BenchConfig) -> Floor:
    """Run `benchmarks.httpx_floor` against a one-metric sandbox with the usual latency."""
    state = build_state(config, draw_durations(config, 1, fixed=True), SimSeconds(1.0))
    n = config.floor_requests
    with start_background(state) as sandbox:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.httpx_floor", sandbox.url, str(n)],
            env=child_env({}),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    return Floor(n, float(out.stdout.strip()))


async def run_server_cpu(
    config: BenchConfig,
    database_url: str | None = None,
    report: Callable[[list[CpuRun], Floor], None] | None = None,
    profile_dir: Path | None = None,
) -> tuple[list[CpuRun], Floor]:
    """The batch on SQLite, then on a fresh PostgreSQL database (skipped without a server);
    `profile_dir`: the server's cProfile stats of each call go to sqlite.prof and postgres.prof
    there (profiled runs' CPU figures are inflated by the profiler)."""
    n = config.cpu_metrics
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    sqlite_profile = profile_dir / "sqlite.prof" if profile_dir else None
    pg_profile = profile_dir / "postgres.prof" if profile_dir else None
    batch = await run_batch(config, n, label=f"{n} metrics, SQLite", profile=sqlite_profile)
    runs = [CpuRun("SQLite", batch)]
    with pg_server(database_url) as (server, why):
        if server is None:
            runs.append(CpuRun("PostgreSQL", None, why))
        else:
            with fresh_database(server) as url:
                batch = await run_batch(
                    config, n, label=f"{n} metrics, PG", database_url=url, profile=pg_profile
                )
            runs.append(CpuRun("PostgreSQL", batch))
    floor = await anyio.to_thread.run_sync(httpx_floor, config)
    if report:
        report(runs, floor)
    return runs, floor
