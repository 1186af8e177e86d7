"""Cekura's pending proposals through our guard (issue 12): refused and left pending when they break
a labelled row, applied, verified and cleared when good, stale when made before a later edit, and
taken by the routine instead of a new run when newer than our last run."""

import anyio
import pytest

from openapi_schemas import request_errors
from sandbox.cron_fire import fire
from support import sandbox_world
from tools.errors import WorkflowError
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.diff import diff_proposal
from tools.workflows.optimise import optimise_metric
from tools.workflows.routine import optimise_metrics
from tools.workflows.schedules import schedule_optimiser

pytestmark = pytest.mark.anyio

RUN_REVIEWS = "/test_framework/v2/metrics/{id}/run_reviews/"
EDITED = "Check the booking.\nPASS when the agent says 'booked'."


def _run_reviews_bodies(state, metric_id):
    return [r.body for r in state.requests if r.route == "run_reviews" and r.metric_id == metric_id]


async def _fire(w, metric_ids):
    """Schedule the metrics read-only (as a person would, through our tool), then fire it now."""
    created = await schedule_optimiser(w.wf, metric_ids, "0 9 * * 1", name="Weekly tune-up")
    return fire(w.state, w.state.cron_jobs[created.schedule_id])


async def test_a_pending_proposal_that_breaks_a_labelled_row_is_refused_and_left_pending(tmp_path):
    async with sandbox_world(tmp_path) as w:
        stored = [r["actual_value"] for r in w.state.metric(111)["reviews"]]
        result = await apply_if_not_regressed(w.wf, 111)
        assert result.status == "not_applied_regressed"
        assert result.proposal_id.startswith("pending_")
        evidence = result.evidence
        assert (evidence.baseline.correct, evidence.optimised.correct) == (4, 5)
        assert evidence.baseline.total == evidence.optimised.total == 6
        assert (evidence.flips.fixed, evidence.flips.broken) == ([11102, 11103], [11101])
        assert "breaks 1 previously-correct labelled review(s) [11101]" in result.reasons[0]
        assert "Cekura's pending proposal was left in place." in result.warnings
        assert any(
            "Cekura's own guard (score 0.8333 ≥ baseline 0.6667" in x for x in result.warnings
        )
        assert w.state.metric(111)["pending_optimisation_proposal"] is not None
        assert w.state.count("metric_patch") == 0
        assert w.state.count("apply_proposal") == w.state.count("dismiss_proposal") == 0
        (body,) = _run_reviews_bodies(w.state, 111)
        assert body["skip_save"] is True and "'postcode'" in body["description"]
        assert request_errors("POST", RUN_REVIEWS, body) == []
        assert [r["actual_value"] for r in w.state.metric(111)["reviews"]] == stored
        again = await apply_if_not_regressed(w.wf, 111)
        assert again.status == "not_applied_regressed"
        assert len(_run_reviews_bodies(w.state, 111)) == 1, "judged once, not scored again"


async def test_a_good_pending_proposal_is_applied_verified_and_its_pending_proposal_cleared(
    tmp_path,
):
    async with sandbox_world(tmp_path) as w:
        fired = await _fire(w, [101])
        assert fired["results"][0]["status"] == "pending"
        proposed = w.state.metric(101)["pending_optimisation_proposal"]["description"]
        w.state.update_metric(101, {"window_size": 60}, "alert settings")  # not an optimised field
        shown = await diff_proposal(w.wf, 101)
        assert (shown.status, shown.source, shown.changed_fields) == (
            "ok",
            "pending_proposal",
            ["description"],
        )
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "applied", result.summary
        assert result.proposal_id == shown.proposal_id
        assert (result.verified_baseline.correct, result.verified.correct) == (3, 6)
        assert result.verified.total == 6 and result.evidence.flips.broken == []
        assert "Cekura's pending proposal was cleared." in result.summary
        metric = w.state.metric(101)
        assert metric["description"] == proposed
        assert metric["pending_optimisation_proposal"] is None
        assert w.state.count("apply_proposal") == 0
        assert w.state.count("dismiss_proposal", effective=True) == 1
        assert w.state.count("metric_patch", effective=True) == 1
        bodies = _run_reviews_bodies(w.state, 101)
        assert [b.get("skip_save", False) for b in bodies] == [True, False]
        again = await apply_if_not_regressed(w.wf, 101)
        assert again.status == "already_applied"
        assert w.state.count("metric_patch") == 1


