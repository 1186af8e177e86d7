"""apply_if_not_regressed and revert_metric against the sandbox: one test per status."""

import pytest

from support import sandbox_world
from tools.errors import WorkflowError
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.optimise import optimise_metric
from tools.workflows.revert import revert_metric

pytestmark = pytest.mark.anyio


async def test_clean_improvement_is_applied_and_verified(tmp_path):
    async with sandbox_world(tmp_path) as w:
        proposal = await optimise_metric(w.wf, 101)
        before = w.state.metric(101)["description"]
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied"
        assert result.verified.correct > result.verified_baseline.correct
        assert result.history_id_before is not None
        assert w.state.metric(101)["description"] != before
        assert w.state.count("metric_patch", metric_id=101) == 1
        assert w.state.count("run_reviews", metric_id=101) == 1
        assert result.proposal_id == proposal.proposal_id


async def test_applying_twice_is_already_applied_with_one_patch(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        await apply_if_not_regressed(w.wf, 101)
        again = await apply_if_not_regressed(w.wf, 101)
        assert again.status == "already_applied"
        assert w.state.count("metric_patch", metric_id=101) == 1


async def test_proposal_that_breaks_a_labelled_row_is_refused(tmp_path):
    async with sandbox_world(tmp_path) as w:
        proposal = await optimise_metric(w.wf, 104)
        assert proposal.flips.broken
        result = await apply_if_not_regressed(w.wf, 104)
        assert result.status == "not_applied_regressed"
        assert any("breaks" in r for r in result.reasons)
        assert w.state.count("metric_patch") == 0
        allowed = await apply_if_not_regressed(w.wf, 104, max_broken=len(proposal.flips.broken))
        assert allowed.status in ("applied", "reverted", "applied_unverified")


async def test_metric_edited_after_the_proposal_is_stale(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        await w.wf.client.patch_metric(101, {"description": "Edited by hand."})
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "not_applied_stale"
        assert w.state.metric(101)["description"] == "Edited by hand."
        assert w.state.count("metric_patch") == 1


async def test_verify_below_baseline_restores_the_metric(tmp_path):
    async with sandbox_world(tmp_path) as w:
        original = dict(w.state.metric(106))
        await optimise_metric(w.wf, 106)
        result = await apply_if_not_regressed(w.wf, 106)
        assert result.status == "reverted"
        assert result.verified.correct < result.verified_baseline.correct
        assert w.state.count("metric_restore", metric_id=106) == 1
        live = w.state.metric(106)
        for field in ("description", "type", "custom_code", "evaluation_trigger_prompt"):
            assert live[field] == original[field]
        again = await apply_if_not_regressed(w.wf, 106)
        assert again.status == "not_applied_regressed"
        assert w.state.count("metric_patch", metric_id=106) == 1


async def test_read_only_mode_sends_no_write(tmp_path):
    async with sandbox_world(tmp_path, read_only=True) as w:
        await optimise_metric(w.wf, 101)
        before = len(w.state.requests)
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "not_applied_unsafe"
        assert len(w.state.requests) == before
        with pytest.raises(WorkflowError, match="read-only"):
            await revert_metric(w.wf, 101)
        assert w.state.count("metric_patch") == 0 and w.state.count("metric_restore") == 0


async def test_over_the_evaluation_budget_applies_unverified(tmp_path):
    async with sandbox_world(tmp_path, eval_budget=1) as w:
        await optimise_metric(w.wf, 101)
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied_unverified"
        assert any("budget" in x for x in result.warnings)
        assert w.state.count("run_reviews") == 0


async def test_failed_patch_reports_the_metric_unchanged(tmp_path):
    from sandbox import Fault

    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        before = dict(w.state.metric(101))
        w.state.faults.add(Fault(route="metric_patch", kind="5xx", status=503, times=10))
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "failed"
        assert "unchanged" in result.summary
        assert w.state.metric(101)["description"] == before["description"]


async def test_unknown_proposal_is_a_clear_error(tmp_path):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError, match="No proposal"):
            await apply_if_not_regressed(w.wf, 101)
        with pytest.raises(WorkflowError, match="prop_nope"):
            await apply_if_not_regressed(w.wf, 101, proposal_id="prop_nope")
        assert w.state.count("metric_patch") == 0


async def test_revert_restores_the_metric_before_our_apply(tmp_path):
    async with sandbox_world(tmp_path) as w:
        original = w.state.metric(101)["description"]
        await optimise_metric(w.wf, 101)
        await apply_if_not_regressed(w.wf, 101)
        result = await revert_metric(w.wf, 101)
        assert result.status == "reverted"
        assert w.state.metric(101)["description"] == original
        nothing = await revert_metric(w.wf, 101)
        assert nothing.status == "nothing_to_revert"


async def test_revert_refuses_to_discard_a_later_hand_edit(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        await apply_if_not_regressed(w.wf, 101)
        await w.wf.client.patch_metric(101, {"description": "Edited by hand after the apply."})
        result = await revert_metric(w.wf, 101)
        assert result.status == "failed"
        assert w.state.metric(101)["description"] == "Edited by hand after the apply."
        assert w.state.count("metric_restore") == 0


async def test_nothing_to_revert_without_an_apply(tmp_path):
    async with sandbox_world(tmp_path) as w:
        assert (await revert_metric(w.wf, 101)).status == "nothing_to_revert"


async def test_concurrent_applies_of_a_refused_proposal_both_say_why(tmp_path):
    import anyio

    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 104)
        results = []

        async def apply(wf):
            results.append(await apply_if_not_regressed(wf, 104))

        async with anyio.create_task_group() as tg:
            tg.start_soon(apply, w.wf)
            tg.start_soon(apply, w.workflow())
        assert [r.status for r in results] == ["not_applied_regressed"] * 2
        assert all(r.reasons for r in results)
        assert w.state.count("metric_patch") == 0
