"""Restoring a metric to a history row: the one restore path, used by revert_metric, by the
automatic revert after a regressed re-score, and named in every "how to undo" hint.

`send_restore` confirms the hold and POSTs the restore; when the answer is lost it reads the metric
back to tell whether the restore landed (it no longer holds the apply being undone).
`restore_after_regression` is the automatic revert."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.cekura.errors import CekuraError
from tools.context import Workflow
from tools.explain import explain
from tools.ledger.models import ApplyRow, HoldLost
from tools.progress import Reporter
from tools.proposals.evidence import ScorePair
from tools.results import ApplyResult
from tools.writes.hold import WriteHold
from tools.writes.readback import UNKNOWN_NEXT, holds_patch
from tools.writes.rescore import rescore

LOST_BUT_RESTORED = "The restore's answer was lost, but the metric reads restored."


@dataclass
class RestoreSent:
    """What a restore did: `landed` True (restored), False (not), None (cannot tell)."""

    landed: bool | None
    error: CekuraError | None = None
    warnings: list[str] = field(default_factory=list)


async def send_restore(
    wf: Workflow, hold: WriteHold, metric_id: int, history_id: int, undoes: dict[str, Any] | None
) -> RestoreSent:
    """Restore `history_id` under a confirmed hold. `undoes` is the patch of the apply being
    undone, read back when the answer is lost; without it a lost answer stays unknown."""
    await hold.confirm()
    try:
        await wf.client.restore_metric(metric_id, history_id)
    except CekuraError as exc:
        if undoes is None:
            return RestoreSent(None, exc)
        live = await holds_patch(wf, metric_id, undoes)
        if live is False:
            return RestoreSent(True, exc, [LOST_BUT_RESTORED])
        return RestoreSent(None if live is None else False, exc)
    return RestoreSent(True)


def undo_hint(metric_id: int, history_id: int | None) -> str:
    """The step that undoes a write whose prior version is `history_id`."""
    if history_id is None:
        return "Restore the previous version by hand in Cekura's metric history."
    return f"revert_metric(metric_id={metric_id}, history_id={history_id}) to undo"


async def restore_after_regression(
    wf: Workflow,
    row: ApplyRow,
    hold: WriteHold,
    patch: dict[str, Any],
    scores: tuple[ScorePair, ScorePair],
    base: dict[str, Any],
    report: Reporter,
) -> ApplyResult:
    """The automatic revert: the re-score fell below the baseline, so restore the history row
    recorded before the write, and record exactly what came of it."""
    metric_id, history_before = base["metric_id"], base["history_id_before"]
    before, after = scores
    drop = f"{before.correct}/{before.total} → {after.correct}/{after.total}"
    scored = {**base, "verified": after, "verified_baseline": before}
    regressed = {"regressed": True}
    if history_before is None:
        await _holder_sets(wf, row, status="applied", body=regressed)
        return ApplyResult(
            **scored,
            status="failed",
            summary=f"Metric {metric_id}: applied but re-score fell ({drop}); no history to restore.",
            warnings=["Restore the previous version by hand in Cekura."],
        )
    live = ApplyResult(**scored, status="failed", summary="", next_steps=[_revert_step(base)])
    try:
        await _holder_sets(wf, row, body=regressed)
        await _holder_sets(wf, row, body={**regressed, "restoring": True})
    except HoldLost:
        await wf.ledger.add_apply_notes(row.id, regressed, now=wf.clock.now())
        live.summary = (
            f"Metric {metric_id}: re-score fell ({drop}) but another call took over this apply "
            "before the automatic restore; the regressed version is LIVE."
        )
        return live
    sent = await send_restore(wf, hold, metric_id, history_before, patch)
    if sent.landed is None:
        await wf.ledger.abandon_apply(row.id, row.owner, now=wf.clock.now())
        live.summary = (
            f"Metric {metric_id}: re-score fell ({drop}); the automatic restore got no usable "
            "answer and the metric's state is unknown."
        )
        live.warnings = [_explained(sent), UNKNOWN_NEXT]
        return live
    if not sent.landed:
        await _holder_sets(wf, row, status="applied", body=regressed)
        live.summary = (
            f"Metric {metric_id}: re-score fell ({drop}) and the automatic restore failed; the "
            "regressed version is LIVE."
        )
        live.warnings = [_explained(sent)]
        return live
    await _holder_sets(wf, row, status="reverted", body=regressed)
    refreshed = await rescore(wf, metric_id, report)
    return ApplyResult(
        **scored,
        status="reverted",
        warnings=sent.warnings + refreshed.warnings,
        reasons=[f"the Lab re-score fell below the baseline ({drop})"],
        summary=(
            f"Metric {metric_id}: applied, whole Lab after the write fell ({drop}), restored history "
            f"{history_before}."
        ),
    )


async def _holder_sets(wf: Workflow, row: ApplyRow, **fields: Any) -> None:
    await wf.ledger.update_apply(row.id, holder=row.owner, now=wf.clock.now(), **fields)


def _revert_step(base: dict[str, Any]) -> str:
    return f"revert_metric(metric_id={base['metric_id']}, history_id={base['history_id_before']})"


def _explained(sent: RestoreSent) -> str:
    assert sent.error is not None
    return explain(sent.error, "restoring the metric")
