"""apply_if_not_regressed: the guarded write. Compare-and-swap, regression guard, snapshot, PATCH,
re-score, and an automatic restore when the re-score falls below the baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from tools.cekura.errors import CekuraError
from tools.cekura.models import Metric
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import (
    MaxBroken,
    MaxHoldoutCalls,
    MetricId,
    ProposalId,
    ProposalSource,
    check,
)
from tools.labs.holdout import check_proposal, describe, evidence_of, held_out_calls
from tools.ledger.models import ApplyRow, ProposalRow
from tools.live_metric import read_metric
from tools.progress import ProgressFn, Reporter
from tools.proposals.evidence import Evidence, lab_score
from tools.proposals.fingerprint import metric_fingerprint
from tools.proposals.mapping import patch_matches
from tools.results import ApplyResult, HeldOutEvidence
from tools.workflows.pending import after_apply, is_pending, still_pending, take_in_pending
from tools.writes.guard import guard_reasons
from tools.writes.hold import WriteHold, call_owner
from tools.writes.readback import patch_failed
from tools.writes.rescore import RescoreOutcome, rescore
from tools.writes.restore import restore_after_regression
from tools.writes.settle import await_other_apply, live_result, report_interrupted


@dataclass(frozen=True)
class ApplyOptions:
    """How strict the guarded write is, as the caller asked."""

    verify: bool
    max_broken: int
    max_holdout_calls: int


async def find_proposal(wf: Workflow, metric_id: int, proposal_id: str | None) -> ProposalRow:
    """The named proposal, or the metric's newest; a clear error when there is none."""
    if proposal_id is not None:
        proposal = await wf.ledger.proposal(proposal_id)
        if proposal is None:
            raise WorkflowError(
                f"No proposal {proposal_id!r} in the ledger. Run optimise_metric(metric_id="
                f"{metric_id}) to make one."
            )
        if proposal.metric_id != metric_id:
            raise WorkflowError(
                f"Proposal {proposal_id} belongs to metric {proposal.metric_id}, not {metric_id}."
            )
        return proposal
    proposal = await wf.ledger.latest_proposal(metric_id)
    if proposal is None:
        raise WorkflowError(
            f"No proposal for metric {metric_id} yet. Run optimise_metric(metric_id={metric_id})."
        )
    return proposal


@reports_retries
async def apply_if_not_regressed(
    wf: Workflow,
    metric_id: int,
    *,
    proposal_id: str | None = None,
    source: str | None = None,
    verify: bool = True,
    max_broken: int = 0,
    max_holdout_calls: int = 10,
    progress: ProgressFn | None = None,
) -> ApplyResult:
    """Write the proposal only if it is safe (on the Lab and on up to `max_holdout_calls` held-out
    production calls), then re-score and restore on regression. Without a proposal of ours (or
    with `source="pending"`) Cekura's pending proposal goes through the same guard."""
    metric_id = check(MetricId, metric_id, "metric_id")
    proposal_id = check(ProposalId | None, proposal_id, "proposal_id")
    source = check(ProposalSource | None, source, "source")
    if source == "pending" and proposal_id is not None:
        raise WorkflowError("Give proposal_id or source='pending', not both.")
    options = ApplyOptions(
        verify=verify,
        max_broken=check(MaxBroken, max_broken, "max_broken"),
        max_holdout_calls=check(MaxHoldoutCalls, max_holdout_calls, "max_holdout_calls"),
    )
    if wf.policy.read_only:
        return ApplyResult(
            metric_id=metric_id,
            status="not_applied_unsafe",
            proposal_id=proposal_id,
            summary=f"Metric {metric_id}: not applied, the server is in read-only mode.",
            reasons=["read-only mode (CEKURA_OPTIMISE_READ_ONLY) forbids writes"],
        )
    chosen = await _chosen(wf, metric_id, proposal_id, source, Reporter(progress))
    if isinstance(chosen, ApplyResult):
        return chosen
    result = await _guarded(wf, chosen, options, progress)
    return await after_apply(wf, chosen, result) if is_pending(chosen) else result


