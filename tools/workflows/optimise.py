"""optimise_metric: start or resume one optimiser run, follow it, and return a proposal with evidence.

Never writes the metric. Single flight comes from the ledger: a run in flight is resumed, never
duplicated; a start whose outcome is unknown is never repeated blindly.
"""

from __future__ import annotations

from typing import Any

from tools.cekura.errors import (
    CekuraError,
    CekuraNotFound,
)
from tools.cekura.models import Metric, OptimiserProgress, Question
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import MaxWaitS, MetricId, OnQuestions, TestSetIds, check
from tools.ledger.sqlite import ProposalRow, RunRow
from tools.live_metric import read_metric
from tools.polling.loop import poll_until
from tools.progress import ProgressFn, Reporter
from tools.proposals.evidence import evidence_for
from tools.proposals.fingerprint import labels_fingerprint, metric_fingerprint
from tools.proposals.mapping import proposal_patch
from tools.proposals.view import proposal_view
from tools.results import OptimiseResult
from tools.single_flight import resolve_held_run, start_run
from tools.untrusted import bound, quote_untrusted


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
) -> OptimiseResult:
    """Start (or resume) an optimisation of `metric_id` and wait for its proposal, up to `max_wait_s`."""
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

    run = wf.ledger.inflight_run(metric_id)
    if run is not None:
        run = await resolve_held_run(wf, run, force)
    if run is None:
        labels_fp = labels_fingerprint(metric, test_set_ids)
        if not force:
            previous = wf.ledger.last_finished_run(metric_id)
            if previous is not None and previous.fingerprint == labels_fp and previous.result:
                return _no_new_feedback(metric_id, previous)
        claim = wf.ledger.claim_run(
            metric_id,
            labels_fp,
            wf.owner,
            test_set_ids,
            metric_fingerprint(metric),
            now=wf.clock.now(),
        )
        run = claim.run
        if claim.won:
            outcome = await start_run(wf, run, metric, test_set_ids, report)
            if isinstance(outcome, OptimiseResult):
                return outcome
            run = outcome
        else:
            run = await resolve_held_run(wf, run, force)
            if run is None:
                raise WorkflowError(
                    f"Another process is starting an optimisation of metric {metric_id}; "
                    "call again in a minute to follow it."
                )
    else:
        await report(f"metric {metric_id}: resuming run {run.progress_id}")
    return await _follow(wf, run, metric, on_questions, max_wait_s, started, report)


def _describe(metric_id: int, state: OptimiserProgress) -> str:
    step = f": {bound(state.step, 80)}" if state.step else ""
    return f"metric {metric_id}: optimiser {state.raw_status or state.state}{step}"


async def _follow(
    wf: Workflow,
    run: RunRow,
    metric: Metric,
    on_questions: OnQuestions,
    max_wait_s: float,
    started: float,
    report: Reporter,
) -> OptimiseResult:
    """Poll the run until it settles, answering (skipping) questions if asked to."""
    assert run.progress_id is not None
    progress_id = run.progress_id
    deadline = started + max_wait_s
    polls = 0
    skipped: set[str] = set()
    warnings: list[str] = []

    async def fetch() -> OptimiserProgress:
        return await wf.client.get_optimisation_progress(progress_id)

    def settled(state: OptimiserProgress) -> bool:
        """Done polling: the run ended, or paused on a question we have not skipped yet (a run
        still paused on skipped questions is waited for on the schedule, not polled hot)."""
        if state.state == "paused" and on_questions == "skip":
            return any(q.id not in skipped for q in state.questions)
        return state.state != "running"

    while True:
        try:
            outcome = await poll_until(
                fetch,
                settled,
                lambda s: _describe(metric.id, s),
                clock=wf.clock,
                policy=wf.policy.poll,
                deadline=deadline,
                report=report,
                started_at=run.started_at,
            )
        except CekuraNotFound:
            wf.ledger.finish_run(run.id, "failed", note="progress id unknown to Cekura")
            return _result(
                wf,
                run,
                metric,
                "failed",
                polls,
                started,
                summary=f"Metric {metric.id}: Cekura no longer knows run {progress_id}.",
                warnings=["Call optimise_metric again to start a fresh run."],
            )
        except CekuraError as exc:
            raise WorkflowError(
                explain(exc, f"following run {progress_id} of metric {metric.id}")
                + " The run is kept; calling optimise_metric again resumes it."
            ) from exc
        polls += outcome.polls
        state = outcome.value
        if outcome.timed_out:
            return _result(
                wf,
                run,
                metric,
                "timed_out",
                polls,
                started,
                summary=(
                    f"Metric {metric.id}: run {progress_id} still going after {max_wait_s:.0f}s; "
                    "call optimise_metric again to keep following it."
                ),
                next_steps=[f"optimise_metric(metric_id={metric.id})"],
            )
        if state.state == "paused":
            fresh = [q for q in state.questions if q.id not in skipped]
            if on_questions == "skip" and fresh:
                try:
                    await wf.client.answer_questions(progress_id, {q.id: None for q in fresh})
                except CekuraError as exc:
                    wf.ledger.update_run(run.id, status="paused", now=wf.clock.now())
                    raise WorkflowError(
                        explain(exc, f"skipping the questions of run {progress_id}")
                        + " The run is kept; calling optimise_metric again resumes it."
                    ) from exc
                skipped.update(q.id for q in fresh)
                warnings.append(f"Skipped {len(fresh)} optimiser question(s): {sorted(skipped)}.")
                continue
            wf.ledger.update_run(run.id, status="paused", now=wf.clock.now())
            return _needs_answers(wf, run, metric, state.questions, polls, started)
        if state.state == "running":
            continue
        return await _settled(wf, run, metric, state, polls, started, warnings)


