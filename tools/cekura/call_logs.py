"""Production call logs (contract §5.4, §5.5, §7, §12): read them and their metric results, vote
on a result, put a call into a metric's Lab, edit a Lab row, and re-run the evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .call_log_models import (
    UNSET,
    CallLog,
    CallLogPage,
    LabReview,
    LabTestSet,
    MetricFeedback,
    Unset,
)
from .endpoints import (
    CALL_LOG,
    CALL_LOGS,
    CREATE_FROM_CALL_LOG,
    MARK_METRIC_VOTE,
    RERUN_EVALUATION,
    REVIEW,
)
from .inputs import distinct_ids, id_list, positive_int
from .transport import Transport

MAX_PAGE_SIZE = 200
MAX_WINDOW = timedelta(days=33)


def _timestamp(name: str, value: Any) -> str:
    """A timezone-aware datetime as the ISO text Cekura's filter takes, in UTC."""
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {value!r:.60}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (a naive time is ambiguous)")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _list_params(
    agent_id: int | None,
    project_id: int | None,
    call_ids: list[int] | None,
    timestamp_from: datetime | None,
    timestamp_to: datetime | None,
    page: int,
    page_size: int,
) -> dict[str, Any]:
    """The call-log list query, refusing what Cekura would reject (a window over 33 days)."""
    params: dict[str, Any] = {"page": positive_int("page", page)}
    if positive_int("page_size", page_size) > MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be at most {MAX_PAGE_SIZE}")
    params["page_size"] = page_size
    if agent_id is not None:
        params["agent_id"] = positive_int("agent_id", agent_id)
    if project_id is not None:
        params["project_id"] = positive_int("project_id", project_id)
    if call_ids is not None:
        params["call_ids"] = ",".join(str(i) for i in id_list("call_ids", call_ids))
    if timestamp_from is not None:
        params["timestamp_from"] = _timestamp("timestamp_from", timestamp_from)
    if timestamp_to is not None:
        params["timestamp_to"] = _timestamp("timestamp_to", timestamp_to)
    if timestamp_from is not None and timestamp_to is not None:
        if timestamp_to < timestamp_from:
            raise ValueError("timestamp_to must not be before timestamp_from")
        if timestamp_to - timestamp_from > MAX_WINDOW:
            raise ValueError("the time window must be at most 33 days (Cekura refuses wider)")
    return params


def _feedback_items(metrics: Any) -> list[dict[str, Any]]:
    """`create_from_call_log`'s `metrics`: one object per metric, never bare ids (§5.5)."""
    if not isinstance(metrics, list | tuple) or not metrics:
        raise ValueError("metrics must be a non-empty list of MetricFeedback")
    if not all(isinstance(m, MetricFeedback) for m in metrics):
        raise ValueError("each of metrics must be a MetricFeedback (bare metric ids fail)")
    ids = [m.metric for m in metrics]
    if len(set(ids)) != len(ids):
        raise ValueError("metrics must name each metric once")
    return [m.model_dump() for m in metrics]


def _review_patch(expected_value: Any, feedback: Any) -> dict[str, Any]:
    """The Lab row PATCH body: only the fields given, and at least one."""
    body: dict[str, Any] = {}
    if expected_value is not UNSET:
        body["expected_value"] = expected_value
    if feedback is not UNSET:
        if not isinstance(feedback, str):
            raise ValueError("feedback must be text (an empty string clears it)")
        body["feedback"] = feedback
    if not body:
        raise ValueError("give expected_value or feedback (or both) to change the Lab row")
    return body


class CallLogCalls:
    """The call-log and Lab-row endpoints, mixed into `CekuraClient`."""

    _transport: Transport

    async def list_call_logs(
        self,
        *,
        agent_id: int | None = None,
        project_id: int | None = None,
        call_ids: list[int] | None = None,
        timestamp_from: datetime | None = None,
        timestamp_to: datetime | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> CallLogPage:
        """GET one page of call logs, newest first. Without a window Cekura shows the last 30
        days; rows are large (transcripts), so keep pages small."""
        params = _list_params(
            agent_id, project_id, call_ids, timestamp_from, timestamp_to, page, page_size
        )
        reply = await self._transport.send("GET", CALL_LOGS, params=params)
        return reply.model(CallLogPage)

    async def get_call_log(self, call_log_id: int) -> CallLog:
        """GET one call log (by its integer id) with its transcript, results and votes."""
        path_args = {"call_log_id": positive_int("call_log_id", call_log_id)}
        reply = await self._transport.send("GET", CALL_LOG, path_args=path_args)
        return reply.model(CallLog)

    async def mark_metric_vote(
        self,
        call_log_id: int,
        *,
        metric_id: int,
        thumbs_up: bool | None,
        expected_value: Any,
        feedback: str | None,
    ) -> None:
        """POST a person's vote on one metric's result on a call (every field is sent: Cekura
        requires `metric_id`, `thumbs_up` and `expected_value`, null allowed)."""
        path_args = {"call_log_id": positive_int("call_log_id", call_log_id)}
        if thumbs_up is not None and not isinstance(thumbs_up, bool):
            raise ValueError(f"thumbs_up must be true, false or None, got {thumbs_up!r:.60}")
        if feedback is not None and not isinstance(feedback, str):
            raise ValueError("feedback must be text or None")
        body = {
            "metric_id": positive_int("metric_id", metric_id),
            "thumbs_up": thumbs_up,
            "expected_value": expected_value,
            "feedback": feedback,
        }
        reply = await self._transport.send("POST", MARK_METRIC_VOTE, path_args=path_args, body=body)
        reply.optional_json()

    async def create_from_call_log(
        self, call_log_id: int, metrics: list[MetricFeedback], *, project: int | None = None
    ) -> LabTestSet:
        """POST a call into the Lab of each metric given, with its label and feedback. For a call
        already in the Lab Cekura returns the existing test set, its rows unchanged."""
        body: dict[str, Any] = {
            "call_log_id": positive_int("call_log_id", call_log_id),
            "metrics": _feedback_items(metrics),
        }
        if project is not None:
            body["project"] = positive_int("project", project)
        reply = await self._transport.send("POST", CREATE_FROM_CALL_LOG, body=body)
        return reply.model(LabTestSet)

    async def patch_review(
        self, review_id: int, *, expected_value: Any = UNSET, feedback: str | Unset = UNSET
    ) -> LabReview:
        """PATCH one Lab row's label and/or feedback; a field left UNSET is not sent, and
        `expected_value=None` clears the label."""
        path_args = {"review_id": positive_int("review_id", review_id)}
        body = _review_patch(expected_value, feedback)
        reply = await self._transport.send("PATCH", REVIEW, path_args=path_args, body=body)
        return reply.model(LabReview)

    async def rerun_evaluation(self, call_log_ids: list[int], *, agent_id: int) -> list[CallLog]:
        """POST a re-evaluation of these calls. Cekura re-runs (and bills) every metric assigned
        to each call, not just one; "all" is never sent from here."""
        body = {
            "agent_id": positive_int("agent_id", agent_id),
            "call_logs": distinct_ids("call_log_ids", call_log_ids),
        }
        reply = await self._transport.send("POST", RERUN_EVALUATION, body=body)
        return reply.models(CallLog)
