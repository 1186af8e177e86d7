"""Typed views of production call logs, their metric results and human votes, the Lab test sets
made from them, and metric previews (contract §5.4, §5.5, §12).

Real Cekura is loose here (§12.7): result items may lack keys the schema calls required, list
rows type `transcript_object` and `evaluation` as strings, and a vote may sit on the result item
or under its `extra`. These models read every such shape instead of rejecting the call log.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .models import TestSet, _Body

PreviewState = Literal["running", "succeeded", "failed"]

_VOTE_FIELDS = ("thumbs_up", "expected_value", "feedback")


class Unset(Enum):
    """The type of `UNSET`: "leave this field as it is", distinct from None (which is a value)."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


def _number(value: Any) -> int | float | None:
    """A score as an int when whole (5.0 reads 5), a float otherwise; None when absent or not
    a number, so that the verdict falls back to the enum or value."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() else value
    return value


def _blank_is_none(value: Any) -> Any:
    """Cekura fills the enum and value of a binary result with "": that means no value."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _texts(value: Any) -> list[str]:
    """An explanation as a list of strings, whether sent as a list, one string or null."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [v if isinstance(v, str) else json.dumps(v, default=str) for v in items if v is not None]


def _json_text(value: Any) -> Any:
    """A JSON value that Cekura may send encoded as a string (list rows do); unreadable is None."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _has_id(item: Any) -> bool:
    """Whether a result item names its metric (an item without one cannot be matched)."""
    if isinstance(item, MetricResult):
        return True
    if not isinstance(item, dict):
        return False
    ident = item.get("id")
    if isinstance(ident, str):
        return ident.strip().isdigit()
    return isinstance(ident, int) and not isinstance(ident, bool)


def _result_items(value: Any) -> list[Any]:
    """The metric result items of an `evaluation` or a row's `metrics`, in any shape sent."""
    value = _json_text(value)
    if isinstance(value, CallLogEvaluation):
        value = value.metrics
    elif isinstance(value, dict):
        value = value.get("metrics")
    if not isinstance(value, list):
        return []
    return [item for item in value if _has_id(item)]