async def _chosen(
    wf: Workflow, metric_id: int, proposal_id: str | None, source: str | None, report: Reporter
) -> ProposalRow | ApplyResult:
    """The proposal to judge: the named one or our newest, else (or when asked) Cekura's pending
    proposal taken in (the one on the metric now, else the last one taken in, if live); or the
    result that says why the pending one cannot be judged (dismissed or replaced in Cekura)."""
    if source == "ours" or proposal_id is not None:
        found = await find_proposal(wf, metric_id, proposal_id)
        return await still_pending(wf, found) if is_pending(found) else found
    newest = await wf.ledger.latest_proposal(metric_id) if source is None else None
    if newest is not None and not is_pending(newest):
        return newest
    return await take_in_pending(wf, metric_id, report, auto=source is None, earlier=newest)


WROTE = frozenset({"applied", "applied_unverified", "already_applied"})


async def _guarded(
    wf: Workflow, proposal: ProposalRow, options: ApplyOptions, progress: ProgressFn | None
) -> ApplyResult:
    """The guarded write of a stored proposal, once, whoever else is writing the metric."""
    interrupted = await report_interrupted(wf, proposal.metric_id)
    if interrupted is not None and interrupted.proposal_id == proposal.id:
        return interrupted
    result = await _write_once(wf, proposal, options, progress)
    if interrupted is not None and result.status not in WROTE:
        # another proposal's stopped write is live and unchecked, and this call did not replace it
        result.warnings.insert(0, interrupted.summary)
    return result


async def _write_once(
    wf: Workflow, proposal: ProposalRow, options: ApplyOptions, progress: ProgressFn | None
) -> ApplyResult:
    """Claim the metric and write, or wait for whoever holds it and answer from their write."""
    metric_id = proposal.metric_id
    for _ in range(3):
        done = await _already_done(wf, proposal)
        if done is not None:
            return done
        claim = await wf.ledger.claim_apply(
            proposal.id, metric_id, call_owner(wf), now=wf.clock.now()
        )
        if claim.won:
            return await _hold(wf, proposal, claim.row, options, progress)
        outcome = await await_other_apply(wf, proposal, claim.row, Reporter(progress))
        if outcome is not None:
            return outcome
    raise WorkflowError(
        f"Metric {metric_id} keeps being written by other calls; nothing was written by this call. "
        "Try again in a minute."
    )


async def _hold(
    wf: Workflow,
    proposal: ProposalRow,
    row: ApplyRow,
    options: ApplyOptions,
    progress: ProgressFn | None,
) -> ApplyResult:
    """Run the apply we hold, renewing the hold as it reports; if it stops early, leave the row
    for the next call to settle (or `failed`, when nothing was sent)."""
    hold = WriteHold(wf, row)
    report = Reporter(progress, tick=hold.renew)
    try:
        result = await _apply_claimed(wf, proposal, row, hold, options, report)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await wf.ledger.abandon_apply(row.id, row.owner, now=wf.clock.now())
        raise
    copied = proposal.body.get("copies_warning")
    if copied:
        result.warnings.insert(0, copied)
    return result


async def _already_done(wf: Workflow, proposal: ProposalRow) -> ApplyResult | None:
    """Idempotency: a proposal already live is `already_applied` (or, live although its re-score
    fell, says so); one that was reverted is never written again automatically. Every tenant's
    writes count: a joined run's proposal is shared."""
    last = await wf.ledger.last_apply(
        proposal.metric_id, ("applied", "applied_unverified", "reverted"), every_tenant=True
    )
    if last is None or last.proposal_id != proposal.id:
        return None
    if last.status == "reverted":
        return ApplyResult(
            metric_id=proposal.metric_id,
            status="not_applied_regressed",
            proposal_id=proposal.id,
            reasons=[
                "this proposal was applied before and then reverted (its re-score fell, or "
                "revert_metric undid it)"
            ],
            summary=(
                f"Metric {proposal.metric_id}: not applied, proposal {proposal.id} was reverted "
                "once already."
            ),
            next_steps=[f"optimise_metric(metric_id={proposal.metric_id}, force=True)"],
        )
    return live_result(proposal, last, "is already applied")


