"""The ledger: single flight across processes, proposals and applies that survive restarts."""

import multiprocessing
import threading
from pathlib import Path

import pytest

from tools.ledger.sqlite import Ledger


def _claim(path: str, owner: str, barrier, results) -> None:
    ledger = Ledger(path)
    barrier.wait()
    claim = ledger.claim_run(42, "fp", owner)
    results.put((owner, claim.won, claim.run.id))


def test_two_processes_racing_for_a_metric_slot_exactly_one_wins(tmp_path: Path):
    path = str(tmp_path / "ledger.sqlite3")
    Ledger(path)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(path, f"p{i}", barrier, results)) for i in range(2)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sorted(won for _, won, _ in outcomes) == [False, True]
    assert len({run_id for _, _, run_id in outcomes}) == 1


def test_servers_opening_a_new_ledger_at_the_same_moment_all_start(tmp_path: Path):
    """Two servers started together used to fail with "database is locked" on a fresh file."""
    failures: list[Exception] = []
    for attempt in range(100):
        path = tmp_path / f"ledger-{attempt}.sqlite3"
        barrier = threading.Barrier(8)

        def open_ledger(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                Ledger(path).claim_run(42, "fp", threading.current_thread().name)
            except Exception as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_ledger) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_slot_frees_when_the_run_finishes(tmp_path: Path):
    ledger = Ledger(tmp_path / "l.db")
    first = ledger.claim_run(1, "fp1", "a")
    assert first.won and not ledger.claim_run(1, "fp1", "b").won
    ledger.update_run(first.run.id, status="running", progress_id="pid-1")
    assert ledger.inflight_run(1).progress_id == "pid-1"
    won, _ = ledger.settle_run(first.run.id, "unchanged", result={"status": "unchanged"})
    assert won
    assert not ledger.settle_run(first.run.id, "failed")[0]
    assert ledger.inflight_run(1) is None
    assert ledger.last_finished_run(1).result == {"status": "unchanged"}
    assert ledger.claim_run(1, "fp2", "b").won


def test_finish_refuses_an_inflight_status(tmp_path: Path):
    ledger = Ledger(tmp_path / "l.db")
    run = ledger.claim_run(1, "fp", "a").run
    with pytest.raises(ValueError):
        ledger.finish_run(run.id, "running")


def test_state_survives_reopening(tmp_path: Path):
    path = tmp_path / "l.db"
    ledger = Ledger(path)
    run = ledger.claim_run(3, "fp", "a").run
    reopened = Ledger(path)
    assert reopened.inflight_run(3).id == run.id
    proposal = Ledger.new_proposal(
        3, progress_id="p", metric_fingerprint="m", body={"patch": {"type": "x"}}
    )
    reopened.settle_run(run.id, "proposed", proposal=proposal)
    reopened = Ledger(path)
    assert reopened.inflight_run(3) is None
    assert reopened.last_finished_run(3).proposal_id == proposal.id
    assert reopened.latest_proposal(3).body == {"patch": {"type": "x"}}
    assert reopened.proposal(proposal.id).metric_fingerprint == "m"


def test_one_live_apply_per_proposal(tmp_path: Path):
    ledger = Ledger(tmp_path / "l.db")
    won, row = ledger.claim_apply("prop_1", 5, "a")
    again, holder = ledger.claim_apply("prop_1", 5, "b")
    assert won and not again and holder.id == row.id
    ledger.update_apply(row.id, status="reverted")
    assert ledger.claim_apply("prop_1", 5, "c")[0]


def test_recent_run_durations_are_newest_first_and_only_finished_results(tmp_path: Path):
    ledger = Ledger(tmp_path / "l.db")
    for metric_id, (start, end, status) in enumerate(
        [(0, 100, "proposed"), (10, 250, "unchanged"), (20, 30, "failed")], start=1
    ):
        run = ledger.claim_run(metric_id, "fp", "a", now=start).run
        ledger.settle_run(run.id, status, now=end)
    ledger.claim_run(9, "fp", "a", now=5)
    assert ledger.recent_run_durations() == [240, 100]
