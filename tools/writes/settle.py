"""Writes held by other calls: wait for them, or, when their holder is gone (killed mid-write, or a
call cancelled after its write), settle them from the live metric instead of waiting forever, and
say what that found."""

from __future__ import annotations

import anyio

from tools.cekura.errors import CekuraError
from tools.cekura.models import Metric
from tools.context import Workflow
from tools.errors import WorkflowError
from tools.explain import explain
from tools.ledger.models import REVERTIBLE, WRITING, ApplyRow, ProposalRow
from tools.progress import Reporter
from tools.proposals.mapping import patch_matches
from tools.results import ApplyResult
from tools.writes.hold import call_owner, holder_gone
from tools.writes.restore import undo_hint


async def settle_stopped_apply(wf: Workflow, row: ApplyRow) -> ApplyRow | None:
    """Take over a write whose holder is gone and record what really happened, judged by the live
    metric: an apply becomes `applied_unverified` or `failed` (`applied` or `reverted` if its
    automatic restore was under way), a revert `reverted` or back to its status before, a history
    restore `restored`; applies a restore undid are superseded. None if another call took it over
    first."""
    owner = call_owner(wf)
    taken = await wf.ledger.take_over_apply(row.id, row.lease, owner, now=wf.clock.now())
    if taken is None:
        return None
    try:
        return await _record_what_happened(wf, taken, owner)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await wf.ledger.abandon_apply(taken.id, owner, now=wf.clock.now())
        raise


async def _record_what_happened(wf: Workflow, taken: ApplyRow, owner: str) -> ApplyRow:
    """Judge a write we took over by the live metric, and record that as its outcome."""
    live = await _read_live(wf, taken)
    patch = await wf.ledger.write_patch(taken.proposal_id)  # whoever's write it was
    live_now = taken.replaced is not None and patch is not None and patch_matches(live, patch)
    notes = {k: v for k, v in (taken.body or {}).items() if k not in ("before_revert", "restoring")}
    if taken.history_restore:
        status = "restored"
    elif taken.status == "reverting":
        before = taken.note("before_revert") or "applied_unverified"
        status = before if live_now else "reverted"
    elif taken.note("restoring"):
        status = "applied" if live_now else "reverted"
    else:
        status = "applied_unverified" if live_now else "failed"
    settled = await wf.ledger.update_apply(
        taken.id, holder=owner, status=status, body=notes or None, now=wf.clock.now()
    )
    if taken.status == "reverting":
        await supersede_undone(wf, live)
    return settled


async def _read_live(wf: Workflow, row: ApplyRow) -> Metric:
    try:
        return await wf.client.get_metric(row.metric_id)
    except CekuraError as exc:
        raise WorkflowError(
            explain(exc, f"checking what an interrupted write of {row.proposal_id} did")
            + " Nothing was written; try again."
        ) from exc


async def supersede_undone(wf: Workflow, live: Metric) -> None:
    """After a restore, applies (any tenant's) whose changes the metric no longer holds are no
    longer live: mark them `superseded`, so the ledger says what the metric holds."""
    for row in await wf.ledger.applies_with_status(live.id, REVERTIBLE, every_tenant=True):
        patch = await wf.ledger.write_patch(row.proposal_id)
        if patch is not None and not patch_matches(live, patch):
            await wf.ledger.mark_apply(
                row.id, expect=REVERTIBLE, status="superseded", now=wf.clock.now()
            )


async def await_other_apply(
    wf: Workflow, proposal: ProposalRow, row: ApplyRow, report: Reporter
) -> ApplyResult | None:
    """Another call writes the metric (this proposal, another one, or a revert): wait for it
    rather than write at the same time, reporting progress as polling does, and settle it if its
    holder is gone. None means: claim afresh, and let the guard or idempotency check answer."""
    deadline = wf.clock.now() + wf.policy.verify_timeout_s + 120
    reported = wf.clock.now()
    current: ApplyRow | None = row
    while current is not None and current.status in ("applying", "reverting"):
        now = wf.clock.now()
        if now - reported >= wf.policy.poll.heartbeat_s:
            await report(f"metric {proposal.metric_id}: waiting for another call writing it")
            reported = now
        if holder_gone(current, now, wf.policy.write_lease_s):
            settled = await settle_stopped_apply(wf, current)
            if settled is not None:
                return await _left_live(wf, proposal, current, settled)
        elif now >= deadline:
            return ApplyResult(
                metric_id=proposal.metric_id,
                status="failed",
                proposal_id=proposal.id,
                summary=(
                    f"Metric {proposal.metric_id}: another call is still writing it; nothing was "
                    "written by this call."
                ),
                next_steps=[f"apply_if_not_regressed(metric_id={proposal.metric_id}) later"],
            )
        await wf.clock.sleep(0.25)
        current = await wf.ledger.apply(row.id)
    if current is None or current.proposal_id != proposal.id:
        return None
    if current.status not in ("applied", "applied_unverified"):
        return None
    return live_result(proposal, current, "was applied by a concurrent call")


