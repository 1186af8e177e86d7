"""Routes that add and edit Lab rows: `create_from_call_log` and the review PATCH.

`metrics` must be objects (`[{"metric": id, "feedback": …, "expected_value": …}]`); bare ids make
Cekura's view crash with a 500 (§5.5 [K]), and so does the sandbox. Idempotency per call log is
described in `sandbox.lab_rows`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import validation as v
from sandbox.lab_rows import RowRequest
from sandbox.state import SandboxState
from sandbox.web import field_error, not_found, ok, read_object, server_error

CREATE_RULES: dict[str, v.Rule] = {
    "call_log_id": v.integer,
    "metrics": v.json_array,
    "project": v.integer,
    "name": v.string(max_length=255),
}
ROW_RULES: dict[str, v.Rule] = {
    "metric": v.integer,
    "feedback": v.string(),
    "expected_value": v.anything,
}
PATCH_RULES: dict[str, v.Rule] = {
    "expected_value": v.anything,
    "feedback": v.string(),
}


async def create_from_call_log(request: Request, state: SandboxState) -> Response:
    body = v.validate(await read_object(request), CREATE_RULES, required=("call_log_id", "metrics"))
    if any(not isinstance(item, dict) for item in body["metrics"]):
        return server_error()
    rows = _rows(body["metrics"], state)
    call = state.calls.get(body["call_log_id"])
    if call is None:
        raise not_found()
    if body.get("project") not in (None, call["project"]):
        raise field_error("project", "The call log does not belong to this project.")
    test_set = state.lab.from_call_log(call, rows, body.get("name") or "")
    return ok(state.lab.test_set_detail(test_set))


async def review_patch(request: Request, state: SandboxState) -> Response:
    key = str(request.path_params["id"])
    review = state.lab.review(int(key)) if key.isdigit() else None
    if review is None:
        raise not_found()
    changes = v.validate(await read_object(request), PATCH_RULES)
    state.lab.patch_review(review, changes)
    return ok(state.lab.review_inline(review))


def _rows(items: list[dict[str, Any]], state: SandboxState) -> list[RowRequest]:
    """The validated metric objects; errors nest per item, as DRF's list serializers do."""
    errors: list[dict[str, Any]] = []
    rows: list[RowRequest] = []
    for item in items:
        try:
            clean = v.validate(item, ROW_RULES, required=("metric",))
        except v.ValidationFailed as exc:
            errors.append(exc.errors)
            continue
        if clean["metric"] not in state.metrics:
            errors.append({"metric": [f'Invalid pk "{clean["metric"]}" - object does not exist.']})
            continue
        errors.append({})
        rows.append(
            RowRequest(clean["metric"], clean.get("feedback", ""), clean.get("expected_value"))
        )
    if any(errors):
        raise v.ValidationFailed({"metrics": errors})
    if not rows:
        raise field_error("metrics", "This list may not be empty.")
    return rows