def _needs_answers(
    wf: Workflow, run: RunRow, metric: Metric, questions: list[Question], polls: int, started: float
) -> OptimiseResult:
    shown = [
        q.model_copy(
            update={
                "question": quote_untrusted(q.question, 1000),
                "context": quote_untrusted(q.context, 1000) if q.context else None,
                "options": [bound(o, 300) for o in q.options[:20]],
            }
        )
        for q in questions[:20]
    ]
    return _result(
        wf,
        run,
        metric,
        "needs_answers",
        polls,
        started,
        summary=f"Metric {metric.id}: the optimiser is paused on {len(questions)} question(s).",
        questions=shown,
        next_steps=[
            f"answer_optimiser_questions(metric_id={metric.id}, answers={{question_id: answer}})",
            f"optimise_metric(metric_id={metric.id}, on_questions='skip')",
        ],
    )


async def _settled(
    wf: Workflow,
    run: RunRow,
    metric: Metric,
    state: OptimiserProgress,
    polls: int,
    started: float,
    warnings: list[str],
) -> OptimiseResult:
    """Turn a finished run into a stored proposal, `unchanged`, `failed` or `cancelled`."""
    if state.state == "cancelled":
        summary = f"Metric {metric.id}: run {run.progress_id} was cancelled."
        result = _result(wf, run, metric, "cancelled", polls, started, summary=summary)
        return _settle(wf, run, result)
    if state.state == "succeeded" and state.output is None:
        summary = f"Metric {metric.id}: the optimiser proposed no changes."
        return _settle(
            wf, run, _result(wf, run, metric, "unchanged", polls, started, summary=summary)
        )
    if state.state == "failed" or state.output is None:
        reason = bound(state.error or "no reason given", 500)
        said = quote_untrusted(state.error or "no reason given", 500)
        result = _result(
            wf,
            run,
            metric,
            "failed",
            polls,
            started,
            summary=f"Metric {metric.id}: the optimiser failed.",
            warnings=[f"Cekura's optimiser said: {said}"],
        )
        return _settle(wf, run, result, note=reason)
    metric = await read_metric(wf, metric.id)
    output = state.output
    patch, mapping_warnings = proposal_patch(output, metric)
    warnings = warnings + mapping_warnings
    start_fp = run.metric_fingerprint or metric_fingerprint(metric)
    if start_fp != metric_fingerprint(metric):
        warnings.append(
            "The metric was edited while the optimiser ran; applying this proposal will be refused "
            "as stale. Run optimise_metric again to optimise the edited metric."
        )
    evidence = evidence_for(metric, output)
    view = proposal_view(metric, output, patch, evidence, progress_id=run.progress_id)
    if not patch:
        result = _result(
            wf,
            run,
            metric,
            "unchanged",
            polls,
            started,
            summary=f"Metric {metric.id}: the optimiser proposed no changes.",
            warnings=warnings,
            view=view.model_dump(),
        )
        return _settle(wf, run, result)
    proposal = wf.ledger.new_proposal(
        metric.id,
        progress_id=run.progress_id,
        metric_fingerprint=start_fp,
        body={
            "patch": patch,
            "view": view.model_dump(mode="json"),
            "evidence": evidence.model_dump(mode="json"),
            "unauthorized_label_changes": output.unauthorized_label_changes,
        },
        now=wf.clock.now(),
    )
    view.proposal_id = proposal.id
    base, opt = evidence.baseline, evidence.optimised
    scores = f" {base.correct}/{base.total} → {opt.correct}/{opt.total}" if base and opt else ""
    broken = f", breaks {len(evidence.flips.broken)}" if evidence.flips.broken else ""
    result = _result(
        wf,
        run,
        metric,
        "proposed",
        polls,
        started,
        summary=(
            f"Metric {metric.id}: proposal {proposal.id} changes {', '.join(patch)};{scores}"
            f" (fixes {len(evidence.flips.fixed)}{broken})."
        ),
        warnings=warnings,
        view=view.model_dump(),
        next_steps=[
            f"diff_proposal(metric_id={metric.id}, proposal_id='{proposal.id}')",
            f"apply_if_not_regressed(metric_id={metric.id}, proposal_id='{proposal.id}')",
        ],
    )
    return _settle(wf, run, result, proposal=proposal)


def _settle(
    wf: Workflow,
    run: RunRow,
    result: OptimiseResult,
    *,
    proposal: ProposalRow | None = None,
    note: str | None = None,
) -> OptimiseResult:
    """Record the outcome once; if a concurrent caller settled the run first, return theirs."""
    won, stored = wf.ledger.settle_run(
        run.id,
        result.status,
        result=result.model_dump(mode="json"),
        proposal=proposal,
        note=note,
        now=wf.clock.now(),
    )
    if won or stored.result is None:
        return result
    return OptimiseResult.model_validate(stored.result).model_copy(
        update={"polls": result.polls, "elapsed_s": result.elapsed_s}
    )


def _result(
    wf: Workflow,
    run: RunRow,
    metric: Metric,
    status: str,
    polls: int,
    started: float,
    *,
    summary: str,
    warnings: list[str] | None = None,
    next_steps: list[str] | None = None,
    questions: list[Question] | None = None,
    view: dict[str, Any] | None = None,
) -> OptimiseResult:
    fields: dict[str, Any] = {"progress_id": run.progress_id, **(view or {})}
    return OptimiseResult(
        metric_id=metric.id,
        status=status,  # type: ignore[arg-type]
        summary=summary,
        warnings=warnings or [],
        next_steps=next_steps or [],
        questions=questions or [],
        polls=polls,
        elapsed_s=round(wf.clock.now() - started, 3),
        **fields,
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
