"""Routes of `/test_framework/v2/metrics/`: list, detail, PATCH, history, restore, re-scoring."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import validation as v
from sandbox.contract import (
    ALERT_TYPES,
    DEPRECATED_METRIC_TYPES,
    EVAL_TYPES,
    EVALUATION_TRIGGERS,
    LLM_PROVIDERS,
    METRIC_TYPES,
    SIGNIFICANT_CHANGE_DIRECTIONS,
    SIGNIFICANT_CHANGE_STATUSES,
    TRIGGER_TYPES,
)
from sandbox.shapes import history_row, metric_detail, metric_list_item
from sandbox.state import SandboxState
from sandbox.web import (
    ApiError,
    field_error,
    metric_from_path,
    not_found,
    ok,
    optional_int_query,
    page_of,
    read_object,
    required_query,
)

DEFAULT_PAGE_SIZE = 10

# PatchedMetricEditSerializerV2's writable fields; read-only ones (id, reviews…) are ignored.
PATCH_RULES: dict[str, v.Rule] = {
    "slug": v.nullable(v.string(max_length=255)),
    "project": v.nullable(v.integer),
    "agent": v.nullable(v.integer),
    "agents": v.list_of(v.nullable(v.integer)),
    "assistant_id": v.string(blank=False),
    "name": v.string(max_length=255, blank=False),
    "description": v.string(),
    "type": v.choice(METRIC_TYPES),
    "eval_type": v.choice(EVAL_TYPES),
    "audio_enabled": v.boolean,
    "observability_enabled": v.boolean,
    "simulation_enabled": v.boolean,
    "sampling_enabled": v.boolean,
    "alert_enabled": v.boolean,
    "prompt": v.string(),
    "enum_values": v.list_of(v.string()),
    "display_order": v.integer,
    "custom_code": v.string(),
    "evaluation_trigger": v.choice(EVALUATION_TRIGGERS),
    "trigger_type": v.choice(TRIGGER_TYPES),
    "evaluation_trigger_prompt": v.string(),
    "evaluation_trigger_custom_code": v.string(),
    "llm_provider": v.choice(LLM_PROVIDERS),
    "relevance_llm_provider": v.choice(LLM_PROVIDERS),
    "priority_assignment_prompt": v.string(),
    "configuration": v.anything,
    "metric_description_program": v.anything,
    "metric_description_variables": v.json_array,
    "evaluation_trigger_program": v.anything,
    "evaluation_trigger_variables": v.json_array,
    "alert_type": v.choice(ALERT_TYPES),
    "window_size": v.integer,
    "std_multiplier": v.number,
    "ewma_alpha": v.number,
    "significant_change_alert_status": v.choice(SIGNIFICANT_CHANGE_STATUSES),
    "significant_change_alert_direction": v.choice(SIGNIFICANT_CHANGE_DIRECTIONS),
    "add_to_new_agents": v.nullable(v.boolean),
    "alert_filters": v.anything,
    "slack_workspace": v.nullable(v.integer),
    "slack_channel_id": v.nullable(v.string(max_length=255)),
    "apply_to_all_agents": v.boolean,
    "add_to_rubric": v.boolean,
}
_WRITE_ONLY_FLAGS = ("agent", "assistant_id", "apply_to_all_agents", "add_to_rubric")

# RunReviewsRequest. `evaluation_trigger` is typed as a string there, but it overrides the metric's
# enum field, so the sandbox holds it to the enum (a prompt sent there is a client bug worth a 400).
RUN_REVIEWS_RULES: dict[str, v.Rule] = {
    "llm_provider": v.choice(LLM_PROVIDERS),
    "evaluation_trigger": v.choice(EVALUATION_TRIGGERS),
    "evaluation_trigger_prompt": v.string(),
    "trigger_type": v.choice(TRIGGER_TYPES),
    "evaluation_trigger_custom_code": v.string(),
    "description": v.string(),
    "type": v.choice(METRIC_TYPES),
    "custom_code": v.string(),
    "prompt": v.string(),
    "metric_description_program": v.anything,
    "metric_description_variables": v.anything,
    "evaluation_trigger_program": v.anything,
    "evaluation_trigger_variables": v.anything,
    "skip_save": v.boolean,
}


async def metrics_list(request: Request, state: SandboxState) -> Response:
    project_id = optional_int_query(request, "project_id")
    agent_id = optional_int_query(request, "agent_id")
    items = [
        metric_list_item(m)
        for _, m in sorted(state.metrics.items())
        if (project_id is None or m.get("project") == project_id)
        and (agent_id is None or agent_id in (m.get("agents") or []))
    ]
    return ok(items)


async def metric_get(request: Request, state: SandboxState) -> Response:
    return ok(metric_detail(metric_from_path(request, state, slug_ok=True)))


async def metric_patch(request: Request, state: SandboxState) -> Response:
    metric = metric_from_path(request, state, slug_ok=False)
    changes = v.validate(await read_object(request), PATCH_RULES)
    new_type = changes.get("type")
    if new_type in DEPRECATED_METRIC_TYPES and new_type != metric.get("type"):
        raise field_error("type", f'"{new_type}" is deprecated; use "llm_judge" or "custom_code".')
    for name in _WRITE_ONLY_FLAGS:
        changes.pop(name, None)
    return ok(metric_detail(state.update_metric(metric["id"], changes)))


async def metric_history(request: Request, state: SandboxState) -> Response:
    metric = metric_from_path(request, state, slug_ok=True)
    page = page_of(request, state.history_rows(metric["id"]), DEFAULT_PAGE_SIZE)
    page["results"] = [history_row(r) for r in page["results"]]
    return ok(page)


async def metric_history_edit(request: Request, state: SandboxState) -> Response:
    metric = metric_from_path(request, state, slug_ok=False)
    body = v.validate(
        await read_object(request),
        {"history_id": v.integer, "version_name": v.nullable(v.string(max_length=255))},
        required=("history_id",),
    )
    row = _history_row(state, metric["id"], body["history_id"])
    if "version_name" in body:
        row["version_name"] = body["version_name"]
    return ok(history_row(row))


async def metric_restore(request: Request, state: SandboxState) -> Response:
    metric = metric_from_path(request, state, slug_ok=False)
    body = v.validate(
        await read_object(request), {"history_id": v.integer}, required=("history_id",)
    )
    restored = state.restore(metric["id"], body["history_id"])
    if restored is None:
        raise not_found()
    return ok(metric_detail(restored))


async def apply_proposal(request: Request, state: SandboxState) -> Response:
    metric = _with_proposal(request, state)
    return ok(metric_detail(state.apply_pending_proposal(metric["id"])))


async def dismiss_proposal(request: Request, state: SandboxState) -> Response:
    metric = _with_proposal(request, state)
    state.set_pending_proposal(metric["id"], None)
    return ok({"detail": "Proposal cleared."})


async def run_reviews(request: Request, state: SandboxState) -> Response:
    metric = metric_from_path(request, state, slug_ok=False)
    body = v.validate(await read_object(request), RUN_REVIEWS_RULES)
    skip_save = bool(body.pop("skip_save", False))
    job = state.start_run_reviews(metric["id"], body, skip_save)
    return ok({"progress_id": job.progress_id})


async def run_reviews_progress(request: Request, state: SandboxState) -> Response:
    progress_id = required_query(request, "progress_id")
    if progress_id not in state.run_jobs:
        raise not_found()
    return ok(state.run_reviews_progress(progress_id))


def _history_row(state: SandboxState, metric_id: int, history_id: int) -> dict[str, Any]:
    for row in state.history.get(metric_id, []):
        if row["history_id"] == history_id:
            return row
    raise not_found()


def _with_proposal(request: Request, state: SandboxState) -> dict[str, Any]:
    metric = metric_from_path(request, state, slug_ok=False)
    if not metric.get("pending_optimisation_proposal"):
        raise ApiError(400, {"detail": "No pending optimisation proposal."})
    return metric
