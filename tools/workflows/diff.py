"""diff_proposal: a proposal (ours, a run started elsewhere, or Cekura's pending proposal) against
the live metric, field by field. Read-only."""

from __future__ import annotations

from tools.cekura.errors import CekuraError, CekuraNotFound
from tools.cekura.models import Metric, OptimiserOutput, PendingProposal
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError
from tools.explain import explain
from tools.inputs import MetricId, ProgressId, ProposalId, check
from tools.live_metric import read_metric
from tools.proposals.evidence import Evidence, evidence_for
from tools.proposals.fingerprint import metric_fingerprint
from tools.proposals.mapping import patch_matches, proposal_patch
from tools.proposals.view import proposal_view
from tools.results import DiffResult
from tools.workflows.pending import is_pending, pending_output, pending_proposal_id


@reports_retries
async def diff_proposal(
    wf: Workflow, metric_id: int, *, proposal_id: str | None = None, progress_id: str | None = None
) -> DiffResult:
    """Show what applying would change now; `stale` when the metric moved since the proposal."""
    metric_id = check(MetricId, metric_id, "metric_id")
    proposal_id = check(ProposalId | None, proposal_id, "proposal_id")
    progress_id = check(ProgressId | None, progress_id, "progress_id")
    if proposal_id is not None and progress_id is not None:
        raise WorkflowError("Give proposal_id or progress_id, not both.")
    metric = await read_metric(wf, metric_id)
    if progress_id is not None:
        return await _from_progress(wf, metric, progress_id)
    stored = await (
        wf.ledger.proposal(proposal_id) if proposal_id else wf.ledger.latest_proposal(metric_id)
    )
    if stored is not None and stored.metric_id != metric_id:
        raise WorkflowError(f"Proposal {proposal_id} belongs to metric {stored.metric_id}.")
    if stored is not None:
        source = "pending_proposal" if is_pending(stored) else "ledger"
        patch = stored.body["patch"]
        evidence = Evidence.model_validate(stored.body["evidence"])
        view = proposal_view(
            metric, None, patch, evidence, progress_id=stored.progress_id, proposal_id=stored.id
        )
        view.optimiser_summary = stored.body["view"].get("optimiser_summary")
        if patch_matches(metric, patch):
            return DiffResult(
                metric_id=metric_id,
                status="ok",
                source=source,
                **view.model_dump(),
                summary=f"Metric {metric_id}: proposal {stored.id} is already live.",
            )
        if metric_fingerprint(metric) != stored.metric_fingerprint:
            return DiffResult(
                metric_id=metric_id,
                status="stale",
                source=source,
                **view.model_dump(),
                summary=(
                    f"Metric {metric_id}: edited since proposal {stored.id}; applying it would "
                    "overwrite those edits, so apply will refuse."
                ),
                next_steps=[f"optimise_metric(metric_id={metric_id}, force=True)"],
            )
        return DiffResult(
            metric_id=metric_id,
            status="ok",
            source=source,
            **view.model_dump(),
            summary=f"Metric {metric_id}: proposal {stored.id} changes {', '.join(patch)}.",
            next_steps=[
                f"apply_if_not_regressed(metric_id={metric_id}, proposal_id='{stored.id}')"
            ],
        )
    if proposal_id is not None:
        return DiffResult(
            metric_id=metric_id,
            status="not_found",
            summary=f"Metric {metric_id}: no proposal {proposal_id} in the ledger.",
        )
    if metric.pending_optimisation_proposal is not None:
        return pending_diff(metric, metric.pending_optimisation_proposal)
    return DiffResult(
        metric_id=metric_id,
        status="not_found",
        summary=f"Metric {metric_id}: no proposal to show.",
        next_steps=[f"optimise_metric(metric_id={metric_id})"],
    )


async def _from_progress(wf: Workflow, metric: Metric, progress_id: str) -> DiffResult:
    ours = await wf.ledger.run_by_progress_id(progress_id)
    if ours is not None and ours.metric_id != metric.id:
        raise WorkflowError(
            f"Run {progress_id} optimised metric {ours.metric_id}, not {metric.id}; call "
            f"diff_proposal(metric_id={ours.metric_id}, progress_id='{progress_id}')."
        )
    try:
        state = await wf.client.get_optimisation_progress(progress_id)
    except CekuraNotFound:
        return DiffResult(
            metric_id=metric.id,
            status="not_found",
            summary=f"Metric {metric.id}: Cekura does not know run {progress_id}.",
        )
    except CekuraError as exc:
        raise WorkflowError(explain(exc, f"reading run {progress_id}")) from exc
    if state.output is None:
        return DiffResult(
            metric_id=metric.id,
            status="not_found",
            progress_id=progress_id,
            summary=f"Metric {metric.id}: run {progress_id} has no proposal ({state.state}).",
        )
    return _from_output(metric, state.output, "progress", progress_id)


def pending_diff(metric: Metric, pending: PendingProposal) -> DiffResult:
    """Cekura's pending proposal against the live metric (no evidence until it is scored)."""
    result = _from_output(metric, pending_output(pending), "pending_proposal", None)
    result.proposal_id = pending_proposal_id(metric.id, pending)
    if result.changed_fields:
        result.next_steps = [f"apply_if_not_regressed(metric_id={metric.id}, source='pending')"]
    return result


def _from_output(
    metric: Metric, output: OptimiserOutput, source: str, progress_id: str | None
) -> DiffResult:
    patch, warnings = proposal_patch(output, metric)
    evidence = evidence_for(metric, output)
    view = proposal_view(metric, output, patch, evidence, progress_id=progress_id)
    what = f"changes {', '.join(patch)}" if patch else "changes nothing"
    return DiffResult(
        metric_id=metric.id,
        status="ok",
        source=source,
        warnings=warnings,  # type: ignore[arg-type]
        summary=f"Metric {metric.id}: the {source.replace('_', ' ')} {what}.",
        **view.model_dump(),
    )
