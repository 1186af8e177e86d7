"""Evidence for a proposal: per-review flips, the exact McNemar test and Wilson intervals."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, Field, computed_field

from tools.cekura.models import Metric, OptimiserOutput

Z_95 = 1.959963984540054


class ScorePair(BaseModel):
    """Correct answers out of labelled samples, with a Wilson 95% interval for the accuracy."""

    correct: int
    total: int
    accuracy: float | None = None
    ci95: tuple[float, float] | None = None


class Flips(BaseModel):
    """Labelled reviews whose correctness changed between the live metric and the proposal."""

    fixed: list[int] = Field(default_factory=list)
    broken: list[int] = Field(default_factory=list)


class Evidence(BaseModel):
    """What a guard decision rests on, reported whatever the decision."""

    baseline: ScorePair | None = None
    optimised: ScorePair | None = None
    flips: Flips = Field(default_factory=Flips)
    mcnemar_p: float | None = Field(
        default=None, description="Exact two-sided McNemar p-value over the flips (1.0 = no signal)"
    )
    reviews_compared: int | None = Field(
        default=None, description="Labelled reviews with a per-review result from the run"
    )

    @computed_field(description="The flips and the McNemar p in one plain line")
    @property
    def mcnemar_reading(self) -> str | None:
        if self.mcnemar_p is None:
            return None
        return plain_reading(len(self.flips.fixed), len(self.flips.broken), self.mcnemar_p)


def plain_reading(fixed: int, broken: int, p: float) -> str:
    """What the flips and the McNemar p say, for someone who does not read p-values:
    '2 fixed, 0 broken; with this few rows the improvement could be chance (p = 0.5)'."""
    counts = f"{fixed} fixed, {broken} broken"
    shown = f"(p = {p:.2g})"
    if fixed == broken:
        return f"{counts}; no net change {shown}"
    change = "improvement" if fixed > broken else "drop"
    if p < 0.05:
        return f"{counts}; the {change} is unlikely to be chance {shown}"
    return f"{counts}; with this few rows the {change} could be chance {shown}"


def values_equal(actual: Any, expected: Any) -> bool:
    """Label match: numbers by value (5 == 5.0 == "5"), text case- and space-insensitively."""
    if actual is None or expected is None:
        return False
    try:
        return float(actual) == float(expected)
    except (TypeError, ValueError):
        return str(actual).strip().lower() == str(expected).strip().lower()


def wilson_interval(correct: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when there are no samples."""
    if total <= 0:
        return (0.0, 1.0)
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Exact two-sided McNemar p-value: a binomial test of the discordant pairs at p = 1/2."""
    n = fixed + broken
    if n == 0:
        return 1.0
    k = min(fixed, broken)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def score_pair(correct: int, total: int) -> ScorePair:
    return ScorePair(
        correct=correct,
        total=total,
        accuracy=round(correct / total, 4) if total else None,
        ci95=wilson_interval(correct, total),
    )


def evidence_for(metric: Metric, output: OptimiserOutput) -> Evidence:
    """Compare the live metric's last outputs with the proposal's on the same labelled reviews."""
    reviews = {r.id: r for r in metric.reviews}
    flips = Flips()
    before_ok = after_ok = compared = 0
    for result in output.review_results:
        review = reviews.get(result.review_id)
        if review is None or review.expected_value is None:
            continue
        compared += 1
        was = values_equal(review.actual_value, review.expected_value)
        now = result.success and values_equal(result.actual_value, review.expected_value)
        before_ok += was
        after_ok += now
        if now and not was:
            flips.fixed.append(review.id)
        elif was and not now:
            flips.broken.append(review.id)
    if output.old_score is not None:
        baseline = score_pair(output.old_score.num_correct, output.old_score.num_total)
    else:
        baseline = score_pair(before_ok, compared) if compared else None
    if output.new_score is not None:
        optimised = score_pair(output.new_score.num_correct, output.new_score.num_total)
    else:
        optimised = score_pair(after_ok, compared) if compared else None
    return Evidence(
        baseline=baseline,
        optimised=optimised,
        flips=flips,
        mcnemar_p=round(mcnemar_exact(len(flips.fixed), len(flips.broken)), 6),
        reviews_compared=compared,
    )


def lab_score(metric: Metric, review_ids: set[int] | None = None) -> ScorePair:
    """The metric's stored accuracy over its labelled Lab rows (last outputs vs labels), optionally
    only over `review_ids` so that two scores compare the same reviews."""
    labelled = [
        r
        for r in metric.reviews
        if r.expected_value is not None and (review_ids is None or r.id in review_ids)
    ]
    correct = sum(values_equal(r.actual_value, r.expected_value) for r in labelled)
    return score_pair(correct, len(labelled))
