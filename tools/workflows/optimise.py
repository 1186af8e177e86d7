"""optimise_metric: start or resume one optimiser run, follow it, and return a proposal with evidence.

Never writes the metric. Single flight comes from the ledger: a run in flight is resumed, never
duplicated; a start whose outcome is unknown is never repeated blindly. Following the run to its
outcome is in `follow.py`.
"""

from __future__ import annotations

import anyio

from tools.asking import Asker
from tools.cekura.errors import (
    CekuraError,
    CekuraMalformedResponse,
    CekuraOutcomeUnknown,
    CekuraServerError,
)
from tools.cekura.models import Metric
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import MaxWaitS, MetricId, OnQuestions, TestSetIds, check
from tools.labs.readiness import LabCounts, lab_counts
from tools.ledger.models import RunRow
from tools.live_metric import read_metric
from tools.progress import ProgressFn, Reporter
from tools.proposals.fingerprint import labels_fingerprint, metric_fingerprint, rows_used
from tools.results import OptimiseResult
from tools.workflows.follow import follow_run
from tools.writes.hold import resolve_held_run, unknown_start_message


@reports_retries
async def optimise_metric(
    wf: Workflow,
    metric_id: int,
    *,
    test_set_ids: list[int] | None = None,
    force: bool = False,
    on_questions: OnQuestions = "stop",
    max_wait_s: float = 1500,
    progress: ProgressFn | None = None,
    asker: Asker | None = None,
) -> OptimiseResult:
    """Start (or resume) an optimisation of `metric_id` and wait for its proposal, up to
    `max_wait_s`; questions the run pauses on go to `asker` when there is someone to ask."""
    metric_id = check(MetricId, metric_id, "metric_id")
    test_set_ids = check(TestSetIds | None, test_set_ids, "test_set_ids")
    on_questions = check(OnQuestions, on_questions, "on_questions")
    max_wait_s = check(MaxWaitS, max_wait_s, "max_wait_s")
    report = Reporter(progress)
    started = wf.clock.now()
    metric = await read_metric(wf, metric_id)
    if test_set_ids is not None:
        known = {r.test_set.id for r in metric.reviews if r.test_set is not None}
        missing = [ts for ts in test_set_ids if ts not in known]
        if missing:
            raise WorkflowError(
                f"Metric {metric_id}'s Lab has no test sets {missing}; nothing was started."
            )
    run = await _run_to_follow(wf, metric, test_set_ids, force, report)
    if isinstance(run, OptimiseResult):
        return run
    return await follow_run(wf, run, metric, on_questions, max_wait_s, started, report, asker)


async def _run_to_follow(
    wf: Workflow, metric: Metric, test_set_ids: list[int] | None, force: bool, report: Reporter
) -> RunRow | OptimiseResult:
    """Single flight: the run in flight for the metric, or a new one started exactly once; or a
    result that ends the call (`no_new_feedback`, an unknown start)."""
    held = await wf.ledger.inflight_run(metric.id)
    run = await resolve_held_run(wf, held, force) if held is not None else None
    if run is not None:
        await report(f"metric {metric.id}: resuming run {run.progress_id}")
        return run
    labels_fp = labels_fingerprint(metric, test_set_ids)
    if not force:
        used = metric.model_copy(update={"reviews": rows_used(metric, test_set_ids)})
        counts = lab_counts(used, wf.policy.min_feedback, None)
        if counts.needed:
            return _not_ready(metric.id, counts)
        previous = await _result_on_same_labels(wf, metric.id, labels_fp)
        if previous is not None:
            return _no_new_feedback(metric.id, previous)
    claim = await wf.ledger.claim_run(
        metric.id,
        labels_fp,
        wf.owner,
        test_set_ids,
        metric_fingerprint(metric),
        now=wf.clock.now(),
    )
    if claim.won:
        finished = None if force else await _finished_meanwhile(wf, claim.run, labels_fp)
        if finished is not None:
            return finished
        return await start_run(wf, claim.run, metric, test_set_ids, report)
    run = await resolve_held_run(wf, claim.run, force)
    if run is None:
        raise WorkflowError(
            f"Another process is starting an optimisation of metric {metric.id}; "
            "call again in a minute to follow it."
        )
    return run


async def _result_on_same_labels(wf: Workflow, metric_id: int, labels_fp: str) -> RunRow | None:
    """The newest finished run with a result, if it saw the same labels and metric."""
    previous = await wf.ledger.last_finished_run(metric_id)
    if previous is not None and previous.fingerprint == labels_fp and previous.result:
        return previous
    return None


