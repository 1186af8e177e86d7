"""Production calls as the Lab sees them: which are already in a metric's Lab, what a person
voted on them, and whether a feedback note says enough to teach the optimiser."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tools.cekura.models import Metric, MetricReview

CALL_LOG = "CallLog"
_TIMESTAMP = re.compile(r"\b\d{1,2}:\d{2}\b")
_QUOTE = re.compile(r"'[^']{3,}'|\"[^\"]{3,}\"|“[^”]{3,}”")
_MIN_WORDS = 8
FEEDBACK_ADVICE = (
    "Good feedback cites the moment in the call (a timestamp such as 00:12, or the exact words in "
    "quotes), says why the result is wrong (or right), and what it should be."
)


def lab_call_ids(metric: Metric) -> set[int]:
    """The call logs the metric's Lab was built from (its rows whose test set came from a call)."""
    return {call for row in metric.reviews if (call := _call_of(row)) is not None}


def lab_row_for_call(metric: Metric, call_id: int) -> MetricReview | None:
    """The metric's Lab row made from this call log, if any."""
    return next((row for row in metric.reviews if _call_of(row) == call_id), None)


def _call_of(row: MetricReview) -> int | None:
    test_set = row.test_set
    if test_set is None or test_set.source_model != CALL_LOG:
        return None
    source = (test_set.source_id or "").strip()
    return int(source) if source.isdigit() else None


def feedback_problem(feedback: str) -> str | None:
    """Why a feedback note would teach the optimiser little (None when it looks useful): too short,
    or citing nothing that happened in the call."""
    words = feedback.split()
    if len(words) < _MIN_WORDS:
        return f"The feedback is short ({len(words)} words). {FEEDBACK_ADVICE}"
    if not (_TIMESTAMP.search(feedback) or _QUOTE.search(feedback)):
        return f"The feedback cites no moment of the call. {FEEDBACK_ADVICE}"
    return None


def epoch(stamp: datetime | str | None) -> float:
    """A time from Cekura (ISO 8601 text or a datetime) as epoch seconds; 0 when missing or
    unreadable. A time without a zone is taken as UTC."""
    if not stamp:
        return 0.0
    if isinstance(stamp, str):
        try:
            stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return 0.0
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()
