"""optimise_metrics: the whole routine in one call. Each metric is optimised (and, with apply,
put through the guarded write) under bounded concurrency; one summary comes back."""

from __future__ import annotations

from collections import Counter

import anyio

from tools.asking import Asker
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.inputs import Flag, MaxWaitS, MetricIds, OnQuestions, check
from tools.progress import BatchProgress, ProgressFn
from tools.results import BatchResult, MetricOutcome
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.optimise import optimise_metric
from tools.workflows.pending_routine import pending_outcome
from tools.writes.settle import report_interrupted

APPLICABLE = ("proposed", "no_new_feedback")


@reports_retries
async def optimise_metrics(
    wf: Workflow,
    metric_ids: list[int],
    *,
    apply: bool = False,
    on_questions: OnQuestions = "stop",
    max_wait_s: float = 1500,
    include_pending: bool = True,
    progress: ProgressFn | None = None,
    asker: Asker | None = None,
) -> BatchResult:
    """Run the routine over `metric_ids`; a failure on one metric never stops the others. With
    `include_pending`, a pending proposal from Cekura's schedule that is newer than our last run
    is reported (or, with apply, put through our guard) instead of starting a run. A run that
    pauses puts its questions to `asker` when there is someone to ask."""
    ids = check(MetricIds, metric_ids, "metric_ids")
    on_questions = check(OnQuestions, on_questions, "on_questions")
    max_wait_s = check(MaxWaitS, max_wait_s, "max_wait_s")
    include_pending = check(Flag, include_pending, "include_pending")
    if apply and wf.policy.read_only:
        raise WorkflowError(
            "apply=True is refused: the server is in read-only mode (CEKURA_OPTIMISE_READ_ONLY). "
            "Call again with apply=False for a report."
        )
    started = wf.clock.now()
    batch = BatchProgress(progress, ids, wf.clock)
    limiter = anyio.CapacityLimiter(max(1, wf.policy.concurrency))
    outcomes: dict[int, MetricOutcome] = {}

    async def one(metric_id: int) -> None:
        async with limiter:
            outcomes[metric_id] = await _one_metric(
                wf,
                metric_id,
                apply,
                on_questions,
                max_wait_s,
                batch.reporter(metric_id),
                include_pending,
                asker,
            )
            await batch.finished(metric_id, outcomes[metric_id].status)

    async with anyio.create_task_group() as tg:
        for metric_id in ids:
            tg.start_soon(one, metric_id)
    ordered = [outcomes[m] for m in ids]
    return batch_result(ordered, apply, round(wf.clock.now() - started, 3))


def batch_result(ordered: list[MetricOutcome], apply: bool, elapsed_s: float) -> BatchResult:
    """The batch's one result from its metrics' outcomes, in the order they were asked for."""
    counts = dict(Counter(o.status for o in ordered))
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    mode = "optimise and apply" if apply else "optimise (read-only)"
    return BatchResult(
        summary=f"{len(ordered)} metric(s), {mode}: {parts}.",
        apply=apply,
        counts=counts,
        metrics=ordered,
        next_steps=_next_steps(ordered, apply),
        elapsed_s=elapsed_s,
    )


async def _one_metric(
    wf: Workflow,
    metric_id: int,
    apply: bool,
    on_questions: OnQuestions,
    max_wait_s: float,
    progress: ProgressFn,
    include_pending: bool,
    asker: Asker | None,
) -> MetricOutcome:
    try:
        interrupted = await report_interrupted(wf, metric_id) if apply else None
        if interrupted is not None:
            return MetricOutcome(
                metric_id=metric_id,
                status=interrupted.status,
                summary=interrupted.summary,
                apply=interrupted.model_copy(update={"next_steps": []}),
            )
        taken = await pending_outcome(wf, metric_id, apply, progress) if include_pending else None
        if taken is not None:
            return taken
        optimised = await optimise_metric(
            wf,
            metric_id,
            on_questions=on_questions,
            max_wait_s=max_wait_s,
            progress=progress,
            asker=asker,
        )
        applied = None
        if apply and optimised.status in APPLICABLE and optimised.proposal_id:
            applied = await apply_if_not_regressed(
                wf, metric_id, proposal_id=optimised.proposal_id, progress=progress
            )
    except WorkflowError as exc:
        return MetricOutcome(
            metric_id=metric_id,
            status="failed",
            summary=f"Metric {metric_id}: {exc}",
            error=str(exc),
        )
    final = applied or optimised
    return MetricOutcome(
        metric_id=metric_id,
        status=final.status,
        summary=final.summary,
        optimise=optimised.model_copy(update={"next_steps": []}),
        apply=applied.model_copy(update={"next_steps": []}) if applied else None,
    )


def _next_steps(outcomes: list[MetricOutcome], applied: bool) -> list[str]:
    """One set of hints for the whole batch instead of one per metric."""

    def ids(*statuses: str) -> list[int]:
        return [o.metric_id for o in outcomes if o.status in statuses]

    steps = []
    for metric_id in ids("needs_answers"):
        steps.append(
            f"answer_optimiser_questions(metric_id={metric_id}, answers={{question_id: answer}})"
        )
    if not applied and ids("proposed"):
        steps.append(f"optimise_metrics(metric_ids={ids('proposed')}, apply=True)")
    if ids("timed_out", "needs_answers"):
        steps.append(
            f"optimise_metrics(metric_ids={ids('timed_out', 'needs_answers')}) again to resume"
        )
    if applied and ids("applied", "applied_unverified"):
        steps.append("revert_metric(metric_id=…) undoes any apply")
    for outcome in outcomes:
        needed = outcome.optimise.feedback_needed if outcome.optimise else 0
        if outcome.status == "not_ready" and needed:
            steps.append(
                f"label {needed} more call(s) of metric {outcome.metric_id} "
                f"(review_results, label_call) before optimising it"
            )
    return steps
