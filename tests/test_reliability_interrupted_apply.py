"""An apply interrupted after its write (call cancelled, process killed) is settled by the next
call from the live metric: never written twice, never lost to revert_metric."""

import copy
from contextlib import contextmanager

import anyio
import pytest

from sandbox import Fault
from support import sandbox_world
from tools.errors import WorkflowError
from tools.ledger import LedgerUnavailable
from tools.ledger.models import WRITING, HoldLost, new_proposal
from tools.proposals.fingerprint import metric_fingerprint
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.optimise import optimise_metric
from tools.workflows.revert import revert_metric
from tools.workflows.routine import optimise_metrics
from tools.writes.hold import WriteHold, call_owner
from tools.writes.settle import settle_interrupted

pytestmark = pytest.mark.anyio


@contextmanager
def _cancelled_at(client, method: str):
    """A cancel scope that is cancelled the moment `client.<method>` is called, as a client that
    gives up mid-call would: the request may or may not go out."""
    real = getattr(client, method)
    with anyio.CancelScope() as scope:

        async def cancel_then_call(*args, **kwargs):
            scope.cancel()
            return await real(*args, **kwargs)

        setattr(client, method, cancel_then_call)
        try:
            yield scope
        finally:
            delattr(client, method)
    assert scope.cancelled_caught


async def _when_held(w) -> None:
    """Wait until some call holds metric 101 for a write."""
    while not await w.wf.ledger.applies_with_status(101, WRITING):
        await anyio.sleep(0.01)


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
    proposal = await w.wf.ledger.latest_proposal(101)
    row = (await w.wf.ledger.claim_apply(proposal.id, 101, owner, now=w.clock.now())).row
    history = await w.wf.client.latest_history_id(101)
    await w.wf.ledger.update_apply(
        row.id,
        holder=owner,
        history_id_before=history,
        replaced={"description": "x"},
        now=w.clock.now(),
    )
    if send_patch:
        await w.wf.client.patch_metric(101, proposal.body["patch"])


async def test_a_killed_holder_is_waited_for_until_its_lease_runs_out(tmp_path):
    async with sandbox_world(tmp_path, write_lease_s=60) as w:
        await optimise_metric(w.wf, 101)
        await _write_and_vanish(w, "another-host:4242", send_patch=True)
        with pytest.raises(WorkflowError, match="Another call is writing metric 101"):
            await revert_metric(w.wf, 101)
        started = w.clock.now()

        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied_unverified"
        assert 60 <= w.clock.now() - started < 120
        assert w.state.count("metric_patch", metric_id=101) == 1
        assert (await revert_metric(w.wf, 101)).status == "reverted"


async def test_a_killed_holder_whose_write_never_landed_is_written_once_now(tmp_path):
    async with sandbox_world(tmp_path, write_lease_s=60) as w:
        await optimise_metric(w.wf, 101)
        await _write_and_vanish(w, "another-host:4242", send_patch=False)
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied"
        assert w.state.count("metric_patch", metric_id=101) == 1


async def test_reverting_twice_undoes_only_our_last_apply(tmp_path):
    async with sandbox_world(tmp_path) as w:
        claim = await w.wf.ledger.claim_apply(
            "prop_earlier", 101, "earlier", now=w.clock.now() - 60
        )
        await w.wf.ledger.update_apply(
            claim.row.id, holder="earlier", status="applied", history_id_before=123, now=0
        )
        await optimise_metric(w.wf, 101)
        await apply_if_not_regressed(w.wf, 101)
        assert (await revert_metric(w.wf, 101)).status == "reverted"

        again = await revert_metric(w.wf, 101)
        assert again.status == "nothing_to_revert"
        assert "already reverted" in again.summary
        assert "history_id=123" in again.next_steps[0]
        assert w.state.count("metric_restore") == 1


async def _second_proposal(w, live, description: str):
    """A proposal for 101 made against the metric as it is now (as a later run would make)."""
    first = await w.wf.ledger.latest_proposal(101)
    body = {**copy.deepcopy(first.body), "patch": {"description": description}}
    claim = await w.wf.ledger.claim_run(101, "labels-2", "test", None, None, now=w.clock.now())
    proposal = new_proposal(
        101,
        progress_id=None,
        metric_fingerprint=metric_fingerprint(live),
        body=body,
        now=w.clock.now() + 1,
    )
    await w.wf.ledger.close_run(claim.run.id, "proposed", proposal=proposal, now=w.clock.now())
    return proposal