async def _apply_claimed(
    wf: Workflow,
    proposal: ProposalRow,
    row: ApplyRow,
    hold: WriteHold,
    options: ApplyOptions,
    report: Reporter,
) -> ApplyResult:
    metric_id = proposal.metric_id
    body = proposal.body
    patch: dict[str, Any] = body["patch"]
    evidence = Evidence.model_validate(body["evidence"])
    base = {"metric_id": metric_id, "proposal_id": proposal.id, "evidence": evidence}
    live = await read_metric(wf, metric_id, before_write=True)
    if patch_matches(live, patch):
        await wf.ledger.update_apply(row.id, holder=row.owner, status="applied", now=wf.clock.now())
        return ApplyResult(
            **base,
            status="already_applied",
            summary=f"Metric {metric_id}: already holds every value of {proposal.id}.",
        )
    if metric_fingerprint(live) != proposal.metric_fingerprint:
        await wf.ledger.update_apply(row.id, holder=row.owner, status="refused", now=wf.clock.now())
        return ApplyResult(
            **base,
            status="not_applied_stale",
            summary=f"Metric {metric_id}: not applied, it was edited after proposal {proposal.id}.",
            reasons=["the live metric differs from the one the proposal was made against"],
            next_steps=[f"optimise_metric(metric_id={metric_id}, force=True)"],
        )
    unsafe, regressed = guard_reasons(evidence, body, patch, options.max_broken)
    if unsafe or regressed:
        await wf.ledger.update_apply(row.id, holder=row.owner, status="refused", now=wf.clock.now())
        status = "not_applied_unsafe" if unsafe else "not_applied_regressed"
        return ApplyResult(
            **base,
            status=status,
            reasons=unsafe + regressed,
            summary=f"Metric {metric_id}: not applied, {(unsafe + regressed)[0]}.",
        )
    held, notes, missing = await _held_out(wf, live, patch, options, report)
    if missing:
        await wf.ledger.update_apply(row.id, holder=row.owner, status="refused", now=wf.clock.now())
        reason = f"the held-out check could not judge calls {missing} (the preview gave no verdict)"
        return ApplyResult(
            **base,
            status="not_applied_unsafe",
            held_out=held,
            warnings=notes,
            reasons=[reason],
            summary=f"Metric {metric_id}: not applied, {reason}.",
            next_steps=[f"apply_if_not_regressed(metric_id={metric_id}) again later"],
        )
    if held is not None and held.status == "worse":
        await wf.ledger.update_apply(row.id, holder=row.owner, status="refused", now=wf.clock.now())
        return ApplyResult(
            **base,
            status="not_applied_regressed",
            held_out=held,
            warnings=notes,
            reasons=[f"on labelled production calls outside the Lab it {describe(held)}"],
            summary=f"Metric {metric_id}: not applied, it {describe(held)}.",
        )
    base = {**base, "held_out": held}
    result = await _write_and_verify(wf, proposal, row, hold, live, options.verify, report, base)
    result.warnings = notes + result.warnings
    return result


