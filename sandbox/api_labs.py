"""Routes of `/test_framework/metric-reviews/`: start, poll, answer and cancel an optimisation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox import validation as v
from sandbox.contract import METRIC_TYPES
from sandbox.jobs import RESUMED, AnswerError, OptimiserJob
from sandbox.state import SandboxState
from sandbox.web import ApiError, field_error, not_found, ok, read_object, required_query

PROCESS_FEEDBACKS_RULES: dict[str, v.Rule] = {
    "metric_id": v.integer,
    "metric_type": v.choice(METRIC_TYPES),
    "test_set_ids": v.list_of(v.integer),
    "simplified_prompt": v.string(),
    "skip_evaluation": v.boolean,
}


async def process_feedbacks(request: Request, state: SandboxState) -> Response:
    body = v.validate(await read_object(request), PROCESS_FEEDBACKS_RULES, required=("metric_id",))
    metric = state.metrics.get(body["metric_id"])
    if metric is None:
        raise not_found()
    test_set_ids = body.get("test_set_ids")
    if test_set_ids is not None:
        known = {r["test_set"]["id"] for r in metric["reviews"]}
        unknown = [str(i) for i in test_set_ids if i not in known]
        if unknown:
            raise field_error(
                "test_set_ids",
                f"Test sets not in this metric's Lab: {', '.join(unknown)}.",
            )
    job = state.start_optimisation(
        metric["id"],
        test_set_ids=test_set_ids,
        simplified_prompt=body.get("simplified_prompt") or None,
        skip_evaluation=body.get("skip_evaluation", False),
    )
    return ok({"progress_id": job.progress_id})


async def process_feedbacks_progress(request: Request, state: SandboxState) -> Response:
    progress_id = required_query(request, "progress_id")
    if progress_id not in state.optimiser_jobs:
        raise not_found()
    return ok(state.optimiser_progress(progress_id))


async def process_feedbacks_answer(request: Request, state: SandboxState) -> Response:
    body = await read_object(request)
    v.validate(
        body,
        {"progress_id": v.string(blank=False), "answers": _answers_object},
        required=("progress_id", "answers"),
    )
    job = _job(state, body["progress_id"])
    try:
        job.answer(body["answers"])
    except AnswerError as exc:
        raise field_error(exc.field, str(exc)) from None
    if job.status == "paused":
        waiting = ", ".join(job.open_question_ids())
        return ok({"detail": f"Answers recorded; still waiting for: {waiting}."})
    return ok({"detail": RESUMED})


async def process_feedbacks_cancel(request: Request, state: SandboxState) -> Response:
    body = v.validate(
        await read_object(request),
        {"progress_id": v.string(blank=False)},
        required=("progress_id",),
    )
    job = _job(state, body["progress_id"])
    if job.status in ("success", "error"):
        raise ApiError(400, {"non_field_errors": ["This optimization has already finished."]})
    job.cancel()
    return ok({"detail": "cancelled"})


def _job(state: SandboxState, progress_id: str) -> OptimiserJob:
    job = state.optimiser_jobs.get(progress_id)
    if job is None:
        raise not_found()
    return job


def _answers_object(value: object) -> object:
    if not isinstance(value, dict):
        raise v.Invalid("Expected an object keyed by question id.")
    return value
