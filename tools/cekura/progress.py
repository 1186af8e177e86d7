"""Pure parsers for Cekura's two progress bodies (contract §3.2 "Robust client parse", §5.2).

Neither body has a published schema, so both parsers accept every documented alternative:
the `{status, output}` envelope or the flat result, several spellings of each status, and
`meta_harness` as the source of the proposed code, type and score. An unknown status is never
terminal: it reads as "running" so that a poller keeps polling (under its own deadline).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from .errors import CekuraMalformedResponse
from .models import (
    Metric,
    OptimiserOutput,
    OptimiserProgress,
    OptimiserState,
    Question,
    ReviewResult,
    RunReviewsProgress,
    RunReviewsState,
    Score,
    TriggerKind,
)
from .responses import validation_problem

SUCCESS_STATUSES = frozenset({"success", "completed", "complete", "done"})
FAILURE_STATUSES = frozenset({"error", "failed", "failure"})
CANCELLED_STATUSES = frozenset({"cancelled", "canceled", "revoked"})
PAUSED_STATUSES = frozenset(
    {"paused", "awaiting_input", "awaiting_user", "waiting_for_answers", "needs_input"}
)
TRIGGER_KINDS: frozenset[str] = frozenset({"always", "llm_judge", "custom_code"})

# Keys that mark a dict as holding an optimiser proposal (as opposed to, say, only an error).
_PROPOSAL_KEYS = (
    "improved_metric_description",
    "improved_evaluation_trigger",
    "custom_code",
    "meta_harness",
)
_TEXT_LIMIT = 2000


def _malformed(problem: str, body: Any = None) -> CekuraMalformedResponse:
    shown = "" if body is None else json.dumps(body, default=str)[:200]
    return CekuraMalformedResponse(
        f"progress body could not be read: {problem}", body_excerpt=shown
    )


def _status(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(raw status as sent, normalised lower-case status)."""
    raw = body.get("status")
    if raw is None:
        return None, None
    text = str(raw).strip()
    return text, text.lower() or None


def _text(value: Any) -> str:
    """A string field that Cekura may send as null."""
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _message(value: Any) -> str | None:
    """Error or step text from a field that may be a string, an object or null."""
    if value is None or value == "" or value == {} or value == []:
        return None
    if isinstance(value, dict):
        for key in ("message", "detail", "error"):
            if isinstance(value.get(key), str) and value[key].strip():
                return value[key].strip()[:_TEXT_LIMIT]
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text.strip()[:_TEXT_LIMIT] or None


def _first_message(*values: Any) -> str | None:
    for value in values:
        text = _message(value)
        if text:
            return text
    return None


def _score(value: Any) -> Score | None:
    """`{num_correct, num_total, score?}` or None when the counts are absent."""
    if not isinstance(value, dict):
        return None
    correct, total = value.get("num_correct"), value.get("num_total")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (correct, total)):
        return None
    score = value.get("score")
    numeric = isinstance(score, int | float) and not isinstance(score, bool)
    return Score(num_correct=correct, num_total=total, score=float(score) if numeric else None)


def resolve_trigger_kind(result: dict[str, Any]) -> TriggerKind:
    """Contract §4.4: `improved_trigger_kind`, else `trigger_type`, else `llm_judge` when the
    trigger text is non-empty and not the literal "always", else "always"."""
    for key in ("improved_trigger_kind", "trigger_type"):
        value = result.get(key)
        if isinstance(value, str) and value.strip().lower() in TRIGGER_KINDS:
            kind = value.strip().lower()
            if key == "trigger_type" and kind == "always":
                continue  # not a trigger_type value; fall through to the text rule
            return kind  # type: ignore[return-value]
    text = _text(result.get("improved_evaluation_trigger")).strip()
    if text and text.lower() != "always":
        return "llm_judge"
    return "always"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _optimiser_output(result: dict[str, Any]) -> OptimiserOutput:
    harness = result.get("meta_harness")
    harness = harness if isinstance(harness, dict) else {}
    data = dict(result)
    data.update(
        improved_metric_description=_text(result.get("improved_metric_description")),
        improved_evaluation_trigger=_text(result.get("improved_evaluation_trigger")),
        improved_trigger_kind=resolve_trigger_kind(result),
        custom_code=_text(result.get("custom_code")) or _text(harness.get("optimized_code")),
        type=(result.get("type") or harness.get("type") or None),
        new_score=_score(result.get("new_score")) or _score(harness),
        old_score=_score(result.get("old_score")),
        optimization_summary=_text(result.get("optimization_summary")),
        review_results=_list(result.get("review_results")),
        feedback_edits=_list(result.get("feedback_edits")),
        unauthorized_label_changes=_list(result.get("unauthorized_label_changes")),
        unresolved_samples=_list(result.get("unresolved_samples")),
    )
    for key in ("metric_description_variables", "evaluation_trigger_variables"):
        if data.get(key) is not None and not isinstance(data[key], list):
            data[key] = None
    trigger_type = data.get("trigger_type")
    data["trigger_type"] = trigger_type if isinstance(trigger_type, str) else None
    try:
        return OptimiserOutput.model_validate(data)
    except ValidationError as exc:
        raise _malformed("optimiser output has " + validation_problem(exc)) from None


