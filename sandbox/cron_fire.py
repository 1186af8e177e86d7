"""Firing an in-product optimiser schedule on demand (sandbox only; Cekura fires on its cron).

Each firing does what Cekura's documents say a firing does: for every metric, run the optimiser on
all of its Lab rows and compare the optimised score with the baseline. With `auto_apply` it saves
the proposal when the optimised score is not below the baseline (the only check Cekura's guard
makes); otherwise it leaves the proposal on the metric as `pending_optimisation_proposal`.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.optimiser import NO_CHANGES, Failed, Paused, optimise
from sandbox.shapes import utc_now
from sandbox.state import SandboxState


def fire(state: SandboxState, job: dict[str, Any]) -> dict[str, Any]:
    """Run the schedule's metrics once; one summary row per metric, as Cekura's email has."""
    return {
        "cron_job_id": job["id"],
        "fired_at": utc_now(),
        "results": [_one(state, job, metric_id) for metric_id in job["metrics"]],
    }


def _one(state: SandboxState, job: dict[str, Any], metric_id: int) -> dict[str, Any]:
    row: dict[str, Any] = {"metric": metric_id, "baseline_score": None, "score": None}
    metric = state.metrics.get(metric_id)
    if metric is None:
        return {**row, "status": "failed", "applied": False, "error": "Metric not found."}
    outcome = optimise(
        copy.deepcopy({k: v for k, v in metric.items() if k != "reviews"}),
        copy.deepcopy(metric["reviews"]),
        skip_evaluation=bool(job.get("skip_evaluation")),
    )
    if isinstance(outcome, Failed):
        return {**row, "status": "failed", "applied": False, "error": outcome.error}
    if isinstance(outcome, Paused):
        return {**row, "status": "needs_answers", "applied": False}
    output = outcome.output
    row.update(baseline_score=output["old_score"]["score"], score=output["new_score"]["score"])
    if output["optimization_summary"].startswith(NO_CHANGES):
        return {**row, "status": "no_changes", "applied": False}
    proposal = _proposal(output, job)
    if job.get("auto_apply"):
        if row["score"] < row["baseline_score"]:
            return {**row, "status": "regressed", "applied": False}
        state.set_pending_proposal(metric_id, proposal)
        state.apply_pending_proposal(metric_id)
        return {**row, "status": "applied", "applied": True}
    state.set_pending_proposal(metric_id, proposal)
    return {**row, "status": "pending", "applied": False}


def _proposal(output: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """The pending proposal's shape: {description, evaluation_trigger, type, custom_code, score,
    baseline_score, cron_job_id, cron_job_name, proposed_at}."""
    trigger = output["improved_evaluation_trigger"] or "always"
    return {
        "description": output["improved_metric_description"],
        "evaluation_trigger": "always" if output["improved_trigger_kind"] == "always" else trigger,
        "type": output["type"],
        "custom_code": output["custom_code"],
        "score": output["new_score"]["score"],
        "baseline_score": output["old_score"]["score"],
        "cron_job_id": job["id"],
        "cron_job_name": job.get("name") or None,
        "proposed_at": utc_now(),
    }
