"""answer_optimiser_questions: answer or skip what a paused optimiser run asked, and resume it."""

from __future__ import annotations

from tools.cekura.errors import (
    CekuraBadRequest,
    CekuraError,
    CekuraMalformedResponse,
    CekuraOutcomeUnknown,
    CekuraServerError,
)
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import Answers, MetricId, check
from tools.ledger.models import RunRow
from tools.results import AnswerResult


@reports_retries
async def answer_optimiser_questions(
    wf: Workflow, metric_id: int, answers: dict[str, str | None]
) -> AnswerResult:
    """Send the answers for the metric's paused run; `None` (or empty text) skips a question."""
    metric_id = check(MetricId, metric_id, "metric_id")
    answers = check(Answers, answers, "answers")
    run = await wf.ledger.inflight_run(metric_id)
    if run is None or not run.progress_id:
        raise WorkflowError(
            f"No optimisation of metric {metric_id} is waiting for answers. Run "
            f"optimise_metric(metric_id={metric_id}) first."
        )
    try:
        await wf.client.answer_questions(run.progress_id, answers)
    except CekuraBadRequest as exc:
        raise WorkflowError(
            explain(exc, f"answering the questions of run {run.progress_id}")
            + " Check the question ids in the needs_answers result."
        ) from exc
    except CekuraError as exc:
        unsure = isinstance(exc, CekuraOutcomeUnknown | CekuraServerError | CekuraMalformedResponse)
        fate = "may or may not have been recorded" if unsure else "were not recorded"
        return AnswerResult(
            metric_id=metric_id,
            status="failed",
            progress_id=run.progress_id,
            summary=f"Metric {metric_id}: the answers {fate}.",
            warnings=[explain(exc, "sending the answers")],
            next_steps=[
                f"optimise_metric(metric_id={metric_id}) shows whether the run still waits, and "
                "on which questions"
            ],
        )
    resumed = await wf.ledger.move_run(
        run.id, expect=("paused", "running"), status="running", now=wf.clock.now()
    )
    warnings = [] if resumed.won else [_closed_meanwhile(metric_id, resumed.run)]
    answered = sorted(k for k, v in answers.items() if v is not None)
    skipped = sorted(k for k, v in answers.items() if v is None)
    return AnswerResult(
        metric_id=metric_id,
        status="resumed",
        progress_id=run.progress_id,
        answered=answered,
        skipped=skipped,
        warnings=warnings,
        summary=(
            f"Metric {metric_id}: {len(answered)} answered, {len(skipped)} skipped, recorded by "
            f"run {run.progress_id}; it resumes once no question is left open."
        ),
        next_steps=[f"optimise_metric(metric_id={metric_id})"],
    )


def _closed_meanwhile(metric_id: int, run: RunRow) -> str:
    """The answers reached Cekura, but another call ended the ledger's run meanwhile."""
    return (
        f"Another call recorded run {run.progress_id} as {run.status} while the answers were "
        f"sent; optimise_metric(metric_id={metric_id}) shows where it stands."
    )
