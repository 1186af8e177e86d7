"""Routes of `/observability/v2/call-logs/`: list, detail, a human vote, re-evaluation.

The list defaults to the last 30 days of the sandbox's clock and refuses a range wider than 33
days (§12.1). `filters_v2`, `assistant_id` and `ql` are not implemented (ignored).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import validation as v
from sandbox.call_logs import CallQuery, call_detail, call_row
from sandbox.state import SandboxState
from sandbox.web import (
    ApiError,
    field_error,
    not_found,
    ok,
    optional_int_query,
    page_of,
    read_object,
)

DEFAULT_PAGE_SIZE = 10
DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=33)

VOTE_RULES: dict[str, v.Rule] = {
    "metric_id": v.integer,
    "thumbs_up": v.nullable(v.boolean),
    "expected_value": v.anything,
    "feedback": v.nullable(v.string()),
}


async def call_logs_list(request: Request, state: SandboxState) -> Response:
    query = _list_query(request, state.now())
    page = page_of(request, state.calls.select(query), DEFAULT_PAGE_SIZE)
    page["results"] = [call_row(c) for c in page["results"]]
    return ok(page)


async def call_log_get(request: Request, state: SandboxState) -> Response:
    return ok(call_detail(_call_from_path(request, state)))


async def mark_metric_vote(request: Request, state: SandboxState) -> Response:
    call = _call_from_path(request, state)
    body = v.validate(
        await read_object(request),
        VOTE_RULES,
        required=("metric_id", "thumbs_up", "expected_value"),
    )
    if body["metric_id"] not in state.metrics:
        raise field_error("metric_id", f'Invalid pk "{body["metric_id"]}" - object does not exist.')
    recorded = state.calls.vote(
        call, body["metric_id"], body["thumbs_up"], body["expected_value"], body.get("feedback")
    )
    if not recorded:
        raise field_error("metric_id", "This metric has not been evaluated on this call log.")
    return ok({"detail": "Vote recorded"})


async def rerun_evaluation(request: Request, state: SandboxState) -> Response:
    body = v.validate(
        await read_object(request),
        {"agent_id": v.integer, "assistant_id": v.integer, "call_logs": _call_log_ids},
        required=("call_logs",),
    )
    agent_id = _one_agent(body, state)
    if body["call_logs"] == "all":
        calls = [c for c in state.calls.calls.values() if c["agent"] == agent_id]
    else:
        found = {i: state.calls.get(i) for i in body["call_logs"]}
        missing = [str(i) for i, c in found.items() if c is None or c["agent"] != agent_id]
        if missing:
            raise field_error(
                "call_logs", f"Call logs not found for this agent: {', '.join(missing)}."
            )
        calls = [c for c in found.values() if c is not None]
    state.calls.rerun(calls)
    return ok([call_detail(c) for c in calls])


def _call_log_ids(value: Any) -> list[int] | str:
    if value == "all":
        return "all"
    ids = v.list_of(v.integer)(value)
    if not ids:
        raise v.Invalid("This list may not be empty.")
    return ids


def _one_agent(body: dict[str, Any], state: SandboxState) -> int:
    """The agent named by exactly one of `agent_id` / `assistant_id` (no agent here has an
    external assistant id)."""
    if "agent_id" not in body and "assistant_id" not in body:
        raise ApiError(400, {"non_field_errors": ["Provide agent_id or assistant_id."]})
    if "agent_id" in body and "assistant_id" in body:
        raise ApiError(
            400, {"non_field_errors": ["Provide either agent_id or assistant_id, not both."]}
        )
    if "assistant_id" in body:
        raise field_error(
            "assistant_id", f'Invalid pk "{body["assistant_id"]}" - object does not exist.'
        )
    if body["agent_id"] not in state.calls.agents():
        raise field_error("agent_id", f'Invalid pk "{body["agent_id"]}" - object does not exist.')
    return int(body["agent_id"])


def _call_from_path(request: Request, state: SandboxState) -> dict[str, Any]:
    key = str(request.path_params["id"])
    call = state.calls.get(int(key)) if key.isdigit() else None
    if call is None:
        raise not_found()
    return call


def _list_query(request: Request, now: datetime) -> CallQuery:
    end = _timestamp_query(request, "timestamp_to") or now
    start = _timestamp_query(request, "timestamp_from") or end - DEFAULT_WINDOW
    if end - start > MAX_WINDOW:
        raise field_error("timestamp_from", "The time range may not exceed 33 days.")
    return CallQuery(
        start=start,
        end=end,
        agent_id=optional_int_query(request, "agent_id"),
        project_id=optional_int_query(request, "project_id"),
        call_ids=_call_ids_query(request),
    )


def _timestamp_query(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise field_error(name, "Enter a valid date/time.") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _call_ids_query(request: Request) -> frozenset[int] | None:
    text = request.query_params.get("call_ids")
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise field_error("call_ids", "Enter a comma-separated list of call log ids.")
    return frozenset(int(p) for p in parts)
