"""What a metric's Lab holds, and whether it has enough human feedback for the optimiser.

A feedback instance is a Lab row with a human label (`expected_value`): each is one person's
verdict on one call, which is what the optimiser scores against. Rows whose label also carries a
written note are counted apart, since notes are what the optimiser learns its cues from."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.cekura.models import Metric, MetricReview
from tools.labs.calls import epoch


class LabCounts(BaseModel):
    """The Lab's rows by kind; `changed_since_last_run` is None when no run has finished yet."""

    rows: int
    labelled: int = Field(description="Feedback instances: rows with a human label")
    with_feedback: int = Field(description="Labelled rows that also carry a written note")
    disagreeing: int = Field(description="Labelled rows whose stored result differs from the label")
    changed_since_last_run: int | None = None
    minimum: int
    needed: int = Field(description="Feedback instances still missing to reach the minimum")


def lab_counts(metric: Metric, minimum: int, last_run_started: float | None) -> LabCounts:
    """Count the metric's Lab rows; rows created or edited after `last_run_started` (epoch
    seconds) count as new since the last finished optimiser run."""
    labelled = [r for r in metric.reviews if r.expected_value is not None]
    changed = None
    if last_run_started is not None:
        changed = sum(_touched_after(r, last_run_started) for r in labelled)
    return LabCounts(
        rows=len(metric.reviews),
        labelled=len(labelled),
        with_feedback=sum(bool((r.feedback or "").strip()) for r in labelled),
        disagreeing=sum(
            r.actual_value is not None and r.actual_value != r.expected_value for r in labelled
        ),
        changed_since_last_run=changed,
        minimum=minimum,
        needed=max(0, minimum - len(labelled)),
    )


def _touched_after(row: MetricReview, moment: float) -> bool:
    """Whether the row was created or last edited after `moment`; unknown times count as new."""
    known = [epoch(s) for s in (row.updated_at, row.created_at) if s]
    return not any(known) or max(known) > moment
