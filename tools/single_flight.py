"""Single flight: at most one optimiser run per metric. Taking over a held slot, and starting a run
exactly once, recording its outcome in the ledger before anything else happens."""

from __future__ import annotations

from tools.cekura.errors import (
    CekuraError,
    CekuraMalformedResponse,
    CekuraOutcomeUnknown,
    CekuraServerError,
)
from tools.cekura.models import Metric
from tools.context import Workflow
from tools.errors import WorkflowError
from tools.explain import explain
from tools.ledger.sqlite import RunRow
from tools.progress import Reporter
from tools.results import OptimiseResult


async def resolve_held_run(wf: Workflow, run: RunRow, force: bool) -> RunRow | None:
    """Decide what to do with the run holding the slot: follow it, wait for its start, or release it."""
    now = wf.clock.now()
    if run.status == "starting":
        waited = 0.0
        while run.status == "starting" and now - run.started_at < wf.policy.starting_grace_s:
            await wf.clock.sleep(0.2)
            waited += 0.2
            now = wf.clock.now()
            run = wf.ledger.run(run.id) or run
            if waited >= 30:
                return None
        if run.status == "starting":
            run = wf.ledger.update_run(
                run.id,
                status="unknown",
                note="the process starting this run stopped answering",
                now=now,
            )
    if run.status == "unknown":
        age = now - run.updated_at
        if not force and age < wf.policy.unknown_start_window_s:
            raise WorkflowError(unknown_start_message(run, wf.policy.unknown_start_window_s - age))
        wf.ledger.finish_run(run.id, "abandoned", note="released after an unknown start", now=now)
        return None
    if run.status in ("running", "paused") and run.progress_id:
        return run
    return None


def unknown_start_message(run: RunRow, remaining_s: float) -> str:
    return (
        f"An optimisation start for metric {run.metric_id} may have reached Cekura but no answer "
        "came back, so a second run was not started (it would run concurrently and cost credits). "
        "Check the metric's Lab in Cekura; if no run is going, call optimise_metric again with "
        f"force=True, or wait {remaining_s / 60:.0f} more minutes."
    )


async def start_run(
    wf: Workflow, run: RunRow, metric: Metric, test_set_ids: list[int] | None, report: Reporter
) -> RunRow | OptimiseResult:
    """POST process_feedbacks once, recording the outcome in the ledger before anything else."""
    try:
        progress_id = await wf.client.start_optimisation(
            metric.id, test_set_ids=test_set_ids, metric_type=metric_type(metric)
        )
    except (CekuraOutcomeUnknown, CekuraServerError, CekuraMalformedResponse) as exc:
        unreadable = isinstance(exc, CekuraMalformedResponse)
        answer = "an answer we cannot read" if unreadable else "no usable answer"
        wf.ledger.update_run(
            run.id, status="unknown", note=f"start sent, {answer}", now=wf.clock.now()
        )
        return OptimiseResult(
            metric_id=metric.id,
            status="failed",
            summary=f"Metric {metric.id}: the start request got {answer}; not repeated.",
            warnings=[unknown_start_message(run, wf.policy.unknown_start_window_s)],
        )
    except CekuraError as exc:
        wf.ledger.finish_run(run.id, "failed", note=exc.message, now=wf.clock.now())
        raise WorkflowError(
            explain(exc, f"starting an optimisation of metric {metric.id}")
        ) from exc
    except BaseException:
        wf.ledger.update_run(
            run.id,
            status="unknown",
            note="call stopped before the start's answer",
            now=wf.clock.now(),
        )
        raise
    running = wf.ledger.update_run(
        run.id, status="running", progress_id=progress_id, now=wf.clock.now()
    )
    await report(f"metric {metric.id}: optimisation started ({progress_id})")
    return running


def metric_type(metric: Metric) -> str | None:
    """The metric_type to send: the metric's own, when it is one Cekura still accepts."""
    return metric.type if metric.type in ("llm_judge", "custom_code") else None
