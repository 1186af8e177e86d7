"""Cekura's pending proposal (left on a metric by its in-product optimiser schedule) taken through
our guard: checked against the metric as it was when the proposal was made, scored on the Lab
without saving, stored in the ledger under an id of its own, and cleared once it is live."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from tools.cekura.errors import CekuraError
from tools.cekura.metrics import RUN_REVIEWS_OVERRIDES
from tools.cekura.models import HistoryEntry, Metric, OptimiserOutput, PendingProposal, ReviewResult
from tools.context import Workflow
from tools.errors import WorkflowError
from tools.explain import explain
from tools.ledger.models import ProposalRow
from tools.live_metric import read_metric
from tools.progress import Reporter
from tools.proposals.evidence import Evidence, evidence_for
from tools.proposals.fingerprint import metric_fingerprint
from tools.proposals.mapping import patch_matches, proposal_patch, trigger_kind_of_text
from tools.proposals.view import proposal_view
from tools.results import ApplyResult
from tools.writes.rescore import rescore

PENDING_PREFIX = "pending_"
# Once one of these is the outcome the proposal is live, so Cekura's copy is cleared.
CLEARED_ON = ("applied", "applied_unverified", "already_applied")
# The optimisable fields a history row keeps (it has no `*_program` fields).
HISTORY_FIELDS = (
    "description",
    "type",
    "evaluation_trigger",
    "trigger_type",
    "evaluation_trigger_prompt",
    "evaluation_trigger_custom_code",
    "custom_code",
)
_HISTORY_PAGE = 50
LEFT_IN_PLACE = "Cekura's pending proposal was left in place."


def pending_output(pending: PendingProposal) -> OptimiserOutput:
    """The pending proposal read as an optimiser result, so it maps and diffs like ours."""
    trigger = pending.evaluation_trigger or ""
    return OptimiserOutput(
        improved_metric_description=pending.description or "",
        improved_evaluation_trigger=trigger,
        improved_trigger_kind=trigger_kind_of_text(trigger),
        custom_code=pending.custom_code or "",
        type=pending.type,
    )


def pending_proposal_id(metric_id: int, pending: PendingProposal) -> str:
    """The same id for the same pending proposal, however often it is read."""
    what = [metric_id, pending.proposed_at, pending.description, pending.evaluation_trigger]
    what += [pending.type, pending.custom_code, pending.cron_job_id]
    digest = hashlib.sha256(json.dumps(what, default=str).encode()).hexdigest()
    return f"{PENDING_PREFIX}{digest[:12]}"


def proposed_at(pending: PendingProposal) -> datetime | None:
    """When Cekura's schedule made the proposal, or None when it does not say (readably)."""
    return _when(pending.proposed_at)


async def take_in_pending(
    wf: Workflow,
    metric_id: int,
    report: Reporter,
    *,
    auto: bool,
    earlier: ProposalRow | None = None,
) -> ProposalRow | ApplyResult:
    """The metric's pending proposal as a stored proposal the guard can judge, or the result that
    says why it cannot be (made before a later edit, or not scorable). When the metric has none,
    `earlier` (the last one taken in) is judged again only if it is live. `auto`: the caller
    looked for a proposal of ours first (the error then names both)."""
    live = await read_metric(wf, metric_id, before_write=True)
    pending = live.pending_optimisation_proposal
    if pending is None and earlier is not None:
        return _unless_gone(earlier, live)
    if pending is None:
        what = "No proposal of ours and no" if auto else "No"
        raise WorkflowError(
            f"{what} pending proposal from Cekura's optimiser schedule for metric {metric_id}. "
            f"Run optimise_metric(metric_id={metric_id}) to make one."
        )
    pid = pending_proposal_id(metric_id, pending)
    stored = await wf.ledger.proposal(pid)
    if stored is not None:
        return stored
    base = {"metric_id": metric_id, "proposal_id": pid}
    problem, stale = await _edited_after(wf, live, pending)
    if problem:
        return ApplyResult(
            **base,
            status="not_applied_stale" if stale else "not_applied_unsafe",
            reasons=[problem],
            warnings=[LEFT_IN_PLACE],
            summary=f"Metric {metric_id}: not applied, {problem}.",
            next_steps=[f"optimise_metric(metric_id={metric_id}) to optimise the metric as it is"],
        )
    patch, warnings = proposal_patch(pending_output(pending), live)
    if not patch:
        done = ApplyResult(
            **base,
            status="already_applied",
            summary=f"Metric {metric_id}: already holds every value of Cekura's pending proposal.",
        )
        return await _clear(wf, metric_id, pid, done)
    scored = await _score(wf, live, patch, report)
    if isinstance(scored, str):
        return ApplyResult(
            **base,
            status="not_applied_unsafe",
            reasons=[scored],
            warnings=[LEFT_IN_PLACE],
            summary=f"Metric {metric_id}: not applied, {scored}.",
        )
    view = proposal_view(live, None, patch, scored, proposal_id=pid)
    body = {
        "source": "pending",
        "patch": patch,
        "view": view.model_dump(mode="json"),
        "evidence": scored.model_dump(mode="json"),
        "pending": pending.model_dump(mode="json"),
        "mapping_warnings": warnings,
    }
    row = ProposalRow(
        id=pid,
        metric_id=metric_id,
        run_id=None,
        progress_id=None,
        created_at=wf.clock.now(),
        metric_fingerprint=metric_fingerprint(live),
        body=body,
    )
    return await wf.ledger.add_proposal(row)


