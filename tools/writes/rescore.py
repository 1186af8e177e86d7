"""Re-scoring a metric's Lab with `run_reviews` and waiting for the refreshed metric."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.cekura.errors import CekuraError
from tools.cekura.models import Metric, ReviewResult, RunReviewsProgress
from tools.context import Workflow
from tools.explain import explain
from tools.polling.loop import poll_until
from tools.progress import Reporter


@dataclass
class RescoreOutcome:
    """The re-scored metric (and per-row results when Cekura sent them), or None with warnings
    saying why there is none."""

    after: Metric | None
    warnings: list[str] = field(default_factory=list)
    results: list[ReviewResult] = field(default_factory=list)


def _describe(metric_id: int, state: RunReviewsProgress) -> str:
    counts = f" {state.completed}/{state.total}" if state.total else ""
    return f"metric {metric_id}: re-score {state.raw_status or state.state}{counts}"


async def rescore(
    wf: Workflow,
    metric_id: int,
    report: Reporter,
    *,
    overrides: dict[str, Any] | None = None,
) -> RescoreOutcome:
    """Start one `run_reviews` (never repeated) and follow it to the end or the verify deadline.
    With `overrides` it scores that unsaved configuration and saves nothing (`skip_save`)."""
    try:
        progress_id = await wf.client.run_reviews(
            metric_id, overrides=overrides, skip_save=overrides is not None
        )
    except CekuraError as exc:
        return RescoreOutcome(None, [explain(exc, "starting the Lab re-score") + " Not re-scored."])
    try:
        outcome = await poll_until(
            lambda: wf.client.get_run_reviews_progress(progress_id),
            lambda s: s.state != "running",
            lambda s: _describe(metric_id, s),
            clock=wf.clock,
            policy=wf.policy.run_reviews_poll,
            deadline=wf.clock.now() + wf.policy.verify_timeout_s,
            report=report,
        )
    except CekuraError as exc:
        return RescoreOutcome(None, [explain(exc, "following the Lab re-score")])
    state = outcome.value
    if outcome.timed_out:
        return RescoreOutcome(
            None, [f"The Lab re-score {progress_id} did not finish in time; not verified."]
        )
    if state.state == "failed":
        return RescoreOutcome(None, [f"The Lab re-score {progress_id} failed; not verified."])
    if state.metric is not None or overrides is not None:
        return RescoreOutcome(state.metric, results=state.review_results)
    try:
        return RescoreOutcome(await wf.client.get_metric(metric_id))
    except CekuraError as exc:
        return RescoreOutcome(None, [explain(exc, "reading the re-scored metric")])
