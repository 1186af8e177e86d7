"""The server-load benchmarks (CPU per metric, replica throughput) run end to end at tiny sizes:
they finish, every metric reaches its expected outcome, and the figures are filled in. Their
speed is not asserted (`python -m benchmarks --load` reports it)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.config import BenchConfig  # noqa: E402
from benchmarks.server_cpu import run_server_cpu  # noqa: E402
from benchmarks.throughput import run_throughput  # noqa: E402

pytestmark = [pytest.mark.asyncio, pytest.mark.e2e]
TINY = BenchConfig.quick_run(
    concurrency_time_factor=0.004,
    cpu_metrics=2,
    throughput_clients=2,
    throughput_seconds=0.5,
    throughput_metrics=2,
    floor_requests=20,
)


async def test_server_cpu_per_metric_runs_on_sqlite_and_postgres(pg_url):
    runs, floor = await run_server_cpu(TINY, pg_url)
    assert [r.backend for r in runs] == ["SQLite", "PostgreSQL"]
    for run in runs:
        assert run.batch is not None, run.skipped
        assert dict(run.batch.statuses) == {"applied": 2}
        assert run.batch.requests > 0
        assert run.ms_per_metric is not None and run.ms_per_metric > 0
    assert floor.requests == TINY.floor_requests and floor.cpu_s > 0


async def test_cheap_path_throughput_runs_with_one_and_two_replicas(pg_url):
    result = await run_throughput(TINY, pg_url)
    assert [r.replicas for r in result.runs] == [1, 2], result.skipped
    for run in result.runs:
        assert run.calls > 0
        assert set(run.statuses) == {"no_new_feedback"}
        assert 0 < run.percentile(50) <= run.percentile(99)
        assert run.server_cpu_s > 0
