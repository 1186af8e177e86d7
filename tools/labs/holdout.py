"""Held-out production calls: calls a person labelled for a metric that are not in its Lab, so the
optimiser never saw them. A proposal is previewed on them (nothing is saved) and its verdicts, and
the live metric's stored ones, are compared with the person's labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.cekura.call_log_models import CallLog
from tools.cekura.errors import CekuraError
from tools.cekura.models import Metric
from tools.context import Workflow
from tools.errors import WorkflowError
from tools.explain import explain
from tools.labs.calls import epoch, lab_call_ids
from tools.labs.preview import preview_verdicts
from tools.progress import Reporter
from tools.proposals.agreement import Comparison, compare_verdicts, holdout_verdict
from tools.proposals.preview_data import preview_data, unpreviewable
from tools.results import HeldOutEvidence

PAGE_SIZE = 25
MAX_PAGES = 8
MAX_READS = 200


@dataclass
class HeldOut:
    """The held-out calls found (newest first), how many production calls were looked at, and
    whether the search stopped at its cap (older labelled calls were then not searched)."""

    calls: list[CallLog]
    scanned: int
    capped: bool = False

    def warning(self) -> str | None:
        if not self.capped:
            return None
        return (
            f"The held-out search looked at the newest {self.scanned} production calls only; "
            "older labelled calls were not searched."
        )


@dataclass
class HoldoutCheck:
    """A proposal judged on held-out calls: `better`, `same` or `worse`, with the evidence."""

    status: str
    comparison: Comparison
    checked: list[int]
    missing: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


async def held_out_calls(wf: Workflow, metric: Metric) -> HeldOut:
    """Every labelled call of the metric outside its Lab among recent production calls (votes
    mark a call reviewed, so only reviewed calls are opened), newest first."""
    in_lab = lab_call_ids(metric)
    scopes: list[dict[str, Any]] = [{"agent_id": a} for a in metric.agents] or [
        {"project_id": metric.project}
    ]
    found: list[CallLog] = []
    scanned = reads = 0
    capped = False
    try:
        for scope in scopes:
            for page in range(1, MAX_PAGES + 1):
                rows = await wf.client.list_call_logs(**scope, page=page, page_size=PAGE_SIZE)
                scanned += len(rows.results)
                for row in rows.results:
                    if not row.is_reviewed or row.id in in_lab:
                        continue
                    if reads >= MAX_READS:
                        capped = True
                        break
                    reads += 1
                    call = await wf.client.get_call_log(row.id)
                    item = call.result_for(metric.id)
                    if item is not None and item.expected_value is not None:
                        found.append(call)
                capped = capped or (page == MAX_PAGES and rows.next is not None)
                if capped or not rows.next:
                    break
    except CekuraError as exc:
        raise WorkflowError(explain(exc, f"finding metric {metric.id}'s labelled calls")) from exc
    found.sort(key=lambda call: -epoch(call.timestamp))
    return HeldOut(found, scanned, capped)


async def check_proposal(
    wf: Workflow,
    metric: Metric,
    patch: dict[str, Any],
    calls: list[CallLog],
    report: Reporter,
    max_broken: int = 0,
) -> HoldoutCheck:
    """Preview the proposal on `calls` and compare it, and the stored live verdicts, with the
    labels. Calls whose preview errs are left out and named in a warning."""
    proposed = await preview_verdicts(
        wf, preview_data(metric, patch), [c.id for c in calls], report
    )
    rows = {}
    for call in calls:
        item = call.result_for(metric.id)
        if item is not None and call.id in proposed:
            rows[call.id] = (item.expected_value, item.verdict, proposed[call.id])
    comparison = compare_verdicts(rows)
    warnings = []
    missing = sorted({c.id for c in calls} - set(rows))
    if missing:
        warnings.append(f"The preview gave no verdict on calls {missing}.")
    odd = unpreviewable(patch)
    if odd:
        warnings.append(
            f"The preview cannot take {', '.join(odd)}; held-out verdicts may differ from the "
            "metric's once written."
        )
    status = holdout_verdict(comparison, max_broken)
    return HoldoutCheck(status, comparison, sorted(rows), missing, warnings)


def evidence_of(judged: HoldoutCheck, found: int) -> HeldOutEvidence:
    """The held-out check as results carry it."""
    return HeldOutEvidence(
        status=judged.status,  # type: ignore[arg-type]
        checked=judged.checked,
        found=found,
        comparison=judged.comparison,
    )


def describe(held: HeldOutEvidence) -> str:
    """'does worse on 5 held-out calls (live 4/5, proposal 2/5; breaks [..])'."""
    live, proposed = held.comparison.live.score, held.comparison.proposed.score
    broken = held.comparison.flips.broken
    breaks = f"; breaks {broken}" if broken else ""
    word = {"better": "does better", "same": "does the same", "worse": "does worse"}[held.status]
    return (
        f"{word} on {held.comparison.calls} held-out call(s) (live {live.correct}/{live.total}, "
        f"proposal {proposed.correct}/{proposed.total}{breaks})"
    )
