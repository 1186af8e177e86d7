"""Building the people-facing view of a proposal: changed fields, bounded diffs, type change, evidence."""

from __future__ import annotations

from typing import Any

from tools.cekura.models import Metric, OptimiserOutput
from tools.proposals.evidence import Evidence
from tools.proposals.field_diffs import diffs_for
from tools.proposals.mapping import OPTIMISABLE_FIELDS, live_value
from tools.results import ProposalView, TypeChange
from tools.untrusted import quote_untrusted


def ordered(patch: dict[str, Any]) -> dict[str, Any]:
    """The patch's fields in the order people read them (description first, programs last)."""
    rank = {f: i for i, f in enumerate(OPTIMISABLE_FIELDS)}
    return dict(sorted(patch.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def show_evidence(view: ProposalView, evidence: Evidence) -> None:
    """Put the evidence's scores, flips and McNemar (with its plain reading) on a view."""
    view.baseline = evidence.baseline
    view.optimised = evidence.optimised
    view.flips = evidence.flips
    view.mcnemar_p = evidence.mcnemar_p
    view.mcnemar_reading = evidence.mcnemar_reading


def proposal_view(
    metric: Metric,
    output: OptimiserOutput | None,
    patch: dict[str, Any],
    evidence: Evidence | None,
    *,
    progress_id: str | None = None,
    proposal_id: str | None = None,
) -> ProposalView:
    """Changed fields and diffs compare like with like: each PATCH field against the same live field."""
    patch = ordered(patch)
    current = {k: live_value(metric, k) for k in patch}
    type_change = None
    if "type" in patch:
        type_change = TypeChange(before=metric.type, after=patch["type"])
    view = ProposalView(
        proposal_id=proposal_id,
        progress_id=progress_id,
        changed_fields=list(patch),
        diffs=diffs_for(current, patch),
        type_change=type_change,
    )
    if evidence is not None:
        show_evidence(view, evidence)
    if output is not None:
        view.unauthorized_label_changes = len(output.unauthorized_label_changes)
        view.unresolved_samples = len(output.unresolved_samples)
        if output.optimization_summary:
            view.optimiser_summary = quote_untrusted(output.optimization_summary, 600)
    return view
