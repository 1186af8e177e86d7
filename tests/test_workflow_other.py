"""diff_proposal, cancel_optimisation, answer_optimiser_questions and optimise_metrics on the sandbox."""

import pytest
from e2e import READ_ONLY_PASS

from sandbox import SandboxState
from support import sandbox_world
from tools.errors import WorkflowError
from tools.workflows.cancel import cancel_optimisation
from tools.workflows.diff import diff_proposal
from tools.workflows.optimise import optimise_metric
from tools.workflows.questions import answer_optimiser_questions
from tools.workflows.routine import optimise_metrics

pytestmark = pytest.mark.anyio

APPLY_PASS = {
    101: "applied",
    102: "applied",
    103: "needs_answers",
    104: "not_applied_regressed",
    105: "not_ready",
    106: "reverted",
}


async def test_diff_of_our_proposal_is_ok_then_stale_after_an_edit(tmp_path):
    async with sandbox_world(tmp_path) as w:
        made = await optimise_metric(w.wf, 101)
        ok = await diff_proposal(w.wf, 101)
        assert ok.status == "ok" and ok.source == "ledger"
        assert ok.proposal_id == made.proposal_id and ok.changed_fields == made.changed_fields
        await w.wf.client.patch_metric(101, {"description": "Someone rewrote it."})
        stale = await diff_proposal(w.wf, 101, proposal_id=made.proposal_id)
        assert stale.status == "stale"
        assert w.state.count("metric_patch") == 1


async def test_diff_without_any_proposal_is_not_found(tmp_path):
    async with sandbox_world(tmp_path) as w:
        assert (await diff_proposal(w.wf, 101)).status == "not_found"
        assert (await diff_proposal(w.wf, 101, progress_id="no-such-run")).status == "not_found"


async def test_diff_of_a_run_started_elsewhere(tmp_path):
    async with sandbox_world(tmp_path) as w:
        progress_id = await w.wf.client.start_optimisation(101)
        for _ in range(5):
            await w.wf.client.get_optimisation_progress(progress_id)
        result = await diff_proposal(w.wf, 101, progress_id=progress_id)
        assert result.status == "ok" and result.source == "progress"
        assert "description" in result.changed_fields


async def test_diff_of_cekuras_pending_proposal(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.set_pending_proposal(
            101,
            {
                "description": "A pending rewrite.",
                "evaluation_trigger": "always",
                "type": "llm_judge",
                "custom_code": "",
                "score": 1.0,
                "baseline_score": 0.5,
                "cron_job_id": 1,
                "cron_job_name": "weekly",
                "proposed_at": "2026-11-01T00:00:00Z",
            },
        )
        result = await diff_proposal(w.wf, 101)
        assert result.status == "ok" and result.source == "pending_proposal"
        assert {"description", "evaluation_trigger"} <= set(result.changed_fields)


async def test_a_pending_proposal_with_trigger_code_diffs_as_code(tmp_path):
    code = "_result = 'refund' in transcript.lower()"
    async with sandbox_world(tmp_path) as w:
        w.state.set_pending_proposal(
            101,
            {
                "description": "",
                "evaluation_trigger": code,
                "type": "llm_judge",
                "custom_code": "",
                "score": 1.0,
                "baseline_score": 0.5,
                "cron_job_id": 1,
                "cron_job_name": "weekly",
                "proposed_at": "2026-11-01T00:00:00Z",
            },
        )
        result = await diff_proposal(w.wf, 101)
        assert {"trigger_type", "evaluation_trigger_custom_code"} <= set(result.changed_fields)
        assert "evaluation_trigger_prompt" not in result.changed_fields
        applied = w.state.apply_pending_proposal(101)
        assert applied["trigger_type"] == "custom_code"
        assert applied["evaluation_trigger_custom_code"] == code


async def test_diff_of_our_run_under_another_metric_is_refused(tmp_path):
    async with sandbox_world(tmp_path) as w:
        run = await optimise_metric(w.wf, 101)
        with pytest.raises(WorkflowError, match="optimised metric 101, not 102"):
            await diff_proposal(w.wf, 102, progress_id=run.progress_id)


async def test_cancel_stops_our_run_and_frees_the_slot(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.stuck_run(101)
        running = await optimise_metric(w.wf, 101, max_wait_s=30)
        result = await cancel_optimisation(w.wf, 101)
        assert result.status == "cancelled" and result.progress_id == running.progress_id
        assert w.state.count("process_feedbacks_cancel") == 1
        assert (await cancel_optimisation(w.wf, 101)).status == "nothing_running"


async def test_answers_need_a_paused_run_and_known_question_ids(tmp_path):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError, match="No optimisation"):
            await answer_optimiser_questions(w.wf, 103, {"q_1": "yes"})
        await optimise_metric(w.wf, 103)
        with pytest.raises(WorkflowError, match="question ids"):
            await answer_optimiser_questions(w.wf, 103, {"q_unknown": "yes"})
        with pytest.raises(WorkflowError):
            await answer_optimiser_questions(w.wf, 103, {})


@pytest.mark.parametrize(
    ("fault", "fate"),
    [
        (dict(kind="429", retry_after=5), "were not recorded"),
        (dict(kind="5xx", status=502), "may or may not have been recorded"),
        (dict(kind="drop_after"), "may or may not have been recorded"),
    ],
    ids=["refused", "gateway-error", "dropped-after-receipt"],
)
async def test_answer_failing_upstream_is_failed_and_says_if_it_may_have_landed(
    tmp_path, fault, fate
):
    from sandbox import Fault

    async with sandbox_world(tmp_path) as w:
        paused = await optimise_metric(w.wf, 103)
        w.state.faults.add(Fault(route="process_feedbacks_answer", times=1, **fault))
        result = await answer_optimiser_questions(w.wf, 103, {paused.questions[0].id: None})
        assert result.status == "failed"
        assert fate in result.summary
        assert result.next_steps == [
            "optimise_metric(metric_id=103) shows whether the run still waits, and on which "
            "questions"
        ]


@pytest.mark.parametrize("shape", ["envelope", "flat"])
async def test_routine_read_only_then_with_apply(tmp_path, shape):
    async with sandbox_world(tmp_path, SandboxState.seeded(progress_shape=shape)) as w:
        ids = list(READ_ONLY_PASS)
        report = await optimise_metrics(w.wf, ids)
        assert {m.metric_id: m.status for m in report.metrics} == READ_ONLY_PASS
        assert w.state.count("metric_patch") == 0
        applied = await optimise_metrics(w.wf, ids, apply=True)
        assert {m.metric_id: m.status for m in applied.metrics} == APPLY_PASS
        assert applied.counts["applied"] == 2
        started = [m for m, status in READ_ONLY_PASS.items() if status != "not_ready"]
        assert w.state.count("process_feedbacks") == len(started)


async def test_routine_in_read_only_mode_refuses_apply_and_writes_nothing(tmp_path):
    async with sandbox_world(tmp_path, read_only=True) as w:
        with pytest.raises(WorkflowError, match="read-only"):
            await optimise_metrics(w.wf, [101], apply=True)
        assert w.state.requests == []
        report = await optimise_metrics(w.wf, [101, 104])
        assert [m.status for m in report.metrics] == ["proposed", "proposed"]
        assert w.state.count("metric_patch") == 0


@pytest.mark.parametrize("bad", [[], list(range(1, 102)), [0], ["101"]])
async def test_bad_batches_are_refused_before_any_request(tmp_path, bad):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError):
            await optimise_metrics(w.wf, bad)
        assert w.state.requests == []
