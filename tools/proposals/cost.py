"""The cost guard: count metric evaluations the way Cekura bills them, and stop above 100.

Cekura's rule is never to evaluate more than 100 calls without explicit confirmation; we count
what is billed, so the limit is on evaluations (which is never fewer than calls). Re-running
evaluation on a call re-runs every metric assigned to it (there is no metric filter), and a metric
preview judges one draft per call, so a preview costs one evaluation per call.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

CREDITS_PER_EVALUATION = 0.2
MAX_EVALUATIONS_WITHOUT_CONFIRMATION = 100


class CostConfirmation(BaseModel):
    """An evaluation too large to run without `confirm_cost=True`: what it would cost."""

    calls: int
    evaluations: int = Field(description="metric evaluations Cekura would bill")
    credits: float = Field(description=f"estimate at {CREDITS_PER_EVALUATION} per evaluation")
    summary: str


def evaluations_for(call_count: int, metrics_per_call: int = 1) -> int:
    """Billed evaluations: every call times the metrics evaluated on it (1 for a preview; for a
    re-run, every metric assigned to the call's agent)."""
    if call_count < 0 or metrics_per_call < 0:
        raise ValueError("call_count and metrics_per_call must not be negative")
    return call_count * metrics_per_call


def credits_for(evaluations: int) -> float:
    """Estimated credits for `evaluations` metric evaluations (Cekura's published rate)."""
    return round(evaluations * CREDITS_PER_EVALUATION, 2)


def cost_confirmation(
    call_count: int, metrics_per_call: int = 1, *, confirm_cost: bool = False
) -> CostConfirmation | None:
    """What needs confirming before evaluating `call_count` calls; None when it may go ahead
    (at most MAX_EVALUATIONS_WITHOUT_CONFIRMATION evaluations, or `confirm_cost` given)."""
    evaluations = evaluations_for(call_count, metrics_per_call)
    if confirm_cost or evaluations <= MAX_EVALUATIONS_WITHOUT_CONFIRMATION:
        return None
    credits = credits_for(evaluations)
    return CostConfirmation(
        calls=call_count,
        evaluations=evaluations,
        credits=credits,
        summary=(
            f"Evaluating {call_count} calls runs {evaluations} metric evaluations (about "
            f"{credits:g} credits), over the limit of {MAX_EVALUATIONS_WITHOUT_CONFIRMATION} "
            "without confirmation; "
            "pass confirm_cost=True to go ahead."
        ),
    )
