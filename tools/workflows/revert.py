"""revert_metric: restore the metric as it was before our last apply, or a named history row."""

from __future__ import annotations

from collections.abc import Awaitable

import anyio

from tools.cekura.errors import CekuraError, CekuraNotFound
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import HistoryId, MetricId, check
from tools.ledger.models import REVERTIBLE, ApplyRow
from tools.progress import ProgressFn, Reporter
from tools.proposals.mapping import patch_matches
from tools.results import RevertResult
from tools.writes.hold import WriteHold, call_owner
from tools.writes.rescore import rescore
from tools.writes.restore import RestoreSent, send_restore
from tools.writes.settle import settle_interrupted, supersede_undone


@reports_retries
async def revert_metric(
    wf: Workflow,
    metric_id: int,
    *,
    history_id: int | None = None,
    progress: ProgressFn | None = None,
) -> RevertResult:
    """Restore a history row through Cekura; without `history_id`, undo our newest live apply,
    refusing if someone edited those fields since (their edit would be lost)."""
    metric_id = check(MetricId, metric_id, "metric_id")
    history_id = check(HistoryId | None, history_id, "history_id")
    if wf.policy.read_only:
        raise WorkflowError(
            "The server is in read-only mode (CEKURA_OPTIMISE_READ_ONLY); revert_metric refused. "
            "Nothing was sent to Cekura."
        )
    await _settle_interrupted(wf, metric_id)
    owner = call_owner(wf)
    if history_id is not None:
        claim = await wf.ledger.claim_restore(metric_id, history_id, owner, now=wf.clock.now())
        if not claim.won:
            raise WorkflowError(_busy(metric_id))
        hold = WriteHold(wf, claim.row)
        report = Reporter(progress, tick=hold.renew)
        return await _guarded(wf, claim.row, _restore(wf, history_id, claim.row, hold, report))
    applied = await wf.ledger.last_apply(metric_id, (*REVERTIBLE, "reverted"))
    if applied is None or applied.status == "reverted":
        return await _nothing_to_revert(wf, metric_id, applied)
    if applied.history_id_before is None:
        return RevertResult(
            metric_id=metric_id,
            status="failed",
            summary=f"Metric {metric_id}: our last apply recorded no prior history row.",
            warnings=["Restore the previous version by hand in Cekura's metric history."],
        )
    claim = await wf.ledger.claim_revert(applied.id, owner, now=wf.clock.now())
    if not claim.won:
        if claim.row.id == applied.id and claim.row.status == "reverted":
            return await _nothing_to_revert(wf, metric_id, claim.row)
        raise WorkflowError(_busy(metric_id))
    hold = WriteHold(wf, claim.row)
    report = Reporter(progress, tick=hold.renew)
    return await _guarded(wf, claim.row, _undo_apply(wf, claim.row, hold, report))


async def _guarded(wf: Workflow, held: ApplyRow, work: Awaitable[RevertResult]) -> RevertResult:
    """Run a revert we hold; if it stops early, leave the row for the next call to settle."""
    try:
        return await work
    except BaseException:
        with anyio.CancelScope(shield=True):
            await wf.ledger.abandon_apply(held.id, held.owner, now=wf.clock.now())
        raise


async def _undo_apply(
    wf: Workflow, held: ApplyRow, hold: WriteHold, report: Reporter
) -> RevertResult:
    metric_id = held.metric_id
    assert held.history_id_before is not None
    problem = await _edited_since(wf, held)
    if problem:
        await _release(wf, held)
        return RevertResult(
            metric_id=metric_id,
            status="failed",
            history_id=held.history_id_before,
            summary=f"Metric {metric_id}: not reverted, {problem}.",
            warnings=[
                "Reverting would discard that edit. To restore anyway, call revert_metric("
                f"metric_id={metric_id}, history_id={held.history_id_before})."
            ],
        )
    return await _restore(wf, held.history_id_before, held, hold, report)


