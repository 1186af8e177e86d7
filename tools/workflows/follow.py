"""Following an optimiser run to its outcome: poll it, stop (or skip) on questions, and record how
it ended in the ledger exactly once: a stored proposal, `unchanged`, `failed` or `cancelled`.
The second half of optimise_metric."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.asking import Asker
from tools.cekura.errors import CekuraError, CekuraNotFound
from tools.cekura.models import Metric, OptimiserProgress, Question
from tools.context import Workflow
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import OnQuestions
from tools.ledger.models import ProposalRow, RunRow, new_proposal
from tools.live_metric import read_metric
from tools.polling.loop import PollOutcome, poll_until
from tools.progress import Reporter
from tools.proposals.evidence import Evidence, evidence_for
from tools.proposals.fingerprint import metric_fingerprint
from tools.proposals.mapping import proposal_patch
from tools.proposals.overfitting import CopySignal, copies_in_proposal
from tools.proposals.view import proposal_view
from tools.results import OptimiseResult, ProposalView
from tools.untrusted import bound, quote_untrusted

KEPT = " The run is kept; calling optimise_metric again resumes it."


async def follow_run(
    wf: Workflow,
    run: RunRow,
    metric: Metric,
    on_questions: OnQuestions,
    max_wait_s: float,
    started: float,
    report: Reporter,
    asker: Asker | None = None,
) -> OptimiseResult:
    """Poll the run until it settles, skipping questions if told to, or putting them to a person
    through `asker` when there is one."""
    deadline = started + max_wait_s
    follow = _Following(wf, run, metric, on_questions, deadline, started, report, asker)
    return await follow.to_the_end()


@dataclass
class _Following:
    """One call following one run: what it has seen so far."""

    wf: Workflow
    run: RunRow
    metric: Metric
    on_questions: OnQuestions
    deadline: float
    started: float
    report: Reporter
    asker: Asker | None = None
    polls: int = 0
    skipped: set[str] = field(default_factory=set)
    answered: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)

    @property
    def progress_id(self) -> str:
        assert self.run.progress_id is not None
        return self.run.progress_id

    async def to_the_end(self) -> OptimiseResult:
        while True:
            try:
                outcome = await self._poll()
            except CekuraNotFound:
                return await self._record(
                    self._result("failed", f"Cekura no longer knows run {self.progress_id}."),
                    note="progress id unknown to Cekura",
                    warnings=["Call optimise_metric again to start a fresh run."],
                )
            except CekuraError as exc:
                doing = f"following run {self.progress_id} of metric {self.metric.id}"
                raise WorkflowError(explain(exc, doing) + KEPT) from exc
            self.polls += outcome.polls
            state = outcome.value
            if outcome.timed_out:
                return self._timed_out()
            if state.state == "paused":
                fresh = [q for q in state.questions if q.id not in self.skipped | self.answered]
                if self.on_questions == "skip" and fresh:
                    await self._skip(fresh)
                    continue
                if fresh and await self._ask(fresh):
                    continue
                return await self._needs_answers(state.questions)
            if state.state != "running":
                return await self._finished(state)

    async def _poll(self) -> PollOutcome[OptimiserProgress]:
        def settled(state: OptimiserProgress) -> bool:
            """Done polling: the run ended, or paused on a question not skipped or answered yet (a
            run still paused on those is waited for on the schedule, not polled hot)."""
            if state.state == "paused" and (self.on_questions == "skip" or self.answered):
                return any(q.id not in self.skipped | self.answered for q in state.questions)
            return state.state != "running"

        def describe(state: OptimiserProgress) -> str:
            step = f": {bound(state.step, 80)}" if state.step else ""
            return f"metric {self.metric.id}: optimiser {state.raw_status or state.state}{step}"

        return await poll_until(
            lambda: self.wf.client.get_optimisation_progress(self.progress_id),
            settled,
            describe,
            clock=self.wf.clock,
            policy=self.wf.policy.poll,
            deadline=self.deadline,
            report=self.report,
            started_at=self.run.started_at,
        )

    async def _skip(self, fresh: list[Question]) -> None:
        """Skip the questions not skipped yet; the run then resumes on Cekura's side."""
        try:
            await self.wf.client.answer_questions(self.progress_id, {q.id: None for q in fresh})
        except CekuraError as exc:
            await self._mark_paused()
            doing = f"skipping the questions of run {self.progress_id}"
            raise WorkflowError(explain(exc, doing) + KEPT) from exc
        self.skipped.update(q.id for q in fresh)
        self.warnings.append(f"Skipped {len(fresh)} optimiser question(s): {sorted(self.skipped)}.")

    async def _ask(self, questions: list[Question]) -> bool:
        """Put the questions to a person; True once their answers were sent and the run goes on."""
        if self.asker is None:
            return False
        reply = await self.asker.ask(self.metric.id, self.progress_id, questions)
        if reply.answers is None:
            if reply.note:
                self.warnings.append(f"The optimiser's questions were put to you: {reply.note}.")
            return False
        try:
            await self.wf.client.answer_questions(self.progress_id, reply.answers)
        except CekuraError as exc:
            await self._mark_paused()
            doing = f"sending your answers to run {self.progress_id}"
            raise WorkflowError(explain(exc, doing) + KEPT) from exc
        await self.wf.ledger.move_run(
            self.run.id, expect=("paused", "running"), status="running", now=self.wf.clock.now()
        )
        self.answered.update(reply.answers)
        skipped = sorted(k for k, v in reply.answers.items() if v is None)
        answered = sorted(k for k, v in reply.answers.items() if v is not None)
        self.warnings.append(
            f"You answered optimiser question(s) {answered} and skipped {skipped} in the "
            "conversation."
        )
        await self.report(f"metric {self.metric.id}: answers sent, optimiser resuming")
        return True

    async def _mark_paused(self) -> RunRow:
        """Record that the run waits on questions, unless another call ended it meanwhile."""
        moved = await self.wf.ledger.move_run(
            self.run.id, expect=("running", "paused"), status="paused", now=self.wf.clock.now()
        )
        return moved.run

    def _timed_out(self) -> OptimiseResult:
        return self._result(
            "timed_out",
            f"run {self.progress_id} still going after {self.deadline - self.started:.0f}s; "
            "call optimise_metric again to keep following it.",
            next_steps=[f"optimise_metric(metric_id={self.metric.id})"],
        )

    async def _needs_answers(self, questions: list[Question]) -> OptimiseResult:
        run = await self._mark_paused()
        if not run.inflight:
            return self._ended_elsewhere(run)
        metric_id = self.metric.id
        return self._result(
            "needs_answers",
            f"the optimiser is paused on {len(questions)} question(s).",
            questions=[_shown(q) for q in questions[:20]],
            next_steps=[
                f"answer_optimiser_questions(metric_id={metric_id}, answers={{question_id: answer}})",
                f"optimise_metric(metric_id={metric_id}, on_questions='skip')",
            ],
        )

    def _ended_elsewhere(self, run: RunRow) -> OptimiseResult:
        """Another call closed the run while this one followed it: its outcome, not ours."""
        if run.result is not None:
            return OptimiseResult.model_validate(run.result).model_copy(
                update={"polls": self.polls, "elapsed_s": self._elapsed()}
            )
        return self._result(
            "failed" if run.status != "cancelled" else "cancelled",
            f"run {self.progress_id} was closed by another call ({run.status}).",
            next_steps=[f"optimise_metric(metric_id={self.metric.id})"],
        )

    async def _finished(self, state: OptimiserProgress) -> OptimiseResult:
        """Turn a finished run into a stored proposal, `unchanged`, `failed` or `cancelled`."""
        if state.state == "cancelled":
            return await self._record(
                self._result("cancelled", f"run {self.progress_id} was cancelled.")
            )
        if state.state == "succeeded" and state.output is None:
            return await self._record(
                self._result("unchanged", "the optimiser proposed no changes.")
            )
        if state.state == "failed" or state.output is None:
            said = state.error or "no reason given"
            return await self._record(
                self._result("failed", "the optimiser failed."),
                note=bound(said, 500),
                warnings=[f"Cekura's optimiser said: {quote_untrusted(said, 500)}"],
            )
        return await self._proposed(state)

    async def _proposed(self, state: OptimiserProgress) -> OptimiseResult:
        """A run with output: map it onto a PATCH against the metric as it is now, and store it."""
        assert state.output is not None
        metric = await read_metric(self.wf, self.metric.id)
        patch, mapping_warnings = proposal_patch(state.output, metric)
        self.warnings.extend(mapping_warnings)
        start_fp = self.run.metric_fingerprint or metric_fingerprint(metric)
        if start_fp != metric_fingerprint(metric):
            self.warnings.append(
                "The metric was edited while the optimiser ran; applying this proposal will be "
                "refused as stale. Run optimise_metric again to optimise the edited metric."
            )
        evidence = evidence_for(metric, state.output)
        view = proposal_view(metric, state.output, patch, evidence, progress_id=self.progress_id)
        copies = copies_in_proposal(metric, state.output)
        if copies.copied:
            self.warnings.append(copies.warning() or "")
            view.copied_passages = _as_data(copies)
        if not patch:
            unchanged = self._result("unchanged", "the optimiser proposed no changes.", view=view)
            return await self._record(unchanged)
        proposal = new_proposal(
            metric.id,
            progress_id=self.progress_id,
            metric_fingerprint=start_fp,
            body={
                "patch": patch,
                "view": view.model_dump(mode="json"),
                "evidence": evidence.model_dump(mode="json"),
                "unauthorized_label_changes": state.output.unauthorized_label_changes,
                "copies_warning": copies.warning(),
            },
            now=self.wf.clock.now(),
        )
        view.proposal_id = proposal.id
        result = self._result(
            "proposed",
            _proposed_summary(proposal.id, patch, evidence),
            view=view,
            next_steps=[
                f"diff_proposal(metric_id={metric.id}, proposal_id='{proposal.id}')",
                f"apply_if_not_regressed(metric_id={metric.id}, proposal_id='{proposal.id}')",
            ],
        )
        return await self._record(result, proposal=proposal)

    async def _record(
        self,
        result: OptimiseResult,
        *,
        proposal: ProposalRow | None = None,
        note: str | None = None,
        warnings: list[str] | None = None,
    ) -> OptimiseResult:
        """Close the run with this outcome once; if another call closed it first, theirs stands."""
        result.warnings = [*self.warnings, *(warnings or [])]
        closed = await self.wf.ledger.close_run(
            self.run.id,
            result.status,
            result=result.model_dump(mode="json"),
            proposal=proposal,
            note=note,
            now=self.wf.clock.now(),
        )
        if closed.won:
            return result
        return self._ended_elsewhere(closed.run)

    def _elapsed(self) -> float:
        return round(self.wf.clock.now() - self.started, 3)

    def _result(
        self,
        status: str,
        summary: str,
        *,
        next_steps: list[str] | None = None,
        questions: list[Question] | None = None,
        view: ProposalView | None = None,
    ) -> OptimiseResult:
        fields: dict[str, Any] = {"progress_id": self.progress_id}
        if view is not None:
            fields.update(view.model_dump())
        return OptimiseResult(
            metric_id=self.metric.id,
            status=status,  # type: ignore[arg-type]
            summary=f"Metric {self.metric.id}: {summary}",
            warnings=list(self.warnings),
            next_steps=next_steps or [],
            questions=questions or [],
            polls=self.polls,
            elapsed_s=self._elapsed(),
            **fields,
        )


def _as_data(copies: CopySignal) -> CopySignal:
    """The copied spans as the model reads them: outside text, marked as data."""
    spans = [s.model_copy(update={"text": quote_untrusted(s.text, 200)}) for s in copies.spans]
    return copies.model_copy(update={"spans": spans})


def _shown(question: Question) -> Question:
    """A question as the model reads it: outside text bounded and marked as data."""
    return question.model_copy(
        update={
            "question": quote_untrusted(question.question, 1000),
            "context": quote_untrusted(question.context, 1000) if question.context else None,
            "options": [bound(o, 300) for o in question.options[:20]],
        }
    )


def _proposed_summary(proposal_id: str, patch: dict[str, Any], evidence: Evidence) -> str:
    base, opt = evidence.baseline, evidence.optimised
    scores = (
        f" optimiser's sample {base.correct}/{base.total} → {opt.correct}/{opt.total}"
        if base and opt
        else ""
    )
    broken = f", breaks {len(evidence.flips.broken)}" if evidence.flips.broken else ""
    fixed = len(evidence.flips.fixed)
    return f"proposal {proposal_id} changes {', '.join(patch)};{scores} (fixes {fixed}{broken})."
