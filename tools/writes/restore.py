"""When an apply's write or its automatic restore fails: find out what state the metric is really
in from Cekura, record exactly that in the ledger, and say so in the result."""

from __future__ import annotations

from typing import Any

from tools.cekura.errors import CekuraError
from tools.context import Workflow
from tools.explain import explain
from tools.ledger.sqlite import ApplyRow
from tools.ledger.sqlite_applies import HoldLost
from tools.progress import Reporter
from tools.proposals.evidence import ScorePair
from tools.proposals.mapping import patch_matches
from tools.results import ApplyResult
from tools.writes.hold import ApplyLease
from tools.writes.rescore import rescore

UNKNOWN_NEXT = (
    "The next apply_if_not_regressed or revert_metric call for this metric checks what the metric "
    "holds before doing anything else."
)


async def _patch_live(wf: Workflow, metric_id: int, patch: dict[str, Any]) -> bool | None:
    """Whether the metric holds the patch now; None when Cekura cannot tell us."""
    try:
        return patch_matches(await wf.client.get_metric(metric_id), patch)
    except CekuraError:
        return None


async def patch_failed(
    wf: Workflow, row: ApplyRow, exc: CekuraError, patch: dict[str, Any], base: dict[str, Any]
) -> ApplyResult:
    """The PATCH failed: read the metric back and report the state it is really in."""
    metric_id = base["metric_id"]
    landed = await _patch_live(wf, metric_id, patch)
    if landed is None:
        wf.ledger.abandon_apply(row.id, row.owner, now=wf.clock.now())
        return ApplyResult(
            **base,
            status="failed",
            summary=f"Metric {metric_id}: the write failed and its state is unknown.",
            warnings=[
                explain(exc, "writing the metric"),
                f"{UNKNOWN_NEXT} revert_metric(metric_id={metric_id}, history_id="
                f"{base['history_id_before']}) restores the prior version.",
            ],
        )
    if landed:
        wf.ledger.update_apply(
            row.id, holder=row.owner, status="applied_unverified", now=wf.clock.now()
        )
        return ApplyResult(
            **base,
            status="applied_unverified",
            summary=f"Metric {metric_id}: the write reported an error but did take effect.",
            warnings=[explain(exc, "writing the metric"), "Not re-scored."],
        )
    wf.ledger.update_apply(row.id, holder=row.owner, status="failed", now=wf.clock.now())
    return ApplyResult(
        **{**base, "applied_fields": []},
        status="failed",
        summary=f"Metric {metric_id}: not applied, the write failed; the metric is unchanged.",
        warnings=[explain(exc, "writing the metric")],
    )


async def restore_after_regression(
    wf: Workflow,
    row: ApplyRow,
    lease: ApplyLease,
    patch: dict[str, Any],
    scores: tuple[ScorePair, ScorePair],
    base: dict[str, Any],
    report: Reporter,
) -> ApplyResult:
    """The re-score fell below the baseline: restore the history row recorded before the write,
    and if the restore's answer is lost, read the metric back to know whether it landed."""
    metric_id, history_before = base["metric_id"], base["history_id_before"]
    before, after = scores
    drop = f"{before.correct}/{before.total} → {after.correct}/{after.total}"
    scored = {**base, "verified": after, "verified_baseline": before}
    regressed = {"regressed": True}
    if history_before is None:
        wf.ledger.update_apply(
            row.id, holder=row.owner, status="applied", body=regressed, now=wf.clock.now()
        )
        return ApplyResult(
            **scored,
            status="failed",
            summary=f"Metric {metric_id}: applied but re-score fell ({drop}); no history to restore.",
            warnings=["Restore the previous version by hand in Cekura."],
        )
    try:
        wf.ledger.update_apply(row.id, holder=row.owner, body=regressed, now=wf.clock.now())
        await lease.confirm()
    except HoldLost:
        taken = wf.ledger.apply(row.id)
        notes = {**((taken.body if taken else None) or {}), **regressed}
        wf.ledger.update_apply(row.id, body=notes, now=wf.clock.now())
        return ApplyResult(
            **scored,
            status="failed",
            summary=(
                f"Metric {metric_id}: re-score fell ({drop}) but another call took over this "
                "apply before the automatic restore; the regressed version is LIVE."
            ),
            next_steps=[f"revert_metric(metric_id={metric_id}, history_id={history_before})"],
        )
    wf.ledger.update_apply(
        row.id, holder=row.owner, body={**regressed, "restoring": True}, now=wf.clock.now()
    )
    warnings: list[str] = []
    try:
        await wf.client.restore_metric(metric_id, history_before)
    except CekuraError as exc:
        landed = await _patch_live(wf, metric_id, patch)
        if landed is None:
            wf.ledger.abandon_apply(row.id, row.owner, now=wf.clock.now())
            return ApplyResult(
                **scored,
                status="failed",
                summary=(
                    f"Metric {metric_id}: re-score fell ({drop}); the automatic restore got no "
                    "usable answer and the metric's state is unknown."
                ),
                warnings=[explain(exc, "restoring the metric"), UNKNOWN_NEXT],
                next_steps=[f"revert_metric(metric_id={metric_id}, history_id={history_before})"],
            )
        if landed:
            wf.ledger.update_apply(
                row.id, holder=row.owner, status="applied", body=regressed, now=wf.clock.now()
            )
            return ApplyResult(
                **scored,
                status="failed",
                summary=(
                    f"Metric {metric_id}: re-score fell ({drop}) and the automatic restore failed; "
                    "the regressed version is LIVE."
                ),
                warnings=[explain(exc, "restoring the metric")],
                next_steps=[f"revert_metric(metric_id={metric_id}, history_id={history_before})"],
            )
        warnings.append("The restore's answer was lost, but the metric reads restored.")
    wf.ledger.update_apply(
        row.id, holder=row.owner, status="reverted", body=regressed, now=wf.clock.now()
    )
    refreshed = await rescore(wf, metric_id, report)
    return ApplyResult(
        **scored,
        status="reverted",
        warnings=warnings + refreshed.warnings,
        reasons=[f"the Lab re-score fell below the baseline ({drop})"],
        summary=(
            f"Metric {metric_id}: applied, re-score fell ({drop}), restored history "
            f"{history_before}."
        ),
    )
