"""The routine's step for a metric whose pending proposal (from Cekura's optimiser schedule) is
newer than our last run: report it, or take it through our guard, instead of starting a run."""

from __future__ import annotations

from tools.context import Workflow
from tools.progress import ProgressFn
from tools.proposals.view import show_evidence
from tools.results import MetricOutcome, OptimiseResult
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.diff import pending_diff
from tools.workflows.pending import pending_to_take, proposed_at


async def pending_outcome(
    wf: Workflow, metric_id: int, apply: bool, progress: ProgressFn
) -> MetricOutcome | None:
    """The metric's outcome from its pending proposal, or None when the routine should optimise."""
    metric = await pending_to_take(wf, metric_id)
    if metric is None or metric.pending_optimisation_proposal is None:
        return None
    pending = metric.pending_optimisation_proposal
    made = proposed_at(pending)
    when = f" on {made:%Y-%m-%d %H:%M} UTC" if made else ""
    diff = pending_diff(metric, pending)
    summary = (
        f"Metric {metric_id}: Cekura's optimiser schedule left a pending proposal{when}, newer "
        f"than our last run; it changes {', '.join(diff.changed_fields) or 'nothing'}. No "
        "optimiser run started."
    )
    shown = OptimiseResult.model_validate(
        {**diff.model_dump(exclude={"status", "source"}), "status": "proposed", "summary": summary}
    )
    if not apply:
        return MetricOutcome(
            metric_id=metric_id, status="proposed", summary=summary, optimise=shown
        )
    applied = await apply_if_not_regressed(wf, metric_id, source="pending", progress=progress)
    evidence = applied.evidence
    if evidence is not None:
        show_evidence(shown, evidence)
    return MetricOutcome(
        metric_id=metric_id,
        status=applied.status,
        summary=applied.summary,
        optimise=shown.model_copy(update={"next_steps": []}),
        apply=applied.model_copy(update={"next_steps": []}),
    )