async def _finished_meanwhile(
    wf: Workflow, claimed: RunRow, labels_fp: str
) -> OptimiseResult | None:
    """A run on the same labels that finished between our look and our claim (another call's,
    whose slot we then took): give the slot back and answer with its result, so a race never
    starts a second run."""
    previous = await _result_on_same_labels(wf, claimed.metric_id, labels_fp)
    if previous is None or previous.id == claimed.id:
        return None
    await wf.ledger.close_run(
        claimed.id,
        "abandoned",
        now=wf.clock.now(),
        expect=("starting",),
        note=f"not started: run {previous.id} had just finished on the same labels",
    )
    return _no_new_feedback(claimed.metric_id, previous)


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
        await _start_unknown(wf, run, f"start sent, {answer}")
        return OptimiseResult(
            metric_id=metric.id,
            status="failed",
            summary=f"Metric {metric.id}: the start request got {answer}; not repeated.",
            warnings=[unknown_start_message(run, wf.policy.unknown_start_window_s)],
        )
    except CekuraError as exc:
        with anyio.CancelScope(shield=True):
            await wf.ledger.close_run(run.id, "failed", note=exc.message, now=wf.clock.now())
        raise WorkflowError(
            explain(exc, f"starting an optimisation of metric {metric.id}")
        ) from exc
    except BaseException:
        await _start_unknown(wf, run, "call stopped before the start's answer")
        raise
    with anyio.CancelScope(shield=True):  # the run exists now: never lose its progress id
        started = await wf.ledger.move_run(
            run.id,
            expect=("starting", "unknown"),
            status="running",
            progress_id=progress_id,
            now=wf.clock.now(),
        )
    if not started.won:
        return _released_while_starting(metric.id, progress_id, started.run)
    await report(f"metric {metric.id}: optimisation started ({progress_id})")
    return started.run


async def _start_unknown(wf: Workflow, run: RunRow, note: str) -> None:
    """The start's outcome is unknown: keep the slot held as `unknown` (unless another call has
    released it meanwhile, which stands)."""
    with anyio.CancelScope(shield=True):
        await wf.ledger.move_run(
            run.id, expect=("starting",), status="unknown", note=note, now=wf.clock.now()
        )


def _released_while_starting(metric_id: int, progress_id: str, run: RunRow) -> OptimiseResult:
    """Our start reached Cekura, but another call released the slot first (force, or the
    unknown-start window ran out): the run is not followed, and the caller is told which it is."""
    return OptimiseResult(
        metric_id=metric_id,
        status="failed",
        progress_id=progress_id,
        summary=(
            f"Metric {metric_id}: run {progress_id} started, but another call released this "
            f"metric's slot meanwhile (it is now {run.status}); run {progress_id} is not followed."
        ),
        warnings=[
            f"Cekura may now run two optimisations of metric {metric_id}. Cancel one in the "
            "Metric Lab if so."
        ],
        next_steps=[f"diff_proposal(metric_id={metric_id}, progress_id='{progress_id}')"],
    )


def metric_type(metric: Metric) -> str | None:
    """The metric_type to send: the metric's own, when it is one Cekura still accepts."""
    return metric.type if metric.type in ("llm_judge", "custom_code") else None


def _not_ready(metric_id: int, counts: LabCounts) -> OptimiseResult:
    """Too little human feedback to learn from: no run started, no credits spent."""
    return OptimiseResult(
        metric_id=metric_id,
        status="not_ready",
        feedback_needed=counts.needed,
        summary=(
            f"Metric {metric_id}: {counts.labelled} labelled Lab row(s), the optimiser needs "
            f"{counts.minimum}; label {counts.needed} more call(s) first. No run was started."
        ),
        next_steps=[
            f"review_results(metric_id={metric_id}) then label_call(metric_id={metric_id}, …)",
            f"optimise_metric(metric_id={metric_id}, force=True) to run anyway",
        ],
    )


def _no_new_feedback(metric_id: int, previous: RunRow) -> OptimiseResult:
    prior = OptimiseResult.model_validate(previous.result)
    return prior.model_copy(
        update={
            "status": "no_new_feedback",
            "summary": (
                f"Metric {metric_id}: labels and metric unchanged since run {previous.progress_id} "
                f"(which ended {previous.status}); no new run started."
            ),
            "polls": 0,
            "elapsed_s": 0.0,
            "next_steps": [
                *prior.next_steps,
                f"optimise_metric(metric_id={metric_id}, force=True) to run again anyway",
            ],
        }
    )