async def test_a_later_apply_settles_an_earlier_interrupted_one_first(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.stuck_run(101, job="run_reviews")
        await optimise_metric(w.wf, 101)
        first = await w.wf.ledger.latest_proposal(101)
        await _apply_cancelled_during_rescore(w)
        second = await _second_proposal(w, await w.wf.client.get_metric(101), "P2 text")

        applied = await apply_if_not_regressed(w.wf, 101, proposal_id=second.id, verify=False)
        assert applied.status == "applied_unverified"
        assert (await w.wf.ledger.last_apply(101, ("applied_unverified",))).proposal_id == second.id
        assert (await revert_metric(w.wf, 101)).status == "reverted"

        again = await revert_metric(w.wf, 101)
        assert again.status == "nothing_to_revert"
        assert first.id in again.next_steps[0]


async def test_a_later_apply_that_writes_nothing_says_an_earlier_write_is_live_unchecked(
    tmp_path,
):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.stuck_run(101, job="run_reviews")
        before = await w.wf.client.get_metric(101)
        await optimise_metric(w.wf, 101)
        first = await w.wf.ledger.latest_proposal(101)
        await _apply_cancelled_during_rescore(w)
        stale = await _second_proposal(w, before, "P2 made before the first was written")

        refused = await apply_if_not_regressed(w.wf, 101, proposal_id=stale.id, verify=False)
        assert refused.status == "not_applied_stale"
        assert w.state.count("metric_patch", metric_id=101) == 1
        assert f"an earlier apply of {first.id} stopped after writing it" in refused.warnings[0]


async def test_a_cancelled_settle_leaves_the_row_for_the_next_call(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.stuck_run(101, job="run_reviews")
        original = w.state.metric(101)["description"]
        await optimise_metric(w.wf, 101)
        await _apply_cancelled_during_rescore(w)
        w.state.faults.clear()
        settler = w.workflow()
        with _cancelled_at(settler.client, "get_metric"):
            await revert_metric(settler, 101)

        started = w.clock.now()
        assert (await revert_metric(w.wf, 101)).status == "reverted"
        assert w.clock.now() - started < 60
        assert w.state.metric(101)["description"] == original


async def test_a_write_whose_outcome_is_unknown_is_checked_before_anyone_writes_again(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        w.state.faults.add(Fault(route="metric_patch", kind="drop", times=5))

        async def progress(_value, _total, message):
            if message and "writing" in message:  # the state read after the PATCH fails too
                w.state.faults.add(Fault(route="metric_get", kind="5xx", status=503, times=5))

        unknown = await apply_if_not_regressed(w.wf, 101, verify=False, progress=progress)
        assert unknown.status == "failed" and "unknown" in unknown.summary
        assert w.state.count("metric_patch", metric_id=101, effective=True) == 0

        settled = await apply_if_not_regressed(w.wf, 101, verify=False)
        assert settled.status == "applied_unverified"
        assert w.state.count("metric_patch", metric_id=101, effective=True) == 1


async def test_an_apply_waits_for_a_revert_in_progress_and_then_sees_the_change(tmp_path):
    async with sandbox_world(tmp_path) as w:
        original = w.state.metric(101)["description"]
        await optimise_metric(w.wf, 101)
        assert (await apply_if_not_regressed(w.wf, 101, verify=False)).status.startswith("applied")
        second = await _second_proposal(w, await w.wf.client.get_metric(101), "P2 text")
        w.state.faults.add(Fault(route="metric_get", kind="latency", delay_s=0.05, times=1))
        out = {}

        async def revert():
            out["revert"] = await revert_metric(w.workflow(), 101)

        async def apply():
            await _when_held(w)
            out["apply"] = await apply_if_not_regressed(
                w.wf, 101, proposal_id=second.id, verify=False
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(revert)
            tg.start_soon(apply)
        assert out["revert"].status == "reverted"
        assert out["apply"].status == "not_applied_stale"
        assert w.state.metric(101)["description"] == original


async def test_a_restore_by_history_id_holds_the_metric_and_updates_the_ledger(tmp_path):
    async with sandbox_world(tmp_path) as w:
        original = w.state.metric(101)["description"]
        await optimise_metric(w.wf, 101)
        first = await apply_if_not_regressed(w.wf, 101, verify=False)
        second = await _second_proposal(w, await w.wf.client.get_metric(101), "P2 text")
        w.state.faults.add(Fault(route="metric_restore", kind="latency", delay_s=0.05, times=1))
        out = {}

        async def restore():
            out["restore"] = await revert_metric(
                w.workflow(), 101, history_id=first.history_id_before
            )

        async def apply():
            await _when_held(w)
            out["apply"] = await apply_if_not_regressed(
                w.wf, 101, proposal_id=second.id, verify=False
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(restore)
            tg.start_soon(apply)
        assert out["restore"].status == "reverted"
        assert out["apply"].status == "not_applied_stale"
        assert w.state.metric(101)["description"] == original
        assert (await revert_metric(w.wf, 101)).status == "nothing_to_revert"
        again = await apply_if_not_regressed(w.wf, 101, proposal_id=first.proposal_id)
        assert again.status == "applied"


async def test_an_automatic_restore_whose_answer_is_lost_is_read_back(tmp_path):
    async with sandbox_world(tmp_path) as w:
        before = w.state.metric(106)["description"]
        await optimise_metric(w.wf, 106)
        w.state.faults.add(Fault(route="metric_restore", kind="drop_after", times=5))
        result = await apply_if_not_regressed(w.wf, 106)
        assert result.status == "reverted"
        assert any("answer was lost" in warning for warning in result.warnings)
        assert w.state.metric(106)["description"] == before
        again = await apply_if_not_regressed(w.wf, 106)
        assert again.status == "not_applied_regressed"
        assert w.state.count("metric_patch", metric_id=106) == 1


async def test_a_call_stopped_during_its_automatic_restore_is_settled_as_regressed(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 106)
        with _cancelled_at(w.wf.client, "restore_metric"):
            await apply_if_not_regressed(w.wf, 106)
        settled = await apply_if_not_regressed(w.wf, 106)
        assert settled.status == "failed" and "LIVE" in settled.summary
        assert settled.next_steps and "history_id=" in settled.next_steps[0]
        assert w.state.count("metric_patch", metric_id=106) == 1


async def test_a_holder_whose_write_was_taken_over_stops_before_writing(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        proposal = await w.wf.ledger.latest_proposal(101)
        claim = await w.wf.ledger.claim_apply(proposal.id, 101, call_owner(w.wf), now=w.clock.now())
        mine = claim.row
        hold = WriteHold(w.wf, mine)
        other = call_owner(w.wf)
        assert other != mine.owner
        assert await w.wf.ledger.take_over_apply(mine.id, mine.lease, other, now=w.clock.now() + 1)
        with pytest.raises(HoldLost):
            await hold.confirm()
        with pytest.raises(HoldLost):
            await w.wf.ledger.update_apply(mine.id, holder=mine.owner, status="applied", now=0)
        assert (await w.wf.ledger.apply(mine.id)).status == "applying"


async def test_a_revert_that_lost_its_hold_does_not_restore(tmp_path):
    async with sandbox_world(tmp_path, write_lease_s=60) as w:
        original = w.state.metric(101)["description"]
        await optimise_metric(w.wf, 101)
        await apply_if_not_regressed(w.wf, 101, verify=False)
        row = await w.wf.ledger.last_apply(101, ("applied_unverified",))
        claim = await w.wf.ledger.claim_revert(row.id, call_owner(w.wf), now=w.clock.now())
        stale = claim.row
        assert claim.won
        w.clock.t += 61  # the first revert stops renewing its hold, as a suspended process would

        assert (await revert_metric(w.workflow(), 101)).status == "reverted"
        with pytest.raises(HoldLost):
            await WriteHold(w.wf, stale).confirm()
        assert w.state.count("metric_restore") == 1
        assert w.state.metric(101)["description"] == original


async def test_a_restore_by_history_id_without_an_answer_is_settled_next_time(tmp_path):
    async with sandbox_world(tmp_path) as w:
        original = w.state.metric(101)["description"]
        await optimise_metric(w.wf, 101)
        first = await apply_if_not_regressed(w.wf, 101, verify=False)
        w.state.faults.add(Fault(route="metric_restore", kind="drop_after", times=5))
        unsure = await revert_metric(w.wf, 101, history_id=first.history_id_before)
        assert unsure.status == "failed" and "may or may not" in unsure.summary
        assert w.state.metric(101)["description"] == original

        nothing = await revert_metric(w.wf, 101)
        assert nothing.status == "nothing_to_revert"
        again = await apply_if_not_regressed(w.wf, 101, proposal_id=first.proposal_id)
        assert again.status == "applied"


async def test_the_routine_reports_a_regressed_version_left_live(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 106)
        with _cancelled_at(w.wf.client, "restore_metric"):
            await apply_if_not_regressed(w.wf, 106)
        report = await optimise_metrics(w.wf, [106], apply=True)
        outcome = report.metrics[0]
        assert outcome.status == "failed" and "LIVE" in outcome.summary
        assert w.state.count("process_feedbacks", metric_id=106) == 1


async def test_revert_undoes_the_newest_apply_even_when_clocks_disagree(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        await apply_if_not_regressed(w.wf, 101, verify=False)
        second = await _second_proposal(w, await w.wf.client.get_metric(101), "P2 text")
        w.clock.t -= 120
        await apply_if_not_regressed(w.wf, 101, proposal_id=second.id, verify=False)
        w.clock.t += 120
        result = await revert_metric(w.wf, 101)
        assert result.status == "reverted"
        assert w.state.metric(101)["description"] != "P2 text"
        assert await w.wf.ledger.last_apply(101, ("applied_unverified",)) is not None


@pytest.mark.parametrize(
    "fault",
    [
        Fault(route="metric_get", kind="5xx", status=503, times=5),
        Fault(route="metric_restore", kind="truncated", times=5),
    ],
    ids=["read-back-fails", "restore-answer-unreadable"],
)
async def test_after_a_restore_by_history_id_nothing_claims_the_undone_apply_is_live(
    tmp_path, fault
):
    async with sandbox_world(tmp_path) as w:
        original = w.state.metric(101)["description"]
        await optimise_metric(w.wf, 101)
        first = await apply_if_not_regressed(w.wf, 101, verify=False)
        w.state.faults.add(fault)
        await revert_metric(w.wf, 101, history_id=first.history_id_before)
        assert w.state.metric(101)["description"] == original
        w.state.faults.clear()

        again = await apply_if_not_regressed(w.wf, 101, proposal_id=first.proposal_id)
        assert again.status == "applied"
        assert w.state.count("metric_patch", metric_id=101, effective=True) == 2


async def test_a_regression_found_after_the_hold_was_lost_is_still_reported(tmp_path):
    async with sandbox_world(tmp_path, write_lease_s=60) as w:
        await optimise_metric(w.wf, 106)
        other = w.workflow()

        async def suspended_then_taken_over(_value, _total, message):
            if message and "re-score" in message and "completed" in message:
                w.clock.t += 61
                await settle_interrupted(other, 106)

        result = await apply_if_not_regressed(w.wf, 106, progress=suspended_then_taken_over)
        assert result.status == "failed" and "LIVE" in result.summary
        again = await apply_if_not_regressed(w.wf, 106)
        assert again.status == "failed" and "LIVE" in again.summary
        assert w.state.count("metric_restore") == 0


async def test_a_settle_that_fails_midway_leaves_the_write_to_the_next_call_at_once(tmp_path):
    async with sandbox_world(tmp_path, write_lease_s=60) as w:
        await optimise_metric(w.wf, 101)
        await _write_and_vanish(w, "another-host:4242", send_patch=True)
        w.clock.t += 61
        ledger = w.wf.ledger

        async def storage_fails(_proposal_id):
            raise LedgerUnavailable(OSError("disk gone"))

        ledger.write_patch = storage_fails
        try:
            with pytest.raises(LedgerUnavailable):
                await settle_interrupted(w.wf, 101)
        finally:
            del ledger.write_patch
        (left,) = await ledger.applies_with_status(101, WRITING)
        assert left.updated_at == 0  # its lease expired with the call, not held for 60 s more
        started = w.clock.now()
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied_unverified" and "stopped after writing" in result.summary
        assert w.clock.now() - started < 60
        assert w.state.count("metric_patch", metric_id=101) == 1