async def _left_live(
    wf: Workflow, proposal: ProposalRow, stopped: ApplyRow, settled: ApplyRow
) -> ApplyResult | None:
    """A stopped apply just settled: if it left its proposal live unverified, or regressed with
    the restore not done, the result says so (whichever proposal it wrote, this call then writes
    nothing: a write nobody re-scored must not pass unreported). None: claim afresh."""
    if stopped.status != "applying":
        return None
    written = proposal
    if settled.proposal_id != proposal.id:
        written = await wf.ledger.proposal(settled.proposal_id)
        if written is None:
            return None
    if settled.regressed and settled.status == "applied":
        return regressed_live_result(written, settled)
    if settled.status == "applied_unverified":
        return interrupted_result(written, settled)
    return None


def live_result(proposal: ProposalRow, row: ApplyRow, how: str) -> ApplyResult:
    """The proposal is live through an earlier or concurrent apply (`row`): `already_applied`,
    unless its re-score fell and the restore did not happen, which the result says."""
    if row.regressed:
        return regressed_live_result(proposal, row)
    return ApplyResult(
        metric_id=proposal.metric_id,
        status="already_applied",
        proposal_id=proposal.id,
        history_id_before=row.history_id_before,
        summary=f"Metric {proposal.metric_id}: proposal {proposal.id} {how}.",
    )


async def settle_interrupted(
    wf: Workflow, metric_id: int
) -> tuple[list[tuple[ApplyRow, ApplyRow]], list[ApplyRow]]:
    """Settle the metric's writes whose holders are gone: ((row as found, row settled) pairs,
    rows still held by a live call)."""
    settled: list[tuple[ApplyRow, ApplyRow]] = []
    held: list[ApplyRow] = []
    for row in await wf.ledger.applies_with_status(metric_id, WRITING):
        if not holder_gone(row, wf.clock.now(), wf.policy.write_lease_s):
            held.append(row)
            continue
        done = await settle_stopped_apply(wf, row)
        if done is not None:
            settled.append((row, done))
    return settled, held


async def report_interrupted(wf: Workflow, metric_id: int) -> ApplyResult | None:
    """Before the routine works on a metric: settle writes a stopped call left behind, and if an
    apply had left its proposal live (unverified, or regressed with the restore not done), the
    result that says so (the routine reports it and moves on)."""
    settled, _ = await settle_interrupted(wf, metric_id)
    for found, row in reversed(settled):
        proposal = await wf.ledger.proposal(row.proposal_id)
        if found.status != "applying" or proposal is None:
            continue
        if row.status == "applied" and row.regressed:
            return regressed_live_result(proposal, row)
        if row.status == "applied_unverified":
            return interrupted_result(proposal, row)
    return None


def interrupted_result(proposal: ProposalRow, row: ApplyRow) -> ApplyResult:
    """An earlier apply wrote the proposal and stopped before its re-score."""
    metric_id = proposal.metric_id
    return ApplyResult(
        metric_id=metric_id,
        status="applied_unverified",
        proposal_id=proposal.id,
        history_id_before=row.history_id_before,
        applied_fields=list(proposal.body["patch"]),
        summary=(
            f"Metric {metric_id}: an earlier apply of {proposal.id} stopped after writing it; it is "
            "live but was not re-scored."
        ),
        warnings=[
            "The call applying it ended before the Lab re-score. Re-score the metric in Cekura's "
            "Metric Lab to check it."
        ],
        next_steps=[undo_hint(metric_id, row.history_id_before)],
    )


def regressed_live_result(proposal: ProposalRow, row: ApplyRow) -> ApplyResult:
    """The proposal is live although its re-score fell, because it could not be restored."""
    metric_id = proposal.metric_id
    return ApplyResult(
        metric_id=metric_id,
        status="failed",
        proposal_id=proposal.id,
        history_id_before=row.history_id_before,
        summary=(
            f"Metric {metric_id}: proposal {proposal.id} is LIVE although its re-score fell; the "
            "automatic restore did not happen."
        ),
        next_steps=[undo_hint(metric_id, row.history_id_before)],
    )
