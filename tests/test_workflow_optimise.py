"""optimise_metric against the in-process sandbox: one test per status, plus single flight."""

import anyio
import pytest

from support import sandbox_world
from tools.errors import WorkflowError
from tools.workflows.optimise import optimise_metric
from tools.workflows.questions import answer_optimiser_questions

pytestmark = pytest.mark.anyio


async def test_clean_improvement_is_proposed_with_evidence(tmp_path):
    async with sandbox_world(tmp_path) as w:
        result = await optimise_metric(w.wf, 101)
        assert result.status == "proposed"
        assert result.proposal_id and result.progress_id
        assert "description" in result.changed_fields
        assert result.optimised.correct > result.baseline.correct
        assert result.flips.fixed and not result.flips.broken
        assert any("+" in d.diff for d in result.diffs)
        assert w.state.count("process_feedbacks", metric_id=101) == 1
        assert w.state.count("metric_patch") == 0


async def test_code_conversion_shows_the_type_flip(tmp_path):
    async with sandbox_world(tmp_path) as w:
        result = await optimise_metric(w.wf, 102)
        assert result.status == "proposed"
        assert result.type_change and result.type_change.after == "custom_code"
        assert {"custom_code", "type"} <= set(result.changed_fields)
        assert "description" not in result.changed_fields


async def test_a_lab_short_of_feedback_is_not_ready_and_starts_nothing(tmp_path):
    async with sandbox_world(tmp_path) as w:
        result = await optimise_metric(w.wf, 105)
        assert result.status == "not_ready" and result.feedback_needed == 2
        assert "label 2 more" in result.summary
        assert w.state.count("process_feedbacks") == 0


async def test_a_forced_run_without_feedback_notes_is_unchanged(tmp_path):
    async with sandbox_world(tmp_path) as w:
        result = await optimise_metric(w.wf, 105, force=True)
        assert result.status == "unchanged"
        assert result.proposal_id is None and result.changed_fields == []


async def test_rerun_on_unchanged_labels_sends_no_post(tmp_path):
    async with sandbox_world(tmp_path) as w:
        first = await optimise_metric(w.wf, 101)
        again = await optimise_metric(w.wf, 101)
        assert again.status == "no_new_feedback"
        assert again.proposal_id == first.proposal_id
        assert w.state.count("process_feedbacks", metric_id=101) == 1
        forced = await optimise_metric(w.wf, 101, force=True)
        assert forced.status == "proposed"
        assert w.state.count("process_feedbacks", metric_id=101) == 2


async def test_paused_run_needs_answers_then_resumes_to_a_proposal(tmp_path):
    async with sandbox_world(tmp_path) as w:
        paused = await optimise_metric(w.wf, 103)
        assert paused.status == "needs_answers"
        assert paused.questions and paused.questions[0].options
        question = paused.questions[0]
        resumed = await answer_optimiser_questions(w.wf, 103, {question.id: question.options[0]})
        assert resumed.status == "resumed" and resumed.answered == [question.id]
        finished = await optimise_metric(w.wf, 103)
        assert finished.status == "proposed"
        assert finished.progress_id == paused.progress_id
        assert w.state.count("process_feedbacks", metric_id=103) == 1


async def test_skip_policy_answers_questions_itself(tmp_path):
    async with sandbox_world(tmp_path) as w:
        result = await optimise_metric(w.wf, 103, on_questions="skip")
        assert result.status == "proposed"
        assert any("Skipped" in warning for warning in result.warnings)


async def test_skipping_waits_on_the_schedule_while_the_run_still_reads_paused(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.answer_lag_polls = 6
        read_at: list[float] = []
        fetch = w.wf.client.get_optimisation_progress

        async def observed(progress_id):
            read_at.append(w.clock.now())
            return await fetch(progress_id)

        w.wf.client.get_optimisation_progress = observed
        result = await optimise_metric(w.wf, 103, on_questions="skip")
        assert result.status == "proposed"
        assert w.state.count("process_feedbacks_answer") == 1
        assert len(read_at) >= 8
        hot = len(read_at) - len(set(read_at))
        assert hot <= 1, f"{hot} progress reads came without a wait (one, right after the answer)"


async def test_a_run_that_never_finishes_times_out_and_resumes(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.stuck_run(101)
        first = await optimise_metric(w.wf, 101, max_wait_s=120)
        assert first.status == "timed_out" and first.progress_id
        second = await optimise_metric(w.wf, 101, max_wait_s=60)
        assert second.status == "timed_out"
        assert second.progress_id == first.progress_id
        assert w.state.count("process_feedbacks", metric_id=101) == 1


async def test_optimiser_error_is_failed_with_its_words_marked_as_data(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.failing_run(101, error="Lab evaluation crashed")
        result = await optimise_metric(w.wf, 101)
        assert result.status == "failed"
        assert any("Lab evaluation crashed" in x and "untrusted" in x for x in result.warnings)
        assert await w.wf.ledger.inflight_run(101) is None


async def test_run_cancelled_elsewhere_is_reported_cancelled(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.faults.stuck_run(101)
        first = await optimise_metric(w.wf, 101, max_wait_s=30)
        await w.wf.client.cancel_optimisation(first.progress_id)
        result = await optimise_metric(w.wf, 101)
        assert result.status == "cancelled"


async def test_concurrent_calls_start_one_run_and_share_the_proposal(tmp_path):
    async with sandbox_world(tmp_path) as w:
        other = w.workflow()
        results = {}

        async def call(name, wf):
            results[name] = await optimise_metric(wf, 101)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call, "a", w.wf)
            tg.start_soon(call, "b", other)
        assert w.state.count("process_feedbacks", metric_id=101) == 1
        assert {r.status for r in results.values()} <= {"proposed", "no_new_feedback"}
        assert results["a"].proposal_id == results["b"].proposal_id


class _ClaimsLate:
    """A ledger whose first claim waits until `meanwhile` has run: the interleaving where another
    call starts and finishes a run between this call's look at the ledger and its claim."""

    def __init__(self, inner, meanwhile) -> None:
        self._inner, self._meanwhile = inner, meanwhile

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def claim_run(self, *args, **kwargs):
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            await meanwhile()
        return await self._inner.claim_run(*args, **kwargs)


async def test_a_run_that_finishes_between_the_look_and_the_claim_is_not_started_again(tmp_path):
    async with sandbox_world(tmp_path) as w:
        first = {}

        async def other_call_runs_to_the_end():
            first["result"] = await optimise_metric(w.wf, 101)

        late = w.workflow()
        late.ledger = _ClaimsLate(late.ledger, other_call_runs_to_the_end)
        second = await optimise_metric(late, 101)
        assert first["result"].status == "proposed"
        assert w.state.count("process_feedbacks", metric_id=101) == 1
        assert second.status == "no_new_feedback"
        assert second.proposal_id == first["result"].proposal_id
        assert await w.wf.ledger.inflight_run(101) is None  # the slot was given back


@pytest.mark.parametrize("bad", [0, -3, 2**40, True])
async def test_bad_metric_ids_are_refused_before_any_request(tmp_path, bad):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError):
            await optimise_metric(w.wf, bad)
        assert w.state.requests == []


async def test_unknown_metric_is_a_clear_error(tmp_path):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError, match="no metric 999"):
            await optimise_metric(w.wf, 999)
        assert w.state.count("process_feedbacks") == 0
