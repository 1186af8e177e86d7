"""validate_on_calls: after an apply, re-run the metric on production calls (for example the ones
it got wrong) and compare the new verdicts with the people's labels. Cekura re-runs every metric
assigned to a call, so the cost guard counts them all; more than 100 calls need
`confirm_cost=True`. Changes only the calls' stored evaluations, never the metric."""

from __future__ import annotations

from typing import Any

from tools.cekura.call_log_models import CallLog
from tools.cekura.errors import CekuraError
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError, read_only_refusal
from tools.explain import explain
from tools.inputs import CallIds, MetricId, check
from tools.progress import ProgressFn, Reporter
from tools.proposals.cost import cost_confirmation
from tools.results import ValidatedCall, ValidateResult

RECHECK_S = 5.0


@reports_retries
async def validate_on_calls(
    wf: Workflow,
    metric_id: int,
    call_ids: list[int],
    *,
    confirm_cost: bool = False,
    progress: ProgressFn | None = None,
) -> ValidateResult:
    """Re-evaluate `call_ids` and report, per call, the label, the verdict before and after."""
    metric_id = check(MetricId, metric_id, "metric_id")
    call_ids = check(CallIds, call_ids, "call_ids")
    if wf.policy.read_only:
        raise read_only_refusal("validate_on_calls")
    report = Reporter(progress)
    try:
        before = {c: await wf.client.get_call_log(c) for c in call_ids}
    except CekuraError as exc:
        raise WorkflowError(explain(exc, "reading the calls to validate on")) from exc
    assigned = max((len(c.evaluation.metrics) for c in before.values()), default=1) or 1
    cost = cost_confirmation(len(call_ids), assigned, confirm_cost=confirm_cost)
    if cost is not None:
        return ValidateResult(
            metric_id=metric_id, status="needs_confirmation", cost=cost, summary=cost.summary
        )
    after = await _rerun(wf, metric_id, before, report)
    return _compare(metric_id, before, after)


async def _rerun(
    wf: Workflow, metric_id: int, before: dict[int, CallLog], report: Reporter
) -> dict[int, CallLog]:
    """Re-run the calls (grouped by agent, as Cekura requires) and read back each call until it
    carries the metric's new verdict or the verify deadline passes."""
    by_agent: dict[int, list[int]] = {}
    for call in before.values():
        by_agent.setdefault(int(call.agent or 0), []).append(call.id)
    after: dict[int, CallLog] = {}
    try:
        for agent_id, ids in by_agent.items():
            await report(f"metric {metric_id}: re-evaluating {len(ids)} call(s)")
            for call in await wf.client.rerun_evaluation(ids, agent_id=agent_id):
                after[call.id] = call
        deadline = wf.clock.now() + wf.policy.verify_timeout_s
        while _pending(metric_id, before, after) and wf.clock.now() < deadline:
            await report(f"metric {metric_id}: waiting for the re-run results")
            await wf.clock.sleep(RECHECK_S)
            for call_id in _pending(metric_id, before, after):
                after[call_id] = await wf.client.get_call_log(call_id)
    except CekuraError as exc:
        raise WorkflowError(
            explain(exc, f"re-evaluating metric {metric_id} on the calls")
            + " Calls already re-run keep their new results."
        ) from exc
    return after


def _pending(metric_id: int, before: dict[int, CallLog], after: dict[int, CallLog]) -> list[int]:
    """Calls whose re-run result for the metric has not come back yet (an N/A result, the
    trigger not firing, is an answer)."""
    return [c for c in before if not _answered(after.get(c), metric_id)]


def _answered(call: CallLog | None, metric_id: int) -> bool:
    item = call.result_for(metric_id) if call is not None else None
    if item is None:
        return False
    return item.verdict is not None or bool((item.extra or {}).get("trigger_failed"))


def _verdict(call: CallLog | None, metric_id: int) -> Any:
    item = call.result_for(metric_id) if call is not None else None
    return item.verdict if item is not None else None


def _compare(
    metric_id: int, before: dict[int, CallLog], after: dict[int, CallLog]
) -> ValidateResult:
    rows = []
    for call_id, call in before.items():
        item = call.result_for(metric_id)
        label = item.expected_value if item is not None else None
        new = _verdict(after.get(call_id), metric_id)
        agrees = None if label is None or new is None else new == label
        rows.append(
            ValidatedCall(
                call_id=call_id,
                label=label,
                before=_verdict(call, metric_id),
                after=new,
                agrees=agrees,
            )
        )
    pending = _pending(metric_id, before, after)
    wrong = [r.call_id for r in rows if r.agrees is False]
    labelled = [r for r in rows if r.label is not None]
    if pending:
        status, summary = "timed_out", f"{len(pending)} call(s) not re-evaluated yet: {pending}"
    elif wrong:
        status, summary = "disagreements", f"disagrees with the label on calls {wrong}"
    else:
        status, summary = (
            "validated",
            f"agrees with the label on all {len(labelled)} labelled call(s)",
        )
    return ValidateResult(
        metric_id=metric_id,
        status=status,  # type: ignore[arg-type]
        calls=rows,
        disagreeing=wrong,
        pending=pending,
        summary=f"Metric {metric_id}: {summary}.",
        next_steps=(
            [f"validate_on_calls(metric_id={metric_id}, call_ids={pending}) re-runs those"]
            if pending
            else []
        ),
    )
