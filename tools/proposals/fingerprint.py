"""Stable fingerprints of what an optimisation depends on: the metric's optimisable fields and its labels."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from tools.cekura.models import Metric, MetricReview
from tools.proposals.mapping import OPTIMISABLE_FIELDS, live_value


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def metric_fingerprint(metric: Metric) -> str:
    """Changes whenever someone edits a field an optimiser result would overwrite."""
    return _digest({f: live_value(metric, f) or None for f in OPTIMISABLE_FIELDS})


def rows_used(metric: Metric, test_set_ids: list[int] | None) -> list[MetricReview]:
    """The Lab rows an optimisation over `test_set_ids` (all when None) learns from."""
    if test_set_ids is None:
        return list(metric.reviews)
    wanted = set(test_set_ids)
    return [r for r in metric.reviews if r.test_set is not None and r.test_set.id in wanted]


def labels_fingerprint(metric: Metric, test_set_ids: list[int] | None) -> str:
    """Changes when a label or feedback note changes, a row is added or removed, or the metric is edited."""
    rows = sorted(
        (r.id, r.test_set.id if r.test_set else None, r.expected_value, r.feedback or "")
        for r in rows_used(metric, test_set_ids)
    )
    return _digest({"rows": rows, "metric": metric_fingerprint(metric)})
