"""The Labs workflow against the in-process sandbox: review, label, readiness, the held-out check
before a write, validation after it, the cost guard and the overfitting signal."""

import pytest

from support import sandbox_world
from tools.errors import WorkflowError
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.check_calls import check_on_calls
from tools.workflows.lab_status import lab_status
from tools.workflows.label import label_call
from tools.workflows.optimise import optimise_metric
from tools.workflows.review import review_results
from tools.workflows.validate import validate_on_calls

pytestmark = pytest.mark.anyio

NEWEST_109 = (3360015, 3360014, 3360013)  # 109 fails them; a person says they should pass
FEEDBACK = "At 00:07 the agent said 'Your confirmation code is' and read it out; that should pass."
WRITES = ("create_from_call_log", "review_patch", "mark_metric_vote")


def _bodies(state, route):
    return [r.body for r in state.requests if r.route == route]


def _writes(state) -> int:
    return sum(state.count(route) for route in WRITES)


async def test_a_lab_short_of_feedback_is_not_ready_and_starts_no_run(tmp_path):
    async with sandbox_world(tmp_path) as w:
        status = await lab_status(w.wf, 109)
        assert status.status == "not_ready"
        assert (status.lab.labelled, status.lab.minimum, status.lab.needed) == (4, 6, 2)
        result = await optimise_metric(w.wf, 109)
        assert result.status == "not_ready" and result.feedback_needed == 2
        assert w.state.count("process_feedbacks") == 0


async def test_labelling_two_calls_makes_the_lab_ready(tmp_path):
    async with sandbox_world(tmp_path) as w:
        first = await label_call(w.wf, 109, NEWEST_109[0], 5, FEEDBACK)
        assert first.status == "added" and first.agrees is False and first.metric_result == 0
        assert (first.lab.labelled, first.lab.needed) == (5, 1)
        second = await label_call(w.wf, 109, NEWEST_109[1], 5, FEEDBACK)
        assert second.status == "added" and second.lab.needed == 0
        assert second.next_steps == ["optimise_metric(metric_id=109)"]
        assert (await lab_status(w.wf, 109)).status == "ready"
        assert (await optimise_metric(w.wf, 109)).status == "proposed"


async def test_a_label_is_sent_as_objects_with_a_full_vote(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await label_call(w.wf, 109, NEWEST_109[0], 5, FEEDBACK)
        (created,) = _bodies(w.state, "create_from_call_log")
        assert created["call_log_id"] == NEWEST_109[0]
        assert created["metrics"] == [{"metric": 109, "feedback": FEEDBACK, "expected_value": 5}]
        (vote,) = _bodies(w.state, "mark_metric_vote")
        assert vote == {
            "metric_id": 109,
            "thumbs_up": False,
            "expected_value": 5,
            "feedback": FEEDBACK,
        }
        item = next(
            m for m in w.state.call_log(NEWEST_109[0])["evaluation"]["metrics"] if m["id"] == 109
        )
        assert item["expected_value"] == 5 and item["thumbs_up"] is False


async def test_the_same_label_again_sends_nothing(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await label_call(w.wf, 109, NEWEST_109[0], 5, FEEDBACK)
        sent = _writes(w.state)
        again = await label_call(w.wf, 109, NEWEST_109[0], 5, FEEDBACK)
        assert again.status == "already_labelled"
        assert _writes(w.state) == sent


async def test_another_process_labelling_the_same_call_sends_nothing_more(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await label_call(w.wf, 109, NEWEST_109[0], 5, FEEDBACK)
        sent = _writes(w.state)
        again = await label_call(w.workflow(), 109, NEWEST_109[0], 5, FEEDBACK)
        assert again.status == "already_labelled" and _writes(w.state) == sent


async def test_a_changed_label_updates_the_lab_row_and_the_vote(tmp_path):
    async with sandbox_world(tmp_path) as w:
        added = await label_call(w.wf, 109, NEWEST_109[0], 5, FEEDBACK)
        better = FEEDBACK + " The code RC-8812 was read out in full at 00:07."
        updated = await label_call(w.wf, 109, NEWEST_109[0], 5, better)
        assert updated.status == "updated" and updated.review_id == added.review_id
        (patch,) = _bodies(w.state, "review_patch")
        assert patch == {"expected_value": 5, "feedback": better}
        assert w.state.count("create_from_call_log") == 1
        assert w.state.count("mark_metric_vote") == 2


async def test_vague_feedback_is_accepted_with_advice(tmp_path):
    async with sandbox_world(tmp_path) as w:
        result = await label_call(w.wf, 109, NEWEST_109[0], 5, "this is wrong")
        assert result.status == "added"
        assert any("timestamp" in warning for warning in result.warnings)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((109, NEWEST_109[0], 5, "   "), "feedback must be"),
        ((109, NEWEST_109[0], 3, FEEDBACK), "expected value must be one of"),
        ((109, NEWEST_109[0], True, FEEDBACK), "expected_value must be"),
        ((109, 0, 5, FEEDBACK), "call_id must be"),
        ((109, 999_999_999, 5, FEEDBACK), "no call log 999999999"),
    ],
)
async def test_a_bad_label_is_refused_and_changes_nothing(tmp_path, args, words):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError, match=words):
            await label_call(w.wf, *args)
        assert _writes(w.state) == 0


