"""Holding a write. An apply or revert holds its metric through a ledger row it renews as it works;
a call that finds the metric held by a process that stopped (killed mid-write, or a call cancelled
after its write) settles the row from the live metric instead of waiting forever."""

from __future__ import annotations

import os
import socket
import uuid

from tools.cekura.errors import CekuraError
from tools.errors import WorkflowError
from tools.explain import explain
from tools.ledger import ApplyRow, ProposalRow
from tools.ledger_applies import HoldLost
from tools.mapping import patch_matches
from tools.results import ApplyResult
from tools.workflow import Reporter, Workflow

RENEW_EVERY_S = 30.0


def call_owner(wf: Workflow) -> str:
    """The holder name of one call: the process (`host:pid`) and a token of this call, so two
    calls of one server process never mistake each other's hold for their own."""
    return f"{wf.owner}#{uuid.uuid4().hex[:8]}"


class ApplyLease:
    """The holder's side: `renew()` at each step and progress report, at most every 30 s, until
    the holder settles the row itself; `confirm()` right before a write. Both stop the holder
    (HoldLost) if another call took the row over meanwhile."""

    def __init__(self, wf: Workflow, row: ApplyRow) -> None:
        self._wf = wf
        self._row = row
        self._renewed_at = row.updated_at
        self._released = False

    def renew(self, *, force: bool = False) -> None:
        now = self._wf.clock.now()
        if self._released or (not force and now - self._renewed_at < RENEW_EVERY_S):
            return
        if not self._wf.ledger.renew_apply(self._row.id, self._row.owner, now=now):
            current = self._wf.ledger.apply(self._row.id)
            if current is None or current.owner != self._row.owner:
                raise HoldLost(self._row.metric_id)
            self._released = True
            return
        self._renewed_at = now

    def confirm(self) -> None:
        """Renew now: called right before a write, so a hold taken over is never written under."""
        self.renew(force=True)


def holder_gone(row: ApplyRow, now: float, lease_s: float) -> bool:
    """True when the row's holder stopped renewing it, or is a process on this host that has
    exited (owners are written `host:pid#call`)."""
    if now - row.updated_at > lease_s:
        return True
    host, _, pid = row.owner.split("#", 1)[0].rpartition(":")
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
    """Take over a write whose holder is gone and record what really happened, judged by whether
    the proposal is live: an apply becomes `applied_unverified` or `failed` (`applied` or
    `reverted` if its automatic restore was under way), a revert `reverted` or back to its status
    before, a history restore `restored`. None if another call took it over first."""
    owner = call_owner(wf)
    taken = wf.ledger.take_over_apply(row.id, row.updated_at, owner, now=wf.clock.now())
    if taken is None:
        return None
    try:
        live_now = False if taken.history_restore else await _proposal_live(wf, taken)
    except BaseException:
        wf.ledger.abandon_apply(taken.id, owner, now=wf.clock.now())
        raise
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
    return wf.ledger.update_apply(
        taken.id, holder=owner, status=status, body=notes or None, now=wf.clock.now()
    )


async def _proposal_live(wf: Workflow, row: ApplyRow) -> bool:
    proposal = wf.ledger.proposal(row.proposal_id)
    if row.replaced is None or proposal is None:
        return False
    try:
        live = await wf.client.get_metric(row.metric_id)
    except CekuraError as exc:
        raise WorkflowError(
            explain(exc, f"checking what an interrupted write of {row.proposal_id} did")
            + " Nothing was written; try again."
        ) from exc
    return patch_matches(live, proposal.body["patch"])


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
        if holder_gone(current, now, wf.policy.apply_lease_s):
            settled = await settle_stopped_apply(wf, current)
            if settled is not None:
                ours = settled.proposal_id == proposal.id and current.status == "applying"
                if ours and settled.regressed and settled.status == "applied":
                    return regressed_live_result(proposal, settled)
                if ours and settled.status == "applied_unverified":
                    return interrupted_result(proposal, settled)
                return None
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
        current = wf.ledger.apply(row.id)
    if current is None or current.proposal_id != proposal.id:
        return None
    if current.status not in ("applied", "applied_unverified"):
        return None
    if current.regressed:
        return regressed_live_result(proposal, current)
    return ApplyResult(
        metric_id=proposal.metric_id,
        status="already_applied",
        proposal_id=proposal.id,
        history_id_before=current.history_id_before,
        summary=f"Metric {proposal.metric_id}: proposal {proposal.id} was applied by a "
        "concurrent call.",
    )


async def settle_interrupted(
    wf: Workflow, metric_id: int
) -> tuple[list[tuple[ApplyRow, ApplyRow]], list[ApplyRow]]:
    """Settle the metric's writes whose holders are gone: ((row as found, row settled) pairs,
    rows still held by a live call)."""
    settled: list[tuple[ApplyRow, ApplyRow]] = []
    held: list[ApplyRow] = []
    for row in wf.ledger.applies_in_progress(metric_id):
        if not holder_gone(row, wf.clock.now(), wf.policy.apply_lease_s):
            held.append(row)
            continue
        done = await settle_stopped_apply(wf, row)
        if done is not None:
            settled.append((row, done))
    return settled, held


async def report_interrupted(wf: Workflow, metric_id: int) -> ApplyResult | None:
    """Before the routine works on a metric: settle writes a stopped call left behind, and if an
    apply had written its proposal, the result that says so (the routine reports it, moves on)."""
    settled, _ = await settle_interrupted(wf, metric_id)
    for found, row in reversed(settled):
        proposal = wf.ledger.proposal(row.proposal_id)
        if found.status == "applying" and row.status == "applied_unverified" and proposal:
            return interrupted_result(proposal, row)
    return None


def _undo_step(metric_id: int, row: ApplyRow) -> str:
    if row.history_id_before is None:
        return "Restore the previous version by hand in Cekura's metric history."
    return f"revert_metric(metric_id={metric_id}, history_id={row.history_id_before}) to undo"


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
        next_steps=[_undo_step(metric_id, row)],
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
        next_steps=[_undo_step(metric_id, row)],
    )