def _questions(state: dict[str, Any], result: dict[str, Any] | None) -> list[Question]:
    """The first non-empty questions list in state.questions, output.questions or
    state.pending_questions. Each question needs an id: answers are keyed by it."""
    candidates = [state.get("questions"), (result or {}).get("questions")]
    candidates.append(state.get("pending_questions"))
    raw = next((c for c in candidates if isinstance(c, list) and c), [])
    questions = []
    for index, item in enumerate(raw, start=1):
        if isinstance(item, str):
            item = {"question": item}
        if not isinstance(item, dict):
            raise _malformed(f"question {index} is not an object")
        qid = item.get("id", item.get("question_id"))
        if qid is None or isinstance(qid, bool) or str(qid).strip() == "":
            raise _malformed(f"question {index} has no id, so it cannot be answered")
        data = {**item, "id": str(qid)}
        data["question"] = _text(item.get("question", item.get("text")))
        options = item.get("options")
        data["options"] = [_text(o) for o in options] if isinstance(options, list) else []
        try:
            questions.append(Question.model_validate(data))
        except ValidationError as exc:
            raise _malformed(f"question {index} has " + validation_problem(exc)) from None
    return questions


def parse_optimiser_progress(body: Any) -> OptimiserProgress:
    """Read a `process_feedbacks_progress` body, envelope or flat, into an `OptimiserProgress`."""
    if not isinstance(body, dict):
        raise _malformed(f"expected a JSON object, got {type(body).__name__}", body)
    raw_status, status = _status(body)
    output = body.get("output")
    result: dict[str, Any] | None
    if isinstance(output, dict):
        result = output
    elif "improved_metric_description" in body:
        result = body  # the flat variant: the spec's ProcessFeedbacksResponse at top level
    else:
        result = None
    questions = _questions(body, result)
    has_proposal = result is not None and any(k in result for k in _PROPOSAL_KEYS)

    state: OptimiserState
    if status in SUCCESS_STATUSES:
        state = "succeeded"
    elif status in FAILURE_STATUSES:
        state = "failed"
    elif status in CANCELLED_STATUSES:
        state = "cancelled"
    elif status in PAUSED_STATUSES or questions:
        state = "paused"
    elif status is None and result is not None and "improved_metric_description" in result:
        state = "succeeded"
    else:
        state = "running"

    result_error = result.get("error") if result is not None else None
    if state in ("failed", "cancelled"):
        error = _first_message(body.get("error"), body.get("message"), result_error)
    else:
        error = _first_message(body.get("error"), result_error)
    step = _first_message(body.get("current_step"), body.get("message"))

    return OptimiserProgress(
        state=state,
        raw_status=raw_status,
        questions=questions,
        output=_optimiser_output(result) if result is not None and has_proposal else None,
        error=error,
        step=step,
    )


_RUN_COMPLETED = frozenset({"completed", "complete", "success", "done"})
_RUN_FAILED = FAILURE_STATUSES | CANCELLED_STATUSES


def _count(body: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _review_result(item: Any) -> ReviewResult | None:
    """One per-row result, or None for an item without a usable review id (left out)."""
    try:
        return ReviewResult.model_validate(item)
    except ValidationError:
        return None


def _looks_like_metric(body: dict[str, Any]) -> bool:
    return isinstance(body.get("id"), int) and isinstance(body.get("name"), str)


def parse_run_reviews_progress(body: Any) -> RunReviewsProgress:
    """Read a `run_reviews_progress` body into a `RunReviewsProgress`.

    Accepts `metric` nested or the metric's fields at the top level (the pre-async shape),
    per-row `review_results` when present, and counts named `completed`/`failed` or `completed_count`/`failed_count`.
    Cancelled-like statuses count as failed: the re-score did not finish.
    """
    if not isinstance(body, dict):
        raise _malformed(f"expected a JSON object, got {type(body).__name__}", body)
    raw_status, status = _status(body)
    metric_data: Any = body.get("metric")
    if not isinstance(metric_data, dict):
        metric_data = body if _looks_like_metric(body) else None
    metric = None
    if metric_data is not None:
        try:
            metric = Metric.model_validate(metric_data)
        except ValidationError as exc:
            raise _malformed("metric has " + validation_problem(exc)) from None

    state: RunReviewsState
    if status in _RUN_COMPLETED or (status is None and metric is not None):
        state = "completed"
    elif status in _RUN_FAILED:
        state = "failed"
    else:
        state = "running"

    results = [r for r in map(_review_result, _list(body.get("review_results"))) if r]
    error = _first_message(body.get("error"))
    if error is None and state == "failed":
        error = _first_message(body.get("message")) or (
            f"re-score {raw_status}" if status in CANCELLED_STATUSES else None
        )
    return RunReviewsProgress(
        state=state,
        raw_status=raw_status,
        total=_count(body, "total", "total_count"),
        completed=_count(body, "completed", "completed_count"),
        failed=_count(body, "failed", "failed_count"),
        error=error,
        metric=metric,
        review_results=results,
    )