async def test_a_pending_proposal_made_before_a_later_manual_edit_is_stale(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.state.set_pending_proposal(
            101,
            {
                "description": EDITED + "\nCount 'Sounds good'.",
                "proposed_at": "2026-09-01T09:00:00Z",
            },
        )
        w.state.update_metric(101, {"description": "Edited by hand: 'is booked for'."}, "manual")
        result = await apply_if_not_regressed(w.wf, 101, source="pending")
        assert result.status == "not_applied_stale"
        assert "description changed" in result.reasons[0]
        assert "2026-09-01T09:00:00Z" in result.reasons[0]
        assert w.state.metric(101)["pending_optimisation_proposal"] is not None
        assert w.state.count("metric_patch") == w.state.count("run_reviews") == 0


async def test_source_pending_without_one_and_bad_arguments_are_clear_errors(tmp_path):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError, match="No pending proposal from Cekura"):
            await apply_if_not_regressed(w.wf, 101, source="pending")
        with pytest.raises(WorkflowError, match="source must be 'ours'"):
            await apply_if_not_regressed(w.wf, 101, source="cekura")
        with pytest.raises(WorkflowError, match="not both"):
            await apply_if_not_regressed(w.wf, 111, proposal_id="prop_1", source="pending")
        with pytest.raises(WorkflowError, match="No proposal for metric 111"):
            await apply_if_not_regressed(w.wf, 111, source="ours")
        assert w.state.count("metric_patch") == w.state.count("run_reviews") == 0


