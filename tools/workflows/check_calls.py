"""check_on_calls: a proposal against the live metric on held-out production calls (labelled by a
person, not in the Lab, so the optimiser never saw them), without saving anything. It previews the
proposal on those calls and compares its verdicts, and the live metric's stored ones, with the
labels. More than 100 calls need `confirm_cost=True`."""

from __future__ import annotations

from tools.cekura.call_log_models import CallLog
from tools.cekura.errors import CekuraError
from tools.cekura.models import Metric
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import CallIds, MetricId, ProposalId, check
from tools.labs.calls import lab_call_ids
from tools.labs.holdout import check_proposal, describe, evidence_of, held_out_calls
from tools.live_metric import read_metric
from tools.progress import ProgressFn, Reporter
from tools.proposals.cost import cost_confirmation
from tools.results import CheckResult
from tools.workflows.apply import find_proposal


@reports_retries
async def check_on_calls(
    wf: Workflow,
    metric_id: int,
    *,
    proposal_id: str | None = None,
    call_ids: list[int] | None = None,
    confirm_cost: bool = False,
    progress: ProgressFn | None = None,
) -> CheckResult:
    """Judge the proposal (default the newest) on held-out calls, or on `call_ids`."""
    metric_id = check(MetricId, metric_id, "metric_id")
    proposal_id = None if proposal_id is None else check(ProposalId, proposal_id, "proposal_id")
    call_ids = None if call_ids is None else check(CallIds, call_ids, "call_ids")
    metric = await read_metric(wf, metric_id)
    proposal = await find_proposal(wf, metric_id, proposal_id)
    warnings: list[str] = []
    if call_ids is None:
        found = await held_out_calls(wf, metric)
        calls = found.calls
        warnings.extend(w for w in [found.warning()] if w)
    else:
        calls = await _named_calls(wf, metric, call_ids, warnings)
    base = {"metric_id": metric_id, "proposal_id": proposal.id, "warnings": warnings}
    if not calls:
        return CheckResult(
            **base,
            status="no_holdout",
            summary=f"Metric {metric_id}: no labelled production call outside the Lab to check on.",
            next_steps=[f"review_results(metric_id={metric_id}) and label_call to add some"],
        )
    cost = cost_confirmation(len(calls), confirm_cost=confirm_cost)
    if cost is not None:
        return CheckResult(**base, status="needs_confirmation", cost=cost, summary=cost.summary)
    judged = await check_proposal(wf, metric, proposal.body["patch"], calls, Reporter(progress))
    warnings.extend(judged.warnings)
    if not judged.checked:
        raise WorkflowError(
            f"Cekura's preview gave no verdict on any of the {len(calls)} calls, so nothing was "
            "decided. Try again later."
        )
    held = evidence_of(judged, len(calls))
    return CheckResult(
        **base,
        status=judged.status,  # type: ignore[arg-type]
        held_out=held,
        summary=f"Metric {metric_id}: proposal {proposal.id} {describe(held)}.",
    )


async def _named_calls(
    wf: Workflow, metric: Metric, call_ids: list[int], warnings: list[str]
) -> list[CallLog]:
    """The named calls that carry a label for the metric; the rest are named in a warning."""
    in_lab = lab_call_ids(metric)
    calls, unlabelled = [], []
    try:
        for call_id in call_ids:
            call = await wf.client.get_call_log(call_id)
            item = call.result_for(metric.id)
            if item is None or item.expected_value is None:
                unlabelled.append(call_id)
            else:
                calls.append(call)
    except CekuraError as exc:
        raise WorkflowError(explain(exc, "reading the calls to check on")) from exc
    if unlabelled:
        warnings.append(f"Calls {unlabelled} carry no label for this metric; left out.")
    seen = sorted(c.id for c in calls if c.id in in_lab)
    if seen:
        warnings.append(f"Calls {seen} are in the Lab: the optimiser saw them, so they prove less.")
    return calls
