"""Pure parser for the metric preview's progress body (contract §12.8), which has no schema.

It accepts every shape §12.8 names: any status spelling (an unknown one reads as running, so a
poller keeps polling under its own deadline), `results` as a list or as a dict keyed by call-log
id (also under an `output` envelope), each item's call log under `call_log_id` or `id`, per-item
errors, and the counts under either of their names.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from .call_log_models import PreviewItem, PreviewProgress, PreviewState
from .progress import (
    CANCELLED_STATUSES,
    FAILURE_STATUSES,
    SUCCESS_STATUSES,
    _count,
    _first_message,
    _malformed,
    _status,
)
from .responses import validation_problem

_DONE = SUCCESS_STATUSES | {"succeeded", "finished"}
_FAILED = FAILURE_STATUSES | CANCELLED_STATUSES


def _call_log_id(value: Any) -> int | None:
    """An id sent as a number or as digits; anything else is no id."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _raw_results(body: dict[str, Any]) -> Any:
    """`results`, or the same under an `output` envelope, or `output` itself when it is a list."""
    if body.get("results") is not None:
        return body["results"]
    output = body.get("output")
    if isinstance(output, dict):
        return output.get("results")
    return output if isinstance(output, list) else None


def _item(item: Any, key: Any, position: int) -> PreviewItem:
    """One result item; in a dict keyed by id the key names the call log when the item does not
    (an item's own `id` may be the metric's, as on a call log's evaluation items)."""
    if not isinstance(item, dict):
        raise _malformed(f"preview result {position} is not an object")
    call_log_id = _call_log_id(item.get("call_log_id"))
    if call_log_id is None:
        call_log_id = _call_log_id(key) if key is not None else _call_log_id(item.get("id"))
    _, status = _status(item)
    error = _first_message(item.get("error"))
    if error is None and status in _FAILED:
        error = f"evaluation {status}"
    try:
        return PreviewItem.model_validate({**item, "call_log_id": call_log_id, "error": error})
    except ValidationError as exc:
        raise _malformed(f"preview result {position} has " + validation_problem(exc)) from None


def _items(raw: Any) -> list[PreviewItem]:
    if isinstance(raw, dict):
        pairs = list(raw.items())
    elif isinstance(raw, list):
        pairs = [(None, item) for item in raw]
    elif raw is None:
        pairs = []
    else:
        raise _malformed(f"preview results are a {type(raw).__name__}, not a list or object")
    return [_item(item, key, n) for n, (key, item) in enumerate(pairs, start=1)]


def parse_preview_progress(body: Any) -> PreviewProgress:
    """Read a `preview-progress` body into a `PreviewProgress`.

    With no status at all, a body that holds results (all of them, when it gives a total) is
    read as finished, the way a synchronous answer would look.
    """
    if not isinstance(body, dict):
        raise _malformed(f"expected a JSON object, got {type(body).__name__}", body)
    raw_status, status = _status(body)
    results = _items(_raw_results(body))
    total = _count(body, "total", "total_count")

    state: PreviewState
    if status in _DONE:
        state = "succeeded"
    elif status in _FAILED:
        state = "failed"
    elif status is None and results and (total is None or len(results) >= total):
        state = "succeeded"
    else:
        state = "running"

    output = body.get("output")
    output_error = output.get("error") if isinstance(output, dict) else None
    if state == "failed":
        error = _first_message(body.get("error"), body.get("message"), output_error)
        error = error or f"preview {raw_status}"
    else:
        error = _first_message(body.get("error"), output_error)
    return PreviewProgress(
        state=state,
        raw_status=raw_status,
        results=results,
        error=error,
        total=total,
        completed=_count(body, "completed", "completed_count"),
        failed=_count(body, "failed", "failed_count"),
    )
