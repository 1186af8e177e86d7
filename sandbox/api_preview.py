"""Routes of the metric preview (v2, and the v1 twins): start a preview, read its progress.

The body is `MetricPreview` (§12.8): `metric_data` (name, type and eval_type required) and 1–10
`call_log_ids`. The sandbox has no simulation runs, so any `run_ids` are unknown.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import validation as v
from sandbox.contract import (
    EVAL_TYPES,
    EVALUATION_TRIGGERS,
    LEGACY_BINARY_EVAL_TYPES,
    METRIC_TYPES,
    TRIGGER_TYPES,
)
from sandbox.preview import preview_config
from sandbox.state import SandboxState
from sandbox.web import ApiError, field_error, not_found, ok, read_object, required_query

MAX_ITEMS = 10

METRIC_DATA_RULES: dict[str, v.Rule] = {
    "name": v.string(max_length=255, blank=False),
    "type": v.choice(METRIC_TYPES),
    "eval_type": v.choice((*EVAL_TYPES, *LEGACY_BINARY_EVAL_TYPES)),
    "description": v.string(),
    "prompt": v.string(),
    "custom_code": v.string(),
    "evaluation_trigger": v.choice(EVALUATION_TRIGGERS),
    "trigger_type": v.choice(TRIGGER_TYPES),
    "evaluation_trigger_prompt": v.string(),
    "evaluation_trigger_custom_code": v.string(),
    "enum_values": v.list_of(v.string()),
    "audio_enabled": v.boolean,
}
PREVIEW_RULES: dict[str, v.Rule] = {
    "metric_data": v.nested(METRIC_DATA_RULES, required=("name", "type", "eval_type")),
    "call_log_ids": v.bounded_list(v.integer, min_items=1, max_items=MAX_ITEMS),
    "run_ids": v.bounded_list(v.integer, min_items=1, max_items=MAX_ITEMS),
    "agent_id": v.integer,
    "project_id": v.integer,
}


async def metric_preview(request: Request, state: SandboxState) -> Response:
    body = v.validate(await read_object(request), PREVIEW_RULES, required=("metric_data",))
    if "call_log_ids" not in body and "run_ids" not in body:
        raise ApiError(
            400, {"non_field_errors": ["Either call_log_ids or run_ids must be provided."]}
        )
    if "run_ids" in body:
        raise field_error("run_ids", f"Runs not found: {_listed(body['run_ids'])}.")
    _check_calls(body, state)
    job = state.start_preview(preview_config(body["metric_data"]), body["call_log_ids"])
    return ok({"progress_id": job.progress_id})


async def metric_preview_progress(request: Request, state: SandboxState) -> Response:
    job = state.preview_jobs.get(required_query(request, "progress_id"))
    if job is None:
        raise not_found()
    return ok(job.progress())


def _check_calls(body: dict[str, Any], state: SandboxState) -> None:
    """Every call log exists and belongs to the agent and project named, if any."""
    missing = [
        i
        for i in body["call_log_ids"]
        if (call := state.calls.get(i)) is None
        or body.get("agent_id", call["agent"]) != call["agent"]
        or body.get("project_id", call["project"]) != call["project"]
    ]
    if missing:
        raise field_error("call_log_ids", f"Call logs not found: {_listed(missing)}.")


def _listed(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)
