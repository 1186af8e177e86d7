"""Holding an apply. The holder renews its ledger row as it works; a call that finds the row held
by a process that stopped (killed mid-write, or a call cancelled after its write) settles it from
the live metric instead of waiting forever: written (then `applied_unverified`) or not (`failed`).
"""

from __future__ import annotations

import os
import socket

from tools.cekura.errors import CekuraError
from tools.errors import WorkflowError
from tools.explain import explain
from tools.ledger import ApplyRow, ProposalRow
from tools.mapping import patch_matches
from tools.results import ApplyResult
from tools.workflow import Reporter, Workflow

RENEW_EVERY_S = 5.0


class ApplyLease:
    """The holder's side: `renew()` at each step and progress report, at most every few seconds."""

    def __init__(self, wf: Workflow, row: ApplyRow) -> None:
        self._wf = wf
        self._row_id = row.id
        self._renewed_at = row.updated_at

    def renew(self) -> None:
        now = self._wf.clock.now()
        if now - self._renewed_at >= RENEW_EVERY_S:
            self._wf.ledger.renew_apply(self._row_id, self._wf.owner, now=now)
            self._renewed_at = now


def holder_gone(row: ApplyRow, now: float, lease_s: float) -> bool:
    """True when the row's holder stopped renewing it, or is a process on this host that has
    exited (owners are written `host:pid`)."""
    if now - row.updated_at > lease_s:
        return True
    host, _, pid = row.owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


async def settle_stopped_apply(wf: Workflow, row: ApplyRow) -> ApplyRow | None:
    """Take over an apply whose holder is gone and record what it really did: `applied_unverified`
    if its PATCH is live, else `failed`. None if another call took it over first."""
    taken = wf.ledger.take_over_apply(row.id, row.updated_at, wf.owner, now=wf.clock.now())
    if taken is None:
        return None
    proposal = wf.ledger.proposal(taken.proposal_id)
    written = False
    if taken.replaced is not None and proposal is not None:
        try:
            live = await wf.client.get_metric(taken.metric_id)
        except CekuraError as exc:
            wf.ledger.abandon_apply(taken.id, now=wf.clock.now())
            raise WorkflowError(
                explain(exc, f"checking whether an interrupted apply of {taken.proposal_id} wrote")
                + " Nothing was written; try again."
            ) from exc
        written = patch_matches(live, proposal.body["patch"])
    status = "applied_unverified" if written else "failed"
    return wf.ledger.update_apply(taken.id, status=status, now=wf.clock.now())


async def await_other_apply(
    wf: Workflow, proposal: ProposalRow, row: ApplyRow, report: Reporter
) -> ApplyResult | None:
    """Another call holds this proposal's apply: wait for it rather than write twice (reporting
    progress as polling does), settling it if its holder is gone. None means it ended without
    leaving the proposal live (it never wrote, failed, was refused or reverted): the caller claims
    afresh, and its own guard or idempotency check gives the answer."""
    deadline = wf.clock.now() + wf.policy.verify_timeout_s + 120
    reported = wf.clock.now()
    current: ApplyRow | None = row
    while current is not None and current.status == "applying":
        now = wf.clock.now()
        if now - reported >= wf.policy.poll.heartbeat_s:
            await report(f"metric {proposal.metric_id}: another call is applying {proposal.id}")
            reported = now
        if holder_gone(current, now, wf.policy.apply_lease_s):
            settled = await settle_stopped_apply(wf, current)
            if settled is not None:
                return None if settled.status == "failed" else interrupted_result(proposal, settled)
        elif now >= deadline:
            break
        await wf.clock.sleep(0.25)
        current = wf.ledger.apply(row.id)
    status = current.status if current else "unknown"
    if status in ("failed", "refused", "reverted"):
        return None
    if status in ("applied", "applied_unverified"):
        return ApplyResult(
            metric_id=proposal.metric_id,
            status="already_applied",
            proposal_id=proposal.id,
            history_id_before=current.history_id_before if current else None,
            summary=f"Metric {proposal.metric_id}: proposal {proposal.id} was applied by a "
            "concurrent call.",
        )
    return ApplyResult(
        metric_id=proposal.metric_id,
        status="failed",
        proposal_id=proposal.id,
        summary=f"Metric {proposal.metric_id}: a concurrent apply of {proposal.id} ended {status}.",
        warnings=["Call apply_if_not_regressed again to see the metric's state."],
    )


async def settle_interrupted(wf: Workflow, metric_id: int) -> tuple[list[ApplyRow], list[ApplyRow]]:
    """Settle the metric's applies whose holders are gone: (rows settled, rows still held by a
    live call)."""
    settled: list[ApplyRow] = []
    held: list[ApplyRow] = []
    for row in wf.ledger.applies_in_progress(metric_id):
        if not holder_gone(row, wf.clock.now(), wf.policy.apply_lease_s):
            held.append(row)
            continue
        done = await settle_stopped_apply(wf, row)
        if done is not None:
            settled.append(done)
    return settled, held


async def report_interrupted(wf: Workflow, metric_id: int) -> ApplyResult | None:
    """Before the routine works on a metric: settle applies a stopped call left behind, and if one
    had written its proposal, the result that says so (the routine reports it and moves on)."""
    settled, _ = await settle_interrupted(wf, metric_id)
    for row in reversed(settled):
        proposal = wf.ledger.proposal(row.proposal_id)
        if row.status == "applied_unverified" and proposal is not None:
            return interrupted_result(proposal, row)
    return None


def interrupted_result(proposal: ProposalRow, row: ApplyRow) -> ApplyResult:
    """An earlier apply wrote the proposal and stopped before its re-score."""
    metric_id = proposal.metric_id
    undo = (
        f"revert_metric(metric_id={metric_id}) to undo"
        if row.history_id_before is not None
        else "Restore the previous version by hand in Cekura's metric history."
    )
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
        next_steps=[undo],
    )
