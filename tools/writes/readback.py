"""When a write fails or its answer is lost: read the metric back from Cekura, record what is
really true in the ledger, and say so in the result."""

from __future__ import annotations

from typing import Any

from tools.cekura.errors import CekuraError
from tools.context import Workflow
from tools.explain import explain
from tools.ledger.models import ApplyRow
from tools.proposals.mapping import patch_matches
from tools.results import ApplyResult

UNKNOWN_NEXT = (
    "The next apply_if_not_regressed or revert_metric call for this metric checks what the metric "
    "holds before doing anything else."
)


async def holds_patch(wf: Workflow, metric_id: int, patch: dict[str, Any]) -> bool | None:
    """Whether the live metric holds every value of `patch`; None when Cekura cannot tell us."""
    try:
        return patch_matches(await wf.client.get_metric(metric_id), patch)
    except CekuraError:
        return None


async def patch_failed(
    wf: Workflow, row: ApplyRow, exc: CekuraError, patch: dict[str, Any], base: dict[str, Any]
) -> ApplyResult:
    """The PATCH failed: read the metric back and report the state it is really in."""
    metric_id = base["metric_id"]
    landed = await holds_patch(wf, metric_id, patch)
    if landed is None:
        await wf.ledger.abandon_apply(row.id, row.owner, now=wf.clock.now())
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
        await wf.ledger.update_apply(
            row.id, holder=row.owner, status="applied_unverified", now=wf.clock.now()
        )
        return ApplyResult(
            **base,
            status="applied_unverified",
            summary=f"Metric {metric_id}: the write reported an error but did take effect.",
            warnings=[explain(exc, "writing the metric"), "Not re-scored."],
        )
    await wf.ledger.update_apply(row.id, holder=row.owner, status="failed", now=wf.clock.now())
    return ApplyResult(
        **{**base, "applied_fields": []},
        status="failed",
        summary=f"Metric {metric_id}: not applied, the write failed; the metric is unchanged.",
        warnings=[explain(exc, "writing the metric")],
    )