async def still_pending(wf: Workflow, proposal: ProposalRow) -> ProposalRow | ApplyResult:
    """A stored pending proposal named for the guard: itself while Cekura still holds it (or it is
    live), else the result that says it was dismissed or replaced there and nothing is written."""
    live = await read_metric(wf, proposal.metric_id, before_write=True)
    pending = live.pending_optimisation_proposal
    if pending is not None and pending_proposal_id(proposal.metric_id, pending) == proposal.id:
        return proposal
    return _unless_gone(proposal, live)


def _unless_gone(proposal: ProposalRow, live: Metric) -> ProposalRow | ApplyResult:
    """A pending proposal Cekura no longer holds goes to the guard only to be reported live; one
    a person dismissed (or a newer one replaced) is never written."""
    if patch_matches(live, proposal.body.get("patch") or {}):
        return proposal
    metric_id = proposal.metric_id
    return ApplyResult(
        metric_id=metric_id,
        proposal_id=proposal.id,
        status="not_applied_stale",
        reasons=[
            "Cekura no longer holds this pending proposal (dismissed or replaced there, or cleared "
            "when it was applied before) and the metric does not hold its values"
        ],
        summary=(
            f"Metric {metric_id}: not applied, proposal {proposal.id} is no longer pending in "
            "Cekura: dismissed or replaced; nothing written."
        ),
        next_steps=[f"optimise_metric(metric_id={metric_id}) to make a new proposal"],
    )


async def _score(
    wf: Workflow, live: Metric, patch: dict[str, object], report: Reporter
) -> Evidence | str:
    """Evidence for the candidate from one `run_reviews` with its fields as overrides and
    `skip_save`; or the reason it cannot be scored (then nothing may be written)."""
    if not any(r.expected_value is not None for r in live.reviews):
        return "the Lab has no labelled rows, so nothing shows the pending proposal is better"
    if len(live.reviews) > wf.policy.eval_budget:
        return (
            f"scoring it evaluates all {len(live.reviews)} Lab rows, above the evaluation budget "
            f"of {wf.policy.eval_budget}"
        )
    unscorable = sorted(set(patch) - RUN_REVIEWS_OVERRIDES)
    if unscorable:
        return f"Cekura cannot score {', '.join(unscorable)} without saving them"
    await report(f"metric {live.id}: scoring Cekura's pending proposal on the Lab, saving nothing")
    outcome = await rescore(wf, live.id, report, overrides=dict(patch))
    results = outcome.results or [
        ReviewResult(review_id=r.id, actual_value=r.actual_value, explanation=r.explanation)
        for r in (outcome.after.reviews if outcome.after is not None else [])
    ]
    if not results:
        why = " ".join(outcome.warnings) or "the re-score returned no per-review results"
        return f"it could not be scored on the Lab without saving ({why})"
    return evidence_for(live, OptimiserOutput(review_results=results))


