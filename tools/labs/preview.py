"""Judging a draft configuration on production calls with Cekura's metric preview: up to ten calls
per job, polled to the end; nothing is saved."""

from __future__ import annotations

from typing import Any

from tools.cekura.call_log_models import PreviewProgress
from tools.cekura.errors import CekuraError
from tools.context import Workflow
from tools.errors import WorkflowError
from tools.explain import explain
from tools.polling.loop import poll_until
from tools.progress import Reporter

PREVIEW_BATCH = 10


async def preview_verdicts(
    wf: Workflow, metric_data: dict[str, Any], call_ids: list[int], report: Reporter
) -> dict[int, Any]:
    """The draft's verdict on each call, by call log id (calls the preview erred on are absent)."""
    verdicts: dict[int, Any] = {}
    for start in range(0, len(call_ids), PREVIEW_BATCH):
        batch = call_ids[start : start + PREVIEW_BATCH]
        verdicts.update(await _one_job(wf, metric_data, batch, report))
    return verdicts


async def _one_job(
    wf: Workflow, metric_data: dict[str, Any], batch: list[int], report: Reporter
) -> dict[int, Any]:
    try:
        progress_id = await wf.client.preview_metric(metric_data, batch)
        outcome = await poll_until(
            lambda: wf.client.get_preview_progress(progress_id),
            lambda state: state.state != "running",
            lambda state: _describe(state, len(batch)),
            clock=wf.clock,
            policy=wf.policy.run_reviews_poll,
            deadline=wf.clock.now() + wf.policy.verify_timeout_s,
            report=report,
        )
    except CekuraError as exc:
        raise WorkflowError(explain(exc, "previewing the proposal on held-out calls")) from exc
    state = outcome.value
    if outcome.timed_out:
        raise WorkflowError(
            f"Cekura's preview {progress_id} did not finish in time; nothing was decided or "
            "written. Try again later."
        )
    if state.state == "failed":
        raise WorkflowError(
            f"Cekura's preview {progress_id} failed; nothing was decided or written."
        )
    return {
        item.call_log_id: item.verdict
        for item in state.results
        if item.call_log_id in batch and not item.error
    }


def _describe(state: PreviewProgress, size: int) -> str:
    done = f" {state.completed}/{state.total or size}" if state.completed is not None else ""
    return f"preview on held-out calls: {state.raw_status or state.state}{done}"
