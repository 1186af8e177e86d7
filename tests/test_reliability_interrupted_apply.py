"""An apply interrupted after its write (call cancelled, process killed) is settled by the next
call from the live metric: never written twice, never lost to revert_metric."""

import anyio
import pytest

from support import sandbox_world
from tools.apply import apply_if_not_regressed
from tools.errors import WorkflowError
from tools.optimise import optimise_metric
from tools.revert import revert_metric

pytestmark = pytest.mark.anyio


async def _apply_cancelled_during_rescore(w) -> None:
    with anyio.CancelScope() as scope:

        async def progress(_value, _total, message):
            if message and "re-score" in message:
                scope.cancel()

        await apply_if_not_regressed(w.wf, 101, progress=progress)
    assert scope.cancelled_caught


async def test_a_call_cancelled_after_its_write_is_settled_by_the_next(tmp_path):
    async with sandbox_world(tmp_path) as w:
        original = w.state.metric(101)["description"]
        w.state.faults.stuck_run(101, job="run_reviews")
        await optimise_metric(w.wf, 101)
        await _apply_cancelled_during_rescore(w)
        assert w.state.count("metric_patch", metric_id=101) == 1

        again = await apply_if_not_regressed(w.wf, 101)
        assert again.status == "applied_unverified"
        assert "stopped after writing" in again.summary
        assert w.state.count("metric_patch", metric_id=101) == 1

        reverted = await revert_metric(w.wf, 101)
        assert reverted.status == "reverted"
        assert w.state.metric(101)["description"] == original


async def _write_and_vanish(w, owner: str, *, send_patch: bool) -> None:
    """What a process killed right after its PATCH leaves behind: an `applying` row it holds."""
    proposal = w.wf.ledger.latest_proposal(101)
    _, row = w.wf.ledger.claim_apply(proposal.id, 101, owner, now=w.clock.now())
    history = await w.wf.client.latest_history_id(101)
    w.wf.ledger.update_apply(
        row.id, history_id_before=history, replaced={"description": "x"}, now=w.clock.now()
    )
    if send_patch:
        await w.wf.client.patch_metric(101, proposal.body["patch"])


async def test_a_killed_holder_is_waited_for_until_its_lease_runs_out(tmp_path):
    async with sandbox_world(tmp_path, apply_lease_s=60) as w:
        await optimise_metric(w.wf, 101)
        await _write_and_vanish(w, "another-host:4242", send_patch=True)
        with pytest.raises(WorkflowError, match="in progress"):
            await revert_metric(w.wf, 101)
        started = w.clock.now()

        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied_unverified"
        assert 60 <= w.clock.now() - started < 120
        assert w.state.count("metric_patch", metric_id=101) == 1
        assert (await revert_metric(w.wf, 101)).status == "reverted"


async def test_a_killed_holder_whose_write_never_landed_is_written_once_now(tmp_path):
    async with sandbox_world(tmp_path, apply_lease_s=60) as w:
        await optimise_metric(w.wf, 101)
        await _write_and_vanish(w, "another-host:4242", send_patch=False)
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied"
        assert w.state.count("metric_patch", metric_id=101) == 1


async def test_reverting_twice_undoes_only_our_last_apply(tmp_path):
    async with sandbox_world(tmp_path) as w:
        _, older = w.wf.ledger.claim_apply("prop_earlier", 101, "earlier", now=w.clock.now() - 60)
        w.wf.ledger.update_apply(older.id, status="applied", history_id_before=123)
        await optimise_metric(w.wf, 101)
        await apply_if_not_regressed(w.wf, 101)
        assert (await revert_metric(w.wf, 101)).status == "reverted"

        again = await revert_metric(w.wf, 101)
        assert again.status == "nothing_to_revert"
        assert "already reverted" in again.summary
        assert "history_id=123" in again.next_steps[0]
        assert w.state.count("metric_restore") == 1