async def test_optimise_metrics_takes_pending_proposals_newer_than_our_last_run(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await optimise_metric(w.wf, 102)  # our last run of 102 is newer than the pending below
        w.state.set_pending_proposal(
            102, {"description": EDITED, "proposed_at": "2026-08-20T09:00:00Z"}
        )
        report = await optimise_metrics(w.wf, [102, 111])
        assert [m.status for m in report.metrics] == ["no_new_feedback", "proposed"]
        pending = report.metrics[1]
        assert "left a pending proposal" in pending.summary
        assert pending.optimise.changed_fields == ["description"]
        assert w.state.count("process_feedbacks", metric_id=111) == 0
        assert report.next_steps == ["optimise_metrics(metric_ids=[111], apply=True)"]

        applied = await optimise_metrics(w.wf, [111], apply=True)
        (outcome,) = applied.metrics
        assert outcome.status == "not_applied_regressed"
        assert outcome.apply.evidence.flips.broken == [11101]
        assert outcome.optimise.flips == outcome.apply.evidence.flips
        assert outcome.optimise.mcnemar_reading.startswith("2 fixed, 1 broken")
        assert w.state.count("process_feedbacks", metric_id=111) == 0
        assert w.state.metric(111)["pending_optimisation_proposal"] is not None

        judged = await optimise_metrics(w.wf, [111], apply=True)
        assert w.state.count("process_feedbacks", metric_id=111) == 1, "judged once; now ours"
        assert judged.metrics[0].status == "applied"
        assert judged.metrics[0].apply.verified.correct == 6, "ours keeps 'date of birth'"


async def test_include_pending_false_optimises_as_before(tmp_path):
    async with sandbox_world(tmp_path) as w:
        report = await optimise_metrics(w.wf, [111], include_pending=False)
        assert w.state.count("process_feedbacks", metric_id=111) == 1
        assert report.metrics[0].status == "proposed"
        assert report.metrics[0].optimise.proposal_id.startswith("prop_")
        assert w.state.count("run_reviews") == 0


async def test_a_newer_pending_proposal_replaces_one_refused_before(tmp_path):
    async with sandbox_world(tmp_path) as w:
        refused = await apply_if_not_regressed(w.wf, 111)
        assert refused.status == "not_applied_regressed"
        better = (
            "Check that the main agent verified the caller's identity before discussing the "
            "account.\nPASS when the agent asks for the caller's 'date of birth', the account "
            "'postcode' or the caller's 'security question'.\nFAIL if the agent says 'cannot verify'."
        )
        w.state.set_pending_proposal(
            111, {"description": better, "proposed_at": "2026-08-24T06:00:00Z"}
        )
        applied = await apply_if_not_regressed(w.wf, 111)
        assert applied.status == "applied" and applied.proposal_id != refused.proposal_id
        assert (applied.verified_baseline.correct, applied.verified.correct) == (4, 6)
        assert w.state.metric(111)["pending_optimisation_proposal"] is None
        again = await apply_if_not_regressed(w.wf, 111)
        assert (again.status, again.proposal_id) == ("already_applied", applied.proposal_id)


async def test_a_pending_proposal_worse_on_held_out_calls_is_refused(tmp_path):
    async with sandbox_world(tmp_path) as w:
        fired = await _fire(w, [108])
        assert fired["results"][0]["status"] == "pending"
        result = await apply_if_not_regressed(w.wf, 108)
        assert result.status == "not_applied_regressed"
        assert (result.evidence.baseline.correct, result.evidence.optimised.correct) == (4, 6)
        assert result.held_out.status == "worse"
        held = result.held_out.comparison
        assert (held.live.score.correct, held.proposed.score.correct, held.calls) == (5, 2, 6)
        assert "outside the Lab" in result.reasons[0]
        assert w.state.count("metric_patch") == 0
        assert w.state.metric(108)["pending_optimisation_proposal"] is not None


async def _stored_not_written(w, metric_id):
    """A pending proposal our guard took in (scored, stored) whose apply call was cancelled
    before it wrote anything."""
    fired = await _fire(w, [metric_id])
    assert fired["results"][0]["status"] == "pending"
    with anyio.CancelScope() as scope:

        async def cancel_before_the_held_out_check(_v, _t, message):
            if "outside the Lab" in (message or ""):
                scope.cancel()

        await apply_if_not_regressed(w.wf, metric_id, progress=cancel_before_the_held_out_check)
    assert scope.cancelled_caught
    assert w.state.count("metric_patch") == 0
    return w.state.metric(metric_id)["pending_optimisation_proposal"]


async def test_a_pending_proposal_dismissed_in_cekura_is_never_written_later(tmp_path):
    async with sandbox_world(tmp_path) as w:
        await _stored_not_written(w, 101)
        await w.wf.client.dismiss_pending_proposal(101)  # a person rejects it in Cekura
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "not_applied_stale", result.summary
        assert result.proposal_id.startswith("pending_")
        assert "no longer pending in Cekura: dismissed or replaced; nothing written" in (
            result.summary
        )
        named = await apply_if_not_regressed(w.wf, 101, proposal_id=result.proposal_id)
        assert (named.status, named.summary) == (result.status, result.summary)
        assert w.state.count("metric_patch") == 0
        (outcome,) = (await optimise_metrics(w.wf, [101], apply=True, include_pending=True)).metrics
        assert outcome.optimise.proposal_id.startswith("prop_"), "a fresh run of ours, judged anew"
        assert (outcome.status, outcome.apply.proposal_id) == (
            "applied",
            outcome.optimise.proposal_id,
        )
        assert w.state.count("metric_patch") == 1


async def test_a_pending_proposal_applied_by_a_person_in_cekura_reads_as_already_applied(tmp_path):
    async with sandbox_world(tmp_path) as w:
        proposed = (await _stored_not_written(w, 101))["description"]
        w.state.apply_pending_proposal(101)  # a person applies it in Cekura instead
        result = await apply_if_not_regressed(w.wf, 101)
        assert result.status == "already_applied", result.summary
        assert w.state.metric(101)["description"] == proposed
        assert w.state.count("metric_patch") == 0
