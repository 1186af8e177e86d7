"""Contract: runs and proposals. One run in flight per metric; every change of a run is a
compare-and-set on its current status, so a caller that lost a race sees what the winner did."""

import pytest

from tools.ledger.models import new_proposal

from .backends import open_backend

pytestmark = pytest.mark.asyncio


async def _claim(ledger, metric_id: int, owner: str = "a", *, now: float = 1.0, fp: str = "fp"):
    return await ledger.claim_run(metric_id, fp, owner, None, None, now=now)


async def test_the_slot_is_held_until_the_run_closes(ledger):
    first = await _claim(ledger, 1)
    second = await _claim(ledger, 1, "b")
    assert first.won and not second.won and second.run.id == first.run.id
    moved = await ledger.move_run(
        first.run.id, expect=("starting",), status="running", progress_id="pid-1", now=2
    )
    assert moved.won and (await ledger.inflight_run(1)).progress_id == "pid-1"
    closed = await ledger.close_run(
        first.run.id, "unchanged", result={"status": "unchanged"}, now=3
    )
    assert closed.won and closed.run.status == "unchanged"
    again = await ledger.close_run(first.run.id, "failed", now=4)
    assert not again.won and again.run.status == "unchanged"
    assert await ledger.inflight_run(1) is None
    assert (await ledger.last_finished_run(1)).result == {"status": "unchanged"}
    assert (await _claim(ledger, 1, "b", fp="fp2")).won


async def test_a_move_from_a_status_the_run_left_loses_and_changes_nothing(ledger):
    run = (await _claim(ledger, 1)).run
    await ledger.move_run(run.id, expect=("starting",), status="running", progress_id="p", now=2)
    lost = await ledger.move_run(run.id, expect=("starting",), status="unknown", now=3)
    assert not lost.won and lost.run.status == "running" and lost.run.updated_at == 2


async def test_a_released_run_is_never_revived(ledger):
    old = (await _claim(ledger, 1)).run
    await ledger.close_run(old.id, "abandoned", note="released", now=2)
    newer = (await _claim(ledger, 1, "b", now=3)).run
    for status in ("running", "paused", "unknown"):
        lost = await ledger.move_run(
            old.id, expect=("starting", "running", "paused", "unknown"), status=status, now=4
        )
        assert not lost.won and lost.run.status == "abandoned"
    holder = await ledger.inflight_run(1)
    assert holder.id == newer.id and holder.status == "starting" and holder.owner == "b"


async def test_in_flight_and_final_statuses_are_not_interchangeable(ledger):
    run = (await _claim(ledger, 1)).run
    with pytest.raises(ValueError):
        await ledger.close_run(run.id, "running", now=2)
    with pytest.raises(ValueError):
        await ledger.move_run(run.id, expect=("starting",), status="proposed", now=2)


async def test_a_proposal_is_stored_only_by_the_caller_that_closes_the_run(ledger, backend, where):
    run = (await _claim(ledger, 3)).run
    mine = new_proposal(3, progress_id="p", metric_fingerprint="m", body={"patch": {"type": "x"}})
    theirs = new_proposal(3, progress_id="p", metric_fingerprint="m", body={"patch": {"type": "y"}})
    assert (await ledger.close_run(run.id, "proposed", proposal=mine, now=2)).won
    assert not (await ledger.close_run(run.id, "proposed", proposal=theirs, now=3)).won
    reopened = open_backend(backend, where)
    assert (await reopened.last_finished_run(3)).proposal_id == mine.id
    assert (await reopened.latest_proposal(3)).body == {"patch": {"type": "x"}}
    assert (await reopened.proposal(mine.id)).metric_fingerprint == "m"
    assert await reopened.proposal(theirs.id) is None
    await reopened.aclose()


async def test_state_survives_reopening(ledger, backend, where):
    run = (await _claim(ledger, 3)).run
    await ledger.move_run(run.id, expect=("starting",), status="running", progress_id="p-3", now=2)
    reopened = open_backend(backend, where)
    assert (await reopened.inflight_run(3)).id == run.id
    assert (await reopened.run_by_progress_id("p-3")).id == run.id
    assert (await reopened.run(run.id)).status == "running"
    await reopened.aclose()


async def test_recent_run_durations_are_newest_first_and_only_finished_results(ledger):
    for metric_id, (start, end, status) in enumerate(
        [(0, 100, "proposed"), (10, 250, "unchanged"), (20, 30, "failed")], start=1
    ):
        run = (await _claim(ledger, metric_id, now=start)).run
        await ledger.close_run(run.id, status, now=end)
    await _claim(ledger, 9, now=5)
    assert await ledger.recent_run_durations() == [240, 100]


async def test_closing_from_a_status_the_run_left_loses(ledger):
    run = (await _claim(ledger, 1)).run
    await ledger.move_run(run.id, expect=("starting",), status="unknown", now=2)
    await ledger.move_run(run.id, expect=("unknown",), status="running", progress_id="p", now=3)
    lost = await ledger.close_run(run.id, "abandoned", expect=("unknown",), now=4)
    assert not lost.won and lost.run.status == "running" and lost.run.progress_id == "p"
    assert (await ledger.inflight_run(1)).id == run.id


async def test_a_proposal_made_outside_our_runs_is_stored_once_under_its_id(ledger, backend, where):
    first = new_proposal(4, progress_id=None, metric_fingerprint="m1", body={"patch": {"a": 1}})
    first = first.model_copy(update={"id": "pending_abc", "created_at": 5.0})
    later = first.model_copy(update={"metric_fingerprint": "m2", "body": {"patch": {"a": 2}}})
    assert (await ledger.add_proposal(first)).body == {"patch": {"a": 1}}
    assert (await ledger.add_proposal(later)).metric_fingerprint == "m1"
    reopened = open_backend(backend, where)
    assert (await reopened.latest_proposal(4)).id == "pending_abc"
    assert (await reopened.proposal("pending_abc")).run_id is None