async def _restore(
    wf: Workflow, history_id: int, held: ApplyRow, hold: WriteHold, report: Reporter
) -> RevertResult:
    """Restore through the one restore path and record the outcome on the row we hold: our apply
    (now `reverting`), or the `history:<id>` row of a restore asked for by history id."""
    metric_id = held.metric_id
    undoes = None if held.history_restore else await _patch_of(wf, held)
    sent = await send_restore(wf, hold, metric_id, history_id, undoes)
    if isinstance(sent.error, CekuraNotFound):
        await _release(wf, held)
        raise WorkflowError(
            f"Cekura has no history row {history_id} for metric {metric_id}. Nothing was changed."
        ) from sent.error
    if sent.landed is not True:
        return await _not_restored(wf, held, history_id, sent)
    warnings = list(sent.warnings)
    try:
        restored = await wf.client.get_metric(metric_id)
    except CekuraError as exc:
        await wf.ledger.abandon_apply(held.id, held.owner, now=wf.clock.now())
        warnings.append(
            explain(exc, "reading the restored metric")
            + " Not re-scored; the next call for this metric brings the ledger up to date."
        )
        restored = None
    if restored is not None:
        await supersede_undone(wf, restored)
        done = "restored" if held.history_restore else "reverted"
        await wf.ledger.update_apply(
            held.id, holder=held.owner, status=done, body=_notes(held) or None, now=wf.clock.now()
        )
        if sum(r.expected_value is not None for r in restored.reviews) <= wf.policy.eval_budget:
            warnings += (await rescore(wf, metric_id, report)).warnings
    return RevertResult(
        metric_id=metric_id,
        status="reverted",
        history_id=history_id,
        restored_fields=sorted(held.replaced or {}),
        warnings=warnings,
        summary=f"Metric {metric_id}: restored history {history_id}.",
    )


async def _not_restored(
    wf: Workflow, held: ApplyRow, history_id: int, sent: RestoreSent
) -> RevertResult:
    """The restore failed (or nobody can tell): leave the row for the next call to settle when
    unknown, else give the hold back."""
    if sent.landed is None:
        await wf.ledger.abandon_apply(held.id, held.owner, now=wf.clock.now())
    else:
        await _release(wf, held)
    fate = "may or may not have happened" if sent.landed is None else "did not happen"
    again = f"history_id={history_id}" if held.history_restore else "history_id omitted"
    assert sent.error is not None
    return RevertResult(
        metric_id=held.metric_id,
        status="failed",
        history_id=history_id,
        summary=f"Metric {held.metric_id}: the restore of history {history_id} {fate}.",
        warnings=[explain(sent.error, "restoring the metric")],
        next_steps=[
            f"revert_metric(metric_id={held.metric_id}, {again}) checks the metric first, "
            "then tries again"
        ],
    )


async def _patch_of(wf: Workflow, held: ApplyRow) -> dict[str, object] | None:
    """The patch of the apply being undone, if the ledger still has its proposal."""
    proposal = await wf.ledger.proposal(held.proposal_id)
    return proposal.body["patch"] if proposal is not None else None


def _notes(row: ApplyRow) -> dict[str, object]:
    return {k: v for k, v in (row.body or {}).items() if k != "before_revert"}


async def _release(wf: Workflow, held: ApplyRow) -> None:
    """Give up a revert before its restore was sent: the apply goes back to its status before
    (a restore by history id simply `failed`)."""
    before = "failed" if held.history_restore else held.note("before_revert") or "applied"
    await wf.ledger.update_apply(
        held.id, holder=held.owner, status=before, body=_notes(held) or None, now=wf.clock.now()
    )


def _busy(metric_id: int) -> str:
    return (
        f"Another call is writing metric {metric_id} (an apply or a revert); call revert_metric "
        "again when it has finished. Nothing was changed."
    )


async def _nothing_to_revert(
    wf: Workflow, metric_id: int, reverted: ApplyRow | None
) -> RevertResult:
    """Our newest apply is undone already (or there is none): undo nothing more unasked, but name
    an earlier apply that is still live and how to undo it."""
    if reverted is None:
        return RevertResult(
            metric_id=metric_id,
            status="nothing_to_revert",
            summary=f"Metric {metric_id}: no apply of ours to undo.",
        )
    steps = []
    earlier = await wf.ledger.last_apply(metric_id, REVERTIBLE)
    if earlier is not None and earlier.history_id_before is not None:
        steps.append(
            f"revert_metric(metric_id={metric_id}, history_id={earlier.history_id_before}) undoes "
            f"the earlier apply of {earlier.proposal_id}, still live"
        )
    return RevertResult(
        metric_id=metric_id,
        status="nothing_to_revert",
        summary=f"Metric {metric_id}: our last apply, {reverted.proposal_id}, is already reverted.",
        next_steps=steps,
    )


async def _settle_interrupted(wf: Workflow, metric_id: int) -> None:
    """Settle applies a stopped call left in progress, so a write they made can be undone; refuse
    while one is still held by a live call."""
    _, held = await settle_interrupted(wf, metric_id)
    if held:
        raise WorkflowError(_busy(metric_id))


async def _edited_since(wf: Workflow, applied: ApplyRow) -> str | None:
    proposal = await wf.ledger.proposal(applied.proposal_id)
    if proposal is None:
        return None
    try:
        live = await wf.client.get_metric(applied.metric_id)
    except CekuraError as exc:
        raise WorkflowError(explain(exc, "reading the metric before reverting")) from exc
    if not patch_matches(live, proposal.body["patch"]):
        return "it was edited after our apply"
    return None