class _Judged(_Body):
    """A judge's output on one call: the score, enum or value, and its explanation."""

    score: int | float | None = None
    enum: str | None = None
    value: Any = None
    explanation: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("score", mode="before")
    @classmethod
    def _read_score(cls, value: Any) -> int | float | None:
        return _number(value)

    @field_validator("enum", mode="before")
    @classmethod
    def _read_enum(cls, value: Any) -> str | None:
        value = _blank_is_none(value)
        return None if value is None else str(value)

    @field_validator("value", mode="before")
    @classmethod
    def _read_value(cls, value: Any) -> Any:
        return _blank_is_none(value)

    @field_validator("explanation", mode="before")
    @classmethod
    def _read_explanation(cls, value: Any) -> list[str]:
        return _texts(value)

    @field_validator("extra", mode="before")
    @classmethod
    def _read_extra(cls, value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    @property
    def verdict(self) -> Any:
        """The result in the Lab's `expected_value` convention: binary 5 pass / 0 fail, the enum
        string for enum metrics, None for N/A (the score, else the enum, else the value)."""
        if self.score is not None:
            return self.score
        if self.enum is not None:
            return self.enum
        return self.value


class MetricResult(_Judged):
    """One metric's result on a call (`evaluation.metrics[]` item, or a list row's `metrics[]`),
    with the human vote on it; `id` is the metric's id."""

    id: int
    name: str | None = None
    type: str | None = None
    thumbs_up: bool | None = None
    expected_value: Any = None
    feedback: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _lift_vote(cls, data: Any) -> Any:
        """A vote field missing (or null) on the item is read from the item's `extra` (§12.7)."""
        if not isinstance(data, dict) or not isinstance(data.get("extra"), dict):
            return data
        extra = data["extra"]
        lifted = {f: extra[f] for f in _VOTE_FIELDS if data.get(f) is None and f in extra}
        return {**data, **lifted} if lifted else data


def _find(results: list[MetricResult], metric_id: int) -> MetricResult | None:
    return next((r for r in results if r.id == metric_id), None)


class _CallLogFields(_Body):
    """Fields a call-log list row and a call-log detail share. `id` is what our tools call
    `call_id`; the provider's `call_id` is kept as text."""

    id: int
    call_id: str | None = None
    agent: int | None = None
    timestamp: datetime | None = None
    duration: str | None = None
    success: bool | None = None
    is_reviewed: bool = False
    status: str | None = None
    feedback: str | None = None
    transcript: str | None = None

    @field_validator("call_id", "duration", "status", "feedback", "transcript", mode="before")
    @classmethod
    def _read_text(cls, value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return None if isinstance(value, dict | list) else str(value)

    @field_validator("timestamp", mode="before")
    @classmethod
    def _read_timestamp(cls, value: Any) -> datetime | None:
        """An ISO timestamp; one without a zone is UTC, one that cannot be read is None."""
        if isinstance(value, str) and value.strip():
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                return None
        if not isinstance(value, datetime):
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @field_validator("is_reviewed", mode="before")
    @classmethod
    def _read_reviewed(cls, value: Any) -> Any:
        return False if value is None else value


class CallLogRow(_CallLogFields):
    """`CallLogList`: one row of the call-log list. Its `metrics` carry no explanations and,
    as far as is published, no votes; read the detail for those."""

    metrics: list[MetricResult] = Field(default_factory=list)

    @field_validator("metrics", mode="before")
    @classmethod
    def _read_metrics(cls, value: Any) -> list[Any]:
        return _result_items(value)

    def result_for(self, metric_id: int) -> MetricResult | None:
        """This metric's result on the call, or None when it was not evaluated."""
        return _find(self.metrics, metric_id)


class CallLogEvaluation(_Body):
    """`Evaluation`: every metric's result on one call."""

    metrics: list[MetricResult] = Field(default_factory=list)


class CallLog(_CallLogFields):
    """`CallLogDetail`: one call with its transcript, each metric's result and the votes."""

    project: int | None = None
    transcript_object: list[dict[str, Any]] = Field(default_factory=list)
    evaluation: CallLogEvaluation = Field(default_factory=CallLogEvaluation)

    @field_validator("transcript_object", mode="before")
    @classmethod
    def _read_turns(cls, value: Any) -> list[dict[str, Any]]:
        value = _json_text(value)
        return [turn for turn in value if isinstance(turn, dict)] if isinstance(value, list) else []

    @field_validator("evaluation", mode="before")
    @classmethod
    def _read_evaluation(cls, value: Any) -> dict[str, list[Any]]:
        return {"metrics": _result_items(value)}

    def result_for(self, metric_id: int) -> MetricResult | None:
        """This metric's result (and vote) on the call, or None when it was not evaluated."""
        return _find(self.evaluation.metrics, metric_id)


class CallLogPage(_Body):
    """`PaginatedCallLogListList`, one page of call-log rows. `count` may be 0 or absent even
    when rows exist (§1.3, §12.7): trust `results` and `next` over it."""

    count: int = 0
    next: str | None = None
    previous: str | None = None
    results: list[CallLogRow] = Field(default_factory=list)

    @field_validator("count", mode="before")
    @classmethod
    def _read_count(cls, value: Any) -> Any:
        return 0 if value is None else value


class MetricFeedback(BaseModel):
    """One metric's label for `create_from_call_log` (`MetricWithFeedback`), sent as an object:
    bare metric ids make Cekura answer 500 (§5.5)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: int = Field(gt=0, strict=True)
    feedback: str = ""
    expected_value: Any = None


class LabReview(_Body):
    """`MetricReviewInline`: one metric's Lab row inside a test set, or the review PATCH's answer."""

    id: int
    metric: int | None = None
    metric_name: str | None = None
    expected_value: Any = None
    feedback: str | None = ""
    explanation: Any = None


class LabTestSet(TestSet):
    """`TestSetDetail`: a call's snapshot in the Lab, with one review row per metric labelled."""

    transcript_object: Any = None
    metric_reviews: list[LabReview] = Field(default_factory=list)

    def review_for(self, metric_id: int) -> LabReview | None:
        """The Lab row for this metric in the test set, or None when it has none."""
        return next((r for r in self.metric_reviews if r.metric == metric_id), None)


class PreviewItem(_Judged):
    """A draft metric's result on one call of a preview; `error` when that call failed."""

    call_log_id: int | None = None
    error: str | None = None


class PreviewProgress(BaseModel):
    """The state of a metric preview job. `succeeded` means the job finished, not that every
    call was judged: look at each item's `error`."""

    state: PreviewState
    raw_status: str | None = None
    results: list[PreviewItem] = Field(default_factory=list)
    error: str | None = None
    total: int | None = None
    completed: int | None = None
    failed: int | None = None