async def _edited_after(
    wf: Workflow, live: Metric, pending: PendingProposal
) -> tuple[str | None, bool]:
    """Compare-and-swap against the metric as it was when the proposal was made (the newest
    history row from before `proposed_at`): (why not, whether that is staleness)."""
    made = proposed_at(pending)
    if made is None:
        return (
            "the pending proposal does not say when it was made, so edits since are unknown",
            False,
        )
    rows = await _history(wf, live.id)
    before = [r for r in rows if (_when(r.history_date) or made) <= made]
    if not before:
        return "the metric's history does not reach back to when the proposal was made", False
    then = max(before, key=lambda r: (_when(r.history_date) or made, r.history_id))
    changed = [f for f in HISTORY_FIELDS if _same(getattr(then, f)) != _same(getattr(live, f))]
    if not changed:
        return None, False
    later = [r.history_date for r in rows if (_when(r.history_date) or made) > made]
    when = f" on {max(later)}" if later else ""
    return (
        f"the metric's {', '.join(changed)} changed{when}, after Cekura's schedule made this "
        f"proposal ({pending.proposed_at}); applying it would overwrite that edit",
        True,
    )


async def _history(wf: Workflow, metric_id: int) -> list[HistoryEntry]:
    """The newest history rows (whichever order Cekura pages them in)."""
    try:
        first = await wf.client.metric_history(metric_id, page=1, page_size=_HISTORY_PAGE)
        rows = list(first.results)
        ids = [r.history_id for r in rows]
        if first.next is not None and ids == sorted(ids) and first.count > len(ids):
            last = -(-first.count // _HISTORY_PAGE)
            rows += (
                await wf.client.metric_history(metric_id, page=last, page_size=_HISTORY_PAGE)
            ).results
    except CekuraError as exc:
        raise WorkflowError(
            explain(exc, "reading the metric's history") + " Nothing was written."
        ) from exc
    return rows


def _same(value: object) -> object:
    return value or None


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


async def after_apply(wf: Workflow, proposal: ProposalRow, result: ApplyResult) -> ApplyResult:
    """Once a pending proposal is live, clear Cekura's copy (only if it is still that one); when
    refused, say it was left in place and whether Cekura's own guard would have applied it."""
    result.warnings[:0] = proposal.body.get("mapping_warnings") or []
    if result.status in CLEARED_ON:
        return await _clear(wf, proposal.metric_id, proposal.id, result)
    pending = PendingProposal.model_validate(proposal.body.get("pending") or {})
    result.warnings.append(LEFT_IN_PLACE)
    score, baseline = pending.score, pending.baseline_score
    if score is not None and baseline is not None and score >= baseline:
        result.warnings.append(
            f"Cekura's own guard (score {score} ≥ baseline {baseline}, nothing more) would have "
            "applied it."
        )
    return result


async def _clear(wf: Workflow, metric_id: int, pid: str, result: ApplyResult) -> ApplyResult:
    try:
        metric = await wf.client.get_metric(metric_id)
        pending = metric.pending_optimisation_proposal
        if pending is None or pending_proposal_id(metric_id, pending) != pid:
            return result
        await wf.client.dismiss_pending_proposal(metric_id)
    except CekuraError as exc:
        result.warnings.append(
            explain(exc, "clearing Cekura's pending proposal")
            + " The proposal is live; dismiss the pending copy in Cekura so nobody applies it again."
        )
        return result
    result.summary += " Cekura's pending proposal was cleared."
    return result


async def pending_to_take(wf: Workflow, metric_id: int) -> Metric | None:
    """The metric (with its pending proposal) when the routine should take Cekura's proposal
    instead of starting a run: newer than our last run, no run of ours in flight, and not yet
    judged by us (a proposal judged once is not judged again; the next run optimises afresh)."""
    if await wf.ledger.inflight_run(metric_id) is not None:
        return None
    metric = await read_metric(wf, metric_id)
    pending = metric.pending_optimisation_proposal
    if pending is None or await wf.ledger.proposal(pending_proposal_id(metric_id, pending)):
        return None
    last = await wf.ledger.last_finished_run(metric_id)
    made = proposed_at(pending)
    if last is not None and (made is None or made.timestamp() <= last.started_at):
        return None
    return metric


def is_pending(proposal: ProposalRow) -> bool:
    """Whether a stored proposal came from Cekura's schedule (not from our runs)."""
    return proposal.body.get("source") == "pending"
