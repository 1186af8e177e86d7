"""Every Cekura endpoint this client calls, and whether a failed attempt at it may be repeated.

The retry policy is declared once, in `RETRY_TABLE` (contract: cekura-api.md §2-§6):

* `Retry.SAFE`: repeating is harmless (every GET; PATCH of a metric, a Lab row or a schedule,
  where the same body gives the same result; POST restore, which restores the same history row;
  POST process_feedbacks_cancel).
  Retried on 429 (waiting `Retry-After`, seconds or HTTP date), 500, 502, 503, 504 and on
  connection errors and timeouts, with capped exponential backoff and jitter, up to
  `max_attempts` in total, and never past the call's `deadline_s` (a wait that would end after
  it means giving up now).
* `Retry.SAFE_GONE_IS_DONE`: as SAFE, and a 404 after an attempt that may have reached Cekura
  counts as done (DELETE of a cron job that a lost attempt already deleted).
* `Retry.NEVER`: every other POST. process_feedbacks, run_reviews and the metric preview start a
  job each time; rerun_evaluation bills every assigned metric on every call again; answering
  twice, applying or dismissing a proposal twice, creating a cron job or a Lab test set twice, or
  voting twice is not harmless either, so they are not repeated even after a 429. After such a POST is sent and no
  answer comes back (read timeout, dropped connection) the call raises `CekuraOutcomeUnknown`;
  when the connection was never made it raises `CekuraTransportError`; a 5xx raises
  `CekuraServerError` at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Final

# Contract §2 and §12 paths. Labs endpoints have no version segment; schedules live under v1.
_REVIEWS = "/test_framework/metric-reviews"
_METRICS = "/test_framework/v2/metrics"
_CRON = "/schedules/v1/metric-optimiser-cron-jobs"
_CALL_LOGS = "/observability/v2/call-logs"

PROCESS_FEEDBACKS = f"{_REVIEWS}/process_feedbacks/"
PROCESS_FEEDBACKS_PROGRESS = f"{_REVIEWS}/process_feedbacks_progress/"
PROCESS_FEEDBACKS_ANSWER = f"{_REVIEWS}/process_feedbacks_answer/"
PROCESS_FEEDBACKS_CANCEL = f"{_REVIEWS}/process_feedbacks_cancel/"
REVIEW = f"{_REVIEWS}/{{review_id}}/"
CREATE_FROM_CALL_LOG = "/test_framework/test-sets/create_from_call_log/"
METRICS = f"{_METRICS}/"
METRIC = f"{_METRICS}/{{metric}}/"
METRIC_HISTORY = f"{_METRICS}/{{metric_id}}/history/"
METRIC_RESTORE = f"{_METRICS}/{{metric_id}}/restore/"
RUN_REVIEWS = f"{_METRICS}/{{metric_id}}/run_reviews/"
RUN_REVIEWS_PROGRESS = f"{_METRICS}/run_reviews_progress/"
APPLY_PROPOSAL = f"{_METRICS}/{{metric_id}}/apply_optimisation_proposal/"
DISMISS_PROPOSAL = f"{_METRICS}/{{metric_id}}/dismiss_optimisation_proposal/"
METRIC_PREVIEW = f"{_METRICS}/preview/"
METRIC_PREVIEW_PROGRESS = f"{_METRICS}/preview-progress/"
CALL_LOGS = f"{_CALL_LOGS}/"
CALL_LOG = f"{_CALL_LOGS}/{{call_log_id}}/"
MARK_METRIC_VOTE = f"{_CALL_LOGS}/{{call_log_id}}/mark_metric_vote/"
RERUN_EVALUATION = f"{_CALL_LOGS}/rerun_evaluation/"
CRON_JOBS = f"{_CRON}/"
CRON_JOB = f"{_CRON}/{{job_id}}/"


class Retry(Enum):
    """Whether a failed attempt at an endpoint may be repeated (see the module docstring)."""

    NEVER = "never"
    SAFE = "safe"
    SAFE_GONE_IS_DONE = "safe, and a 404 after an unanswered attempt means done"


# Every endpoint this client calls, keyed by (method, path template). A call to an endpoint
# missing here is a programming error, so no endpoint gets a retry policy by default.
RETRY_TABLE: Final[Mapping[tuple[str, str], Retry]] = MappingProxyType(
    {
        ("POST", PROCESS_FEEDBACKS): Retry.NEVER,
        ("GET", PROCESS_FEEDBACKS_PROGRESS): Retry.SAFE,
        ("POST", PROCESS_FEEDBACKS_ANSWER): Retry.NEVER,
        ("POST", PROCESS_FEEDBACKS_CANCEL): Retry.SAFE,
        ("PATCH", REVIEW): Retry.SAFE,
        ("POST", CREATE_FROM_CALL_LOG): Retry.NEVER,
        ("GET", METRICS): Retry.SAFE,
        ("GET", METRIC): Retry.SAFE,
        ("PATCH", METRIC): Retry.SAFE,
        ("GET", METRIC_HISTORY): Retry.SAFE,
        ("POST", METRIC_RESTORE): Retry.SAFE,
        ("POST", RUN_REVIEWS): Retry.NEVER,
        ("GET", RUN_REVIEWS_PROGRESS): Retry.SAFE,
        ("POST", APPLY_PROPOSAL): Retry.NEVER,
        ("POST", DISMISS_PROPOSAL): Retry.NEVER,
        ("POST", METRIC_PREVIEW): Retry.NEVER,
        ("GET", METRIC_PREVIEW_PROGRESS): Retry.SAFE,
        ("GET", CALL_LOGS): Retry.SAFE,
        ("GET", CALL_LOG): Retry.SAFE,
        ("POST", MARK_METRIC_VOTE): Retry.NEVER,
        ("POST", RERUN_EVALUATION): Retry.NEVER,
        ("GET", CRON_JOBS): Retry.SAFE,
        ("POST", CRON_JOBS): Retry.NEVER,
        ("PATCH", CRON_JOB): Retry.SAFE,
        ("DELETE", CRON_JOB): Retry.SAFE_GONE_IS_DONE,
    }
)


def retry_rule(method: str, template: str) -> Retry:
    """The retry rule of an endpoint; a call to one missing from the table is a programming error."""
    rule = RETRY_TABLE.get((method, template))
    if rule is None:
        raise LookupError(f"{method} {template} has no entry in the retry table")
    return rule