async def _held_out(
    wf: Workflow, live: Metric, patch: dict[str, Any], options: ApplyOptions, report: Reporter
) -> tuple[HeldOutEvidence | None, list[str], list[int]]:
    """The proposal on the newest held-out calls (none checked when there are none, or when
    `max_holdout_calls` is 0), warnings about what was not checked, and the chosen calls the
    preview gave no verdict on (the write must then not go ahead)."""
    if options.max_holdout_calls == 0:
        return None, ["The held-out check was skipped (max_holdout_calls=0)."], []
    await report(f"metric {live.id}: looking for labelled calls outside the Lab")
    found = await held_out_calls(wf, live)
    notes = [w for w in [found.warning()] if w]
    if not found.calls:
        return None, notes, []
    chosen = found.calls[: options.max_holdout_calls]
    if len(found.calls) > len(chosen):
        notes.append(
            f"{len(found.calls)} held-out calls found; checked the newest {len(chosen)} "
            f"(max_holdout_calls={options.max_holdout_calls})."
        )
    judged = await check_proposal(wf, live, patch, chosen, report, options.max_broken)
    return evidence_of(judged, len(found.calls)), notes + judged.warnings, judged.missing


async def _latest_history_id(wf: Workflow, metric_id: int) -> int | None:
    try:
        return await wf.client.latest_history_id(metric_id)
    except CekuraError as exc:
        raise WorkflowError(
            explain(exc, "reading the metric's history") + " Nothing was written."
        ) from exc


async def _write_and_verify(
    wf: Workflow,
    proposal: ProposalRow,
    row: ApplyRow,
    hold: WriteHold,
    live: Metric,
    verify: bool,
    report: Reporter,
    base: dict[str, Any],
) -> ApplyResult:
    metric_id = proposal.metric_id
    patch: dict[str, Any] = proposal.body["patch"]
    history_before = await _latest_history_id(wf, metric_id)
    replaced = {k: getattr(live, k, None) for k in patch}
    await report(f"metric {metric_id}: writing {', '.join(patch)}")
    await hold.confirm()
    await wf.ledger.update_apply(
        row.id,
        holder=row.owner,
        history_id_before=history_before,
        replaced=replaced,
        now=wf.clock.now(),
    )
    base = {**base, "history_id_before": history_before, "applied_fields": list(patch)}
    try:
        await wf.client.patch_metric(metric_id, patch)
    except CekuraError as exc:
        return await patch_failed(wf, row, exc, patch, base)
    before = lab_score(live)
    outcome = await _verify(wf, metric_id, verify, live, report)
    if outcome.after is None:
        await wf.ledger.update_apply(
            row.id, holder=row.owner, status="applied_unverified", now=wf.clock.now()
        )
        return ApplyResult(
            **base,
            status="applied_unverified",
            verified_baseline=before,
            warnings=outcome.warnings,
            summary=f"Metric {metric_id}: applied {proposal.id} without re-scoring.",
            next_steps=[f"revert_metric(metric_id={metric_id})"],
        )
    after = lab_score(outcome.after, {r.id for r in live.reviews})
    if after.correct < before.correct:
        return await restore_after_regression(wf, row, hold, patch, (before, after), base, report)
    await wf.ledger.update_apply(row.id, holder=row.owner, status="applied", now=wf.clock.now())
    return ApplyResult(
        **base,
        status="applied",
        verified=after,
        verified_baseline=before,
        summary=(
            f"Metric {metric_id}: applied {proposal.id}; whole Lab after the write "
            f"{before.correct}/{before.total} → {after.correct}/{after.total}."
        ),
        next_steps=[f"revert_metric(metric_id={metric_id}) to undo"],
    )


async def _verify(
    wf: Workflow, metric_id: int, verify: bool, live: Metric, report: Reporter
) -> RescoreOutcome:
    labelled = sum(r.expected_value is not None for r in live.reviews)
    if not verify:
        return RescoreOutcome(None, ["Verification skipped on request (verify=False)."])
    if labelled > wf.policy.eval_budget:
        return RescoreOutcome(
            None,
            [
                f"Not re-scored: the Lab has {labelled} labelled reviews, above the evaluation "
                f"budget of {wf.policy.eval_budget}. Re-score it in Cekura's Metric Lab."
            ],
        )
    return await rescore(wf, metric_id, report)
