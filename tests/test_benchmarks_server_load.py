"""The server-load benchmarks (CPU per metric, replica throughput) run end to end at tiny sizes,
as `python -m benchmarks --load` runs them: they finish, every metric reaches its expected outcome,
and the report shows the figures. Their speed is not asserted."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.__main__ import LOAD, load_parts, run_load  # noqa: E402
from benchmarks.config import BenchConfig  # noqa: E402
from benchmarks.report_load import load_targets  # noqa: E402

pytestmark = [pytest.mark.asyncio, pytest.mark.e2e]
TINY = BenchConfig.quick_run(
    concurrency_time_factor=0.004,
    cpu_metrics=2,
    floor_requests=20,
    throughput_clients=2,
    throughput_seconds=0.5,
    throughput_metrics=2,
)


async def test_the_server_load_benchmarks_run_and_report_on_sqlite_and_postgres(pg_url):
    cpu, floor, throughput = await run_load(TINY, set(LOAD), pg_url, None)

    assert [r.backend for r in cpu] == ["SQLite", "PostgreSQL"]
    for run in cpu:
        assert run.batch is not None, run.skipped
        assert dict(run.batch.statuses) == {"applied": 2}
        assert run.batch.requests > 0 and run.ms_per_metric > 0
    assert floor.requests == 20 and floor.cpu_s > 0
    assert [r.replicas for r in throughput.runs] == [1, 2], throughput.skipped
    for run in throughput.runs:
        assert run.calls > 0 and set(run.statuses) == {"no_new_feedback"}
        assert 0 < run.percentile(50) <= run.percentile(99)
        assert run.server_cpu_s > 0
    report = "\n".join(load_parts(cpu, floor, throughput))
    assert "| SQLite | 2 |" in report and "| PostgreSQL | 2 |" in report
    assert "Two / one replica:" in report
    assert [t.verdict for t in load_targets(cpu, throughput)][1] == "reported"
