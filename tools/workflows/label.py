"""label_call: record one person's verdict on one production call the way Cekura needs it: a Lab
row on the metric (expected value and feedback, which the optimiser learns from) and a vote on the
call. Sends nothing when the call already carries exactly this label."""

from __future__ import annotations

from typing import Any

from tools.cekura.call_log_models import CallLog, MetricFeedback
from tools.cekura.errors import CekuraError, CekuraNotFound
from tools.cekura.models import Metric, MetricReview
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError, read_only_refusal
from tools.explain import explain
from tools.inputs import CallId, Feedback, Label, MetricId, check
from tools.labs.calls import feedback_problem, lab_row_for_call
from tools.labs.readiness import lab_counts
from tools.live_metric import read_metric
from tools.results import LabelResult


@reports_retries
async def label_call(
    wf: Workflow, metric_id: int, call_id: int, expected_value: Any, feedback: str
) -> LabelResult:
    """Add (or correct) the metric's Lab row for this call and record the person's vote on it."""
    metric_id = check(MetricId, metric_id, "metric_id")
    call_id = check(CallId, call_id, "call_id")
    expected_value = check(Label, expected_value, "expected_value")
    feedback = check(Feedback, feedback, "feedback")
    if wf.policy.read_only:
        raise read_only_refusal("label_call")
    metric = await read_metric(wf, metric_id)
    _check_verdict(metric, expected_value)
    call = await _read_call(wf, call_id)
    current = call.result_for(metric_id)
    verdict = current.verdict if current is not None else None
    agrees = verdict == expected_value  # an N/A result never agrees with a label
    row = lab_row_for_call(metric, call_id)
    voted = current is not None and (current.expected_value, current.feedback) == (
        expected_value,
        feedback,
    )
    result = LabelResult(
        metric_id=metric_id,
        status="already_labelled",
        call_id=call_id,
        expected_value=expected_value,
        metric_result=verdict,
        agrees=agrees,
        review_id=row.id if row is not None else None,
        summary="",
    )
    if row is not None and _same(row, expected_value, feedback) and voted:
        return _summarised(result, metric, wf.policy.min_feedback, feedback)
    try:
        result.status, result.review_id = await _write_lab_row(  # type: ignore[assignment]
            wf, metric, call_id, row, expected_value, feedback
        )
        if not voted:
            await wf.client.mark_metric_vote(
                call_id,
                metric_id=metric_id,
                thumbs_up=agrees,
                expected_value=expected_value,
                feedback=feedback,
            )
    except CekuraError as exc:
        raise WorkflowError(
            explain(exc, f"labelling call {call_id} for metric {metric_id}")
            + " Call label_call again: it sends only what is still missing."
        ) from exc
    written = await read_metric(wf, metric_id)
    return _summarised(result, written, wf.policy.min_feedback, feedback)


def _check_verdict(metric: Metric, expected_value: Any) -> None:
    """The label must be a verdict this metric can give (5/0 for binary, an enum value)."""
    if metric.eval_type in (None, "binary") or str(metric.eval_type).startswith("binary"):
        allowed: list[Any] = [5, 0]
    elif metric.eval_type == "enum" and isinstance(metric.enum_values, list):
        allowed = list(metric.enum_values)
    else:
        return
    if expected_value not in allowed:
        raise WorkflowError(
            f"The expected value must be one of {allowed} for metric {metric.id} "
            f"({metric.eval_type or 'binary'}); got {expected_value!r}. Nothing was sent."
        )


async def _read_call(wf: Workflow, call_id: int) -> CallLog:
    try:
        return await wf.client.get_call_log(call_id)
    except CekuraNotFound as exc:
        raise WorkflowError(
            f"Cekura has no call log {call_id}. Use the call log's id from review_results (not "
            "the provider's call id). Nothing was sent."
        ) from exc
    except CekuraError as exc:
        raise WorkflowError(explain(exc, f"reading call log {call_id}")) from exc


def _same(row: MetricReview, expected_value: Any, feedback: str) -> bool:
    return row.expected_value == expected_value and (row.feedback or "").strip() == feedback


async def _write_lab_row(
    wf: Workflow,
    metric: Metric,
    call_id: int,
    row: MetricReview | None,
    expected_value: Any,
    feedback: str,
) -> tuple[str, int | None]:
    """Add the call to the Lab with this label, or correct its row; (status, review id)."""
    if row is not None:
        if not _same(row, expected_value, feedback):
            await wf.client.patch_review(row.id, expected_value=expected_value, feedback=feedback)
        return "updated", row.id
    label = MetricFeedback(metric=metric.id, feedback=feedback, expected_value=expected_value)
    test_set = await wf.client.create_from_call_log(call_id, [label], project=metric.project)
    made = test_set.review_for(metric.id)
    if made is None:
        raise WorkflowError(
            f"Cekura added call {call_id} to a Lab but made no row for metric {metric.id}, so the "
            "label was not recorded and no vote was sent. Call label_call again; if it persists, "
            "add the call in the metric's Lab in Cekura."
        )
    if (made.expected_value, (made.feedback or "").strip()) != (expected_value, feedback):
        await wf.client.patch_review(made.id, expected_value=expected_value, feedback=feedback)
        return "updated", made.id
    return "added", made.id


def _summarised(result: LabelResult, metric: Metric, minimum: int, feedback: str) -> LabelResult:
    """The result with where the Lab now stands, advice on vague feedback, and the next step."""
    counts = lab_counts(metric, minimum, None)
    problem = feedback_problem(feedback)
    progress = (
        f"{counts.labelled}/{counts.minimum} labelled, ready to optimise"
        if not counts.needed
        else f"{counts.labelled}/{counts.minimum} labelled, {counts.needed} more needed"
    )
    done = {
        "added": "added to the Lab",
        "updated": "label updated",
        "already_labelled": "already labelled so; nothing sent",
    }[result.status]
    return result.model_copy(
        update={
            "lab": counts,
            "warnings": [problem] if problem else [],
            "summary": f"Metric {result.metric_id}, call {result.call_id}: {done}; {progress}.",
            "next_steps": [] if counts.needed else [f"optimise_metric(metric_id={metric.id})"],
        }
    )
