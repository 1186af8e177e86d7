"""Lab rows from production calls: test sets, `create_from_call_log`, and the review PATCH.

A test set is the snapshot of one call; a metric's Lab row (MetricReview) links a test set to the
metric. `create_from_call_log` is idempotent per call log: the first call makes the test set (the
transcript copied, `source_model` "CallLog", `source_id` the call log's id) and a row for each
named metric, its actual value copied from the call's stored result. A later call returns the
same test set, leaves every existing row as it was (§5.5 [I]: "the created or existing test
set"), and adds a row only for a named metric that has none in it yet; changing an existing row
is the review PATCH's job (§5.4).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.call_logs import result_for, transcript_object
from sandbox.seed import recording_url, stamp

TEST_SET_FIELDS = (
    "id",
    "agent",
    "name",
    "transcript",
    "voice_recording_url",
    "call_end_reason",
    "duration",
    "source_model",
    "source_id",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class RowRequest:
    """One `MetricWithFeedback` of a create_from_call_log body, validated."""

    metric_id: int
    feedback: str = ""
    expected_value: Any = None


class LabBook:
    """The test sets behind every metric's Lab rows, indexed by id and by source call log."""

    def __init__(self, metrics: dict[int, dict[str, Any]], now: Callable[[], datetime]) -> None:
        self.metrics = metrics
        self.now = now
        self.test_sets: dict[int, dict[str, Any]] = {}
        self._by_call: dict[str, int] = {}
        for review in self.reviews():
            test_set = review["test_set"]
            self.test_sets.setdefault(test_set["id"], test_set)
            if test_set.get("source_model") == "CallLog":
                self._by_call.setdefault(str(test_set["source_id"]), test_set["id"])
        reviews = [r["id"] for r in self.reviews()]
        self._test_set_ids = itertools.count(max([9000, *self.test_sets]) + 1)
        self._review_ids = itertools.count(max([60_000, *reviews]) + 1)

    def reviews(self) -> Iterable[dict[str, Any]]:
        for metric in self.metrics.values():
            yield from metric["reviews"]

    def review(self, review_id: int) -> dict[str, Any] | None:
        """A Lab row (mutable) by id, or None."""
        return next((r for r in self.reviews() if r["id"] == review_id), None)

    def test_set_for_call(self, call_log_id: int) -> dict[str, Any] | None:
        test_set_id = self._by_call.get(str(call_log_id))
        return self.test_sets.get(test_set_id) if test_set_id is not None else None

    def from_call_log(
        self, call: dict[str, Any], rows: list[RowRequest], name: str
    ) -> dict[str, Any]:
        """The call's test set (made now, or the existing one) with a row for each named metric
        that has none in it yet; existing rows are left as they were."""
        test_set = self.test_set_for_call(call["id"])
        if test_set is None:
            test_set = self._new_test_set(call, name)
        present = {r["metric"] for r in self.reviews() if r["test_set"]["id"] == test_set["id"]}
        for row in rows:
            if row.metric_id in present:
                continue
            present.add(row.metric_id)
            self.metrics[row.metric_id]["reviews"].append(self._new_review(call, test_set, row))
        return test_set

    def patch_review(self, review: dict[str, Any], changes: dict[str, Any]) -> None:
        review.update(changes)
        review["updated_at"] = stamp(self.now())

    def test_set_detail(self, test_set: dict[str, Any]) -> dict[str, Any]:
        """TestSetDetail: the test set, its transcript as turns, and its Lab rows."""
        body = {name: copy.deepcopy(test_set.get(name)) for name in TEST_SET_FIELDS}
        body["transcript_object"] = transcript_object(str(test_set.get("transcript") or ""))
        body["metric_reviews"] = [
            self.review_inline(r) for r in self.reviews() if r["test_set"]["id"] == test_set["id"]
        ]
        return body

    def review_inline(self, review: dict[str, Any]) -> dict[str, Any]:
        """MetricReviewInline: a Lab row as a test set (or the review PATCH) shows it."""
        metric = self.metrics[review["metric"]]
        return {
            "id": review["id"],
            "metric": review["metric"],
            "metric_name": metric["name"],
            "metric_enum_values": copy.deepcopy(metric.get("enum_values") or []),
            "eval_type": metric.get("eval_type") or "binary",
            "expected_value": copy.deepcopy(review.get("expected_value")),
            "explanation": copy.deepcopy(review.get("explanation")),
            "feedback": review.get("feedback") or "",
            "metric_function_name": metric.get("function_name") or "",
            "metric_vocera_defined_metric_code": metric.get("vocera_defined_metric_code") or "",
        }

    def _new_test_set(self, call: dict[str, Any], name: str) -> dict[str, Any]:
        at = stamp(self.now())
        test_set = {
            "id": next(self._test_set_ids),
            "agent": call["agent"],
            "name": name or str(call["id"]),
            "transcript": call["transcript"],
            "voice_recording_url": recording_url(call["id"]),
            "call_end_reason": call["call_ended_reason"],
            "duration": call["duration"],
            "source_model": "CallLog",
            "source_id": str(call["id"]),
            "created_at": at,
            "updated_at": at,
        }
        self.test_sets[test_set["id"]] = test_set
        self._by_call[str(call["id"])] = test_set["id"]
        return test_set

    def _new_review(
        self, call: dict[str, Any], test_set: dict[str, Any], row: RowRequest
    ) -> dict[str, Any]:
        stored = result_for(call, row.metric_id) or {}
        at = stamp(self.now())
        return {
            "id": next(self._review_ids),
            "test_set": test_set,
            "metric": row.metric_id,
            "expected_value": copy.deepcopy(row.expected_value),
            "actual_value": stored.get("score"),
            "explanation": copy.deepcopy(stored.get("explanation") or []),
            "feedback": row.feedback,
            "created_at": at,
            "updated_at": at,
        }
