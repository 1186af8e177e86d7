"""Benchmark 5: server CPU per metric. The server process's CPU time (user + system, from /proc,
not wall time: the machine may be shared) during one `optimise_metrics(apply=True)` call over many
clones of metric 101, with the ledger in SQLite and in PostgreSQL.

Each run is the concurrency benchmark's batch (`benchmarks.concurrency.run_batch`: fresh sandbox,
fresh server process, CPU counted from after `tools/list` to the end of the call), once per backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.concurrency import BatchRun, run_batch
from benchmarks.config import BenchConfig
from benchmarks.pg import fresh_database, pg_server


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


async def run_server_cpu(
    config: BenchConfig,
    database_url: str | None = None,
    report: Callable[[list[CpuRun]], None] | None = None,
    profile_dir: Path | None = None,
) -> list[CpuRun]:
    """The batch on SQLite, then on a fresh PostgreSQL database (skipped without a server);
    `profile_dir`: the server's cProfile stats of each call go to sqlite.prof and postgres.prof
    there (profiled runs' CPU figures are inflated by the profiler)."""
    n = config.cpu_metrics
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
    if report:
        report(runs)
    return runs