async def test_labelling_is_refused_in_read_only_mode(tmp_path):
    async with sandbox_world(tmp_path, read_only=True) as w:
        with pytest.raises(WorkflowError, match="read-only"):
            await label_call(w.wf, 109, NEWEST_109[0], 5, FEEDBACK)
        assert w.state.requests == []


async def test_review_shows_votes_that_disagree_first_with_bounded_data(tmp_path):
    async with sandbox_world(tmp_path) as w:
        review = await review_results(w.wf, 107, limit=5)
        assert review.status == "ok" and len(review.calls) == 5
        first = review.calls[0]
        assert first.why == "vote_disagrees" and first.expected_value != first.result
        ranks = [c.why for c in review.calls]
        assert ranks == sorted(
            ranks, key=["vote_disagrees", "flagged", "inconsistent", "recent"].index
        )
        assert first.transcript.startswith("<<<untrusted data:")
        assert len(first.transcript) < 800
        passes = await review_results(w.wf, 107, result=5, limit=20)
        assert passes.calls and all(c.result == 5 for c in passes.calls)


async def test_review_marks_calls_already_in_the_lab(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await label_call(w.wf, 109, NEWEST_109[0], 5, FEEDBACK)
        review = await review_results(w.wf, 109, limit=3)
        in_lab = {c.call_id for c in review.calls if c.in_lab}
        assert NEWEST_109[0] in in_lab and NEWEST_109[1] not in in_lab


async def test_a_proposal_better_on_held_out_calls_is_checked_then_applied(tmp_path):
    async with sandbox_world(tmp_path) as w:
        assert (await optimise_metric(w.wf, 107)).status == "proposed"
        checked = await check_on_calls(w.wf, 107)
        assert checked.status == "better"
        comparison = checked.held_out.comparison
        assert comparison.proposed.score.correct > comparison.live.score.correct
        assert w.state.count("metric_patch") == 0
        applied = await apply_if_not_regressed(w.wf, 107)
        assert applied.status == "applied" and applied.held_out.status == "better"


async def test_the_overfit_proposal_is_refused_on_held_out_calls(tmp_path):
    async with sandbox_world(tmp_path) as w:
        before = dict(w.state.metric(108))
        assert (await optimise_metric(w.wf, 108)).status == "proposed"
        assert (await check_on_calls(w.wf, 108)).status == "worse"
        refused = await apply_if_not_regressed(w.wf, 108)
        assert refused.status == "not_applied_regressed"
        assert refused.held_out.comparison.flips.broken
        assert str(refused.held_out.comparison.flips.broken[0]) in refused.reasons[0]
        assert w.state.count("metric_patch") == 0
        assert w.state.metric(108)["description"] == before["description"]


async def test_the_held_out_check_can_be_skipped_on_request(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 108)
        applied = await apply_if_not_regressed(w.wf, 108, max_holdout_calls=0)
        assert applied.status == "applied" and applied.held_out is None
        assert any("skipped" in warning for warning in applied.warnings)


async def test_only_the_newest_held_out_calls_are_checked_above_the_cap(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 107)
        applied = await apply_if_not_regressed(w.wf, 107, max_holdout_calls=2)
        assert len(applied.held_out.checked) == 2 and applied.held_out.found == 6
        assert any("checked the newest 2" in warning for warning in applied.warnings)


async def test_no_held_out_calls_is_said_plainly(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 101)
        result = await check_on_calls(w.wf, 101)
        assert result.status == "no_holdout" and w.state.count("metric_preview") == 0


async def test_validation_reports_each_call_before_and_after(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 107)
        await apply_if_not_regressed(w.wf, 107)
        held_out = [3360001, 3360002]
        result = await validate_on_calls(w.wf, 107, held_out)
        assert result.status == "validated"
        assert [(c.before, c.after, c.label) for c in result.calls] == [(0, 5, 5), (0, 5, 5)]
        assert w.state.credits_used == 2 * 10  # every metric assigned to each call re-ran


async def test_validation_names_the_calls_still_wrong(tmp_path):
    async with sandbox_world(tmp_path) as w:
        result = await validate_on_calls(w.wf, 107, [3360001])
        assert result.status == "disagreements" and result.disagreeing == [3360001]


async def test_the_cost_guard_refuses_over_100_evaluations_and_sends_nothing(tmp_path):
    async with sandbox_world(tmp_path) as w:
        eleven = [3360001 + n for n in range(11)]  # 11 calls x 10 metrics = 110 evaluations
        result = await validate_on_calls(w.wf, 107, eleven)
        assert result.status == "needs_confirmation"
        assert (result.cost.calls, result.cost.evaluations) == (11, 110)
        assert result.cost.credits == pytest.approx(22.0)
        assert w.state.count("rerun_evaluation") == 0 and w.state.credits_used == 0
        confirmed = await validate_on_calls(w.wf, 107, eleven, confirm_cost=True)
        assert confirmed.status != "needs_confirmation" and w.state.credits_used == 110


async def test_a_proposal_copying_a_transcript_sentence_is_flagged(tmp_path):
    async with sandbox_world(tmp_path) as w:
        result = await optimise_metric(w.wf, 110)
        assert result.copied_passages is not None and result.copied_passages.copied
        assert any("Possible overfitting" in warning for warning in result.warnings)
        applied = await apply_if_not_regressed(w.wf, 110)
        assert any("Possible overfitting" in warning for warning in applied.warnings)


async def test_the_lab_has_nothing_new_after_a_run_on_the_same_labels(tmp_path):
    async with sandbox_world(tmp_path) as w:
        assert (await lab_status(w.wf, 107)).status == "ready"
        await optimise_metric(w.wf, 107)
        after = await lab_status(w.wf, 107)
        assert after.status == "no_new_feedback" and after.last_run
        assert after.lab.changed_since_last_run == 0


async def test_a_proposal_that_changes_no_verdict_is_the_same_on_those_calls(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 107)
        # live already gets these held-out calls right, and so does the proposal
        same = await check_on_calls(w.wf, 107, call_ids=[3360003, 3360004, 3360005])
        assert same.status == "same"
        assert same.held_out.comparison.flips.fixed == same.held_out.comparison.flips.broken == []


async def test_a_held_out_check_the_preview_cannot_judge_writes_nothing(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 108)
        real = w.wf.client.get_preview_progress

        async def every_item_errs(progress_id):
            state = await real(progress_id)
            for item in state.results:
                item.error = "evaluation failed"
            return state

        w.wf.client.get_preview_progress = every_item_errs
        try:
            refused = await apply_if_not_regressed(w.wf, 108)
            with pytest.raises(WorkflowError, match="no verdict on any"):
                await check_on_calls(w.wf, 108)
        finally:
            del w.wf.client.get_preview_progress
        assert refused.status == "not_applied_unsafe"
        assert "could not judge calls" in refused.reasons[0]
        assert w.state.count("metric_patch") == 0


async def test_no_vote_is_sent_when_cekura_makes_no_lab_row(tmp_path):
    async with sandbox_world(tmp_path) as w:
        real = w.wf.client.create_from_call_log

        async def no_row_for_the_metric(*args, **kwargs):
            test_set = await real(*args, **kwargs)
            return test_set.model_copy(update={"metric_reviews": []})

        w.wf.client.create_from_call_log = no_row_for_the_metric
        try:
            with pytest.raises(WorkflowError, match="no row for metric 109"):
                await label_call(w.wf, 109, NEWEST_109[0], 5, FEEDBACK)
        finally:
            del w.wf.client.create_from_call_log
        assert w.state.count("mark_metric_vote") == 0


async def test_a_label_on_a_call_the_metric_judged_n_a_never_agrees(tmp_path):
    async with sandbox_world(tmp_path) as w:
        result = await label_call(w.wf, 109, 3360006, 0, FEEDBACK)
        assert result.metric_result is None and result.agrees is False
        (vote,) = _bodies(w.state, "mark_metric_vote")
        assert vote["thumbs_up"] is False
