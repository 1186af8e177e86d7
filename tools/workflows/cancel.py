"""cancel_optimisation: cancel our in-flight optimiser run for a metric."""

from __future__ import annotations

from tools.cekura.errors import CekuraError, CekuraNotFound
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import MetricId, check
from tools.ledger.models import RunRow
from tools.results import CancelResult


@reports_retries
async def cancel_optimisation(wf: Workflow, metric_id: int) -> CancelResult:
    """Ask Cekura to cancel the run holding the metric's slot, then free the slot."""
    metric_id = check(MetricId, metric_id, "metric_id")
    if wf.policy.read_only:
        raise WorkflowError(
            "The server is in read-only mode (CEKURA_OPTIMISE_READ_ONLY); cancel refused and "
            "nothing was sent. Cancel the run in Cekura's Metric Lab, or restart the server "
            "without read-only mode."
        )
    run = await wf.ledger.inflight_run(metric_id)
    if run is None or not run.progress_id:
        return CancelResult(
            metric_id=metric_id,
            status="nothing_running",
            summary=f"Metric {metric_id}: no optimisation of ours is running.",
        )
    try:
        await wf.client.cancel_optimisation(run.progress_id)
    except CekuraNotFound:
        pass
    except CekuraError as exc:
        raise WorkflowError(
            explain(exc, f"cancelling run {run.progress_id}") + " The run is still tracked."
        ) from exc
    closed = await wf.ledger.close_run(
        run.id, "cancelled", note="cancelled on request", now=wf.clock.now()
    )
    if not closed.won:
        return _ended_first(metric_id, closed.run)
    return CancelResult(
        metric_id=metric_id,
        status="cancelled",
        progress_id=run.progress_id,
        summary=f"Metric {metric_id}: run {run.progress_id} cancelled.",
    )


def _ended_first(metric_id: int, run: RunRow) -> CancelResult:
    """The run ended on its own (or another call closed it) before the cancel was recorded."""
    steps = [f"diff_proposal(metric_id={metric_id})"] if run.status == "proposed" else []
    return CancelResult(
        metric_id=metric_id,
        status="nothing_running",
        progress_id=run.progress_id,
        summary=(
            f"Metric {metric_id}: run {run.progress_id} had already ended ({run.status}) before "
            "the cancel was recorded; its outcome stands."
        ),
        next_steps=steps,
    )
