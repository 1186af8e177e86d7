"""lab_status: how much human feedback a metric's Lab holds, and whether an optimiser run would
have enough (and anything new) to learn from. Read-only; spends no credits."""

from __future__ import annotations

from tools.context import Workflow, reports_retries
from tools.inputs import MetricId, check
from tools.labs.readiness import LabCounts, lab_counts
from tools.live_metric import read_metric
from tools.proposals.fingerprint import labels_fingerprint
from tools.results import LabStatusResult


@reports_retries
async def lab_status(wf: Workflow, metric_id: int) -> LabStatusResult:
    """Count the Lab's rows and judge readiness: `not_ready` below the minimum, `no_new_feedback`
    when labels and metric are unchanged since the last finished run, else `ready`."""
    metric_id = check(MetricId, metric_id, "metric_id")
    metric = await read_metric(wf, metric_id)
    last = await wf.ledger.last_finished_run(metric_id)
    counts = lab_counts(metric, wf.policy.min_feedback, last.started_at if last else None)
    last_run = last.progress_id if last else None
    if counts.needed:
        return _result(metric_id, "not_ready", counts, last_run, _short(metric_id, counts))
    if last is not None and last.fingerprint == labels_fingerprint(metric, last.test_set_ids):
        summary = (
            f"Metric {metric_id}: {counts.labelled} labelled rows, none new or changed since run "
            f"{last_run}; an optimiser run would learn nothing new."
        )
        return _result(metric_id, "no_new_feedback", counts, last_run, summary)
    new = "" if counts.changed_since_last_run is None else f", {counts.changed_since_last_run} new"
    summary = f"Metric {metric_id}: ready, {counts.labelled} labelled rows{new}."
    return _result(metric_id, "ready", counts, last_run, summary)


def _short(metric_id: int, counts: LabCounts) -> str:
    return (
        f"Metric {metric_id}: {counts.labelled} labelled rows, {counts.minimum} needed; label "
        f"{counts.needed} more call(s)."
    )


def _result(
    metric_id: int, status: str, counts: LabCounts, last_run: str | None, summary: str
) -> LabStatusResult:
    steps = {
        "not_ready": [f"review_results(metric_id={metric_id}), then label_call for each call"],
        "no_new_feedback": [f"review_results(metric_id={metric_id}) to find calls to label"],
        "ready": [f"optimise_metric(metric_id={metric_id})"],
    }[status]
    return LabStatusResult(
        metric_id=metric_id,
        status=status,  # type: ignore[arg-type]
        lab=counts,
        last_run=last_run,
        summary=summary,
        next_steps=steps,
    )
