"""The soak with its workers spread over two processes sharing one PostgreSQL ledger (as two
replicas would): under seeded faults and cancelled calls, its three counts stay zero: duplicate
runs started, silent regressions, unhandled exceptions."""

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.asyncio
SECONDS = 15.0


async def test_a_soak_over_two_processes_on_postgresql_keeps_its_three_counts_zero(
    pg_url, monkeypatch
):
    monkeypatch.syspath_prepend(str(ROOT))  # the benchmarks are not an installed package
    soak = importlib.import_module("benchmarks.soak").soak
    tally = await soak(SECONDS, 4, 10_000, 7, database_url=pg_url, processes=2)
    assert tally.duplicates == 0
    assert tally.regressions == []
    assert tally.unhandled == []
    assert set(tally.cycles_by_process) == {0, 1}
    assert min(tally.cycles_by_process.values()) >= 5
    assert len(tally.starts) >= 5 and tally.faults >= 5
    assert tally.statuses["apply:applied"] + tally.statuses["apply:applied_unverified"] >= 1
