"""Agreement with human labels on production calls: confusion matrix, Cohen's κ, flips, verdict.

Verdicts follow the Lab's convention for `expected_value`: binary metrics 5 (pass) or 0 (fail),
enum metrics the enum string, `None` for N/A (the trigger did not fire or nothing was evaluated).
Values compare as `evidence.values_equal` does: numbers by value, text case- and space-insensitively.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field

from tools.proposals.evidence import Flips, ScorePair, mcnemar_exact, score_pair

PASS = 5.0
FAIL = 0.0
HoldoutVerdict = Literal["better", "same", "worse"]


class CallVerdicts(NamedTuple):
    """One call: the human's expected value, the live configuration's and the proposal's verdicts."""

    expected: Any
    live: Any
    proposed: Any


class ConfusionMatrix(BaseModel):
    """Binary metrics, pass (5) the positive class: rows the human label, columns the verdict."""

    tp: int = Field(description="labelled pass, judged pass")
    fp: int = Field(description="labelled fail, judged pass")
    fn: int = Field(description="labelled pass, judged fail")
    tn: int = Field(description="labelled fail, judged fail")
    na: int = Field(description="labelled calls the configuration judged N/A (counted as wrong)")


class Agreement(BaseModel):
    """How one configuration's verdicts agree with the human labels on the same calls."""

    score: ScorePair = Field(description="verdicts equal to the label; N/A counts as wrong")
    confusion: ConfusionMatrix | None = Field(
        default=None, description="binary metrics only (every value 5, 0 or N/A)"
    )
    kappa: float | None = Field(
        default=None,
        description="Cohen's κ = (po − pe)/(1 − pe), po = score.accuracy, N/A a category of its "
        "own; 1.0 when pe = 1 (one shared category, so po = 1); None without calls",
    )
    chance_agreement: float | None = Field(
        default=None, description="pe: agreement expected by chance from the two distributions"
    )
    disagreeing: list[int] = Field(
        default_factory=list, description="call ids whose verdict differs from the label"
    )


class Comparison(BaseModel):
    """The live configuration and the proposal judged against the same human labels."""

    calls: int = Field(description="labelled calls compared")
    live: Agreement
    proposed: Agreement
    flips: Flips = Field(description="calls the proposal gets right that live got wrong, and back")
    mcnemar_p: float = Field(description="exact two-sided McNemar p over the flips (1.0 = none)")
    unlabelled: list[int] = Field(
        default_factory=list, description="call ids left out because the label was N/A"
    )


def category(value: Any) -> Any:
    """A hashable key equal for values `values_equal` matches; `None` stays `None` (N/A)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value).strip().lower()
    return number if math.isfinite(number) else str(value).strip().lower()


def is_binary(values: Iterable[Any]) -> bool:
    """True when at least one value is given and every non-N/A one is 5 or 0."""
    keys = [category(v) for v in values]
    present = [k for k in keys if k is not None]
    return bool(keys) and all(k in (PASS, FAIL) for k in present)


def cohen_kappa(pairs: Iterable[tuple[Any, Any]]) -> tuple[float, float] | None:
    """(κ, pe) for (label, verdict) pairs over any number of categories, N/A one of them.

    po is the share of pairs that agree, pe = Σ_k p_label(k)·p_verdict(k). When pe = 1 the formula
    divides by zero; κ is then defined as 1.0, since pe = 1 only when both sides used one and the
    same category throughout, so po = 1 too (perfect, if uninformative, agreement). None when
    there are no pairs.
    """
    keyed = [(category(a), category(b)) for a, b in pairs]
    n = len(keyed)
    if n == 0:
        return None
    po = Fraction(sum(a == b for a, b in keyed), n)
    labels = Counter(a for a, _ in keyed)
    verdicts = Counter(b for _, b in keyed)
    pe = sum((Fraction(labels[k] * verdicts[k], n * n) for k in labels), Fraction(0))
    if pe == 1:
        return 1.0, 1.0
    return round(float((po - pe) / (1 - pe)), 4), round(float(pe), 4)


def confusion_matrix(pairs: Iterable[tuple[Any, Any]]) -> ConfusionMatrix:
    """The 2×2 table of binary (label, verdict) pairs with pass (5) positive; N/A verdicts apart."""
    cells = {(True, True): "tp", (False, True): "fp", (True, False): "fn", (False, False): "tn"}
    counts: Counter[str] = Counter()
    for label, verdict in pairs:
        judged = category(verdict)
        key = "na" if judged is None else cells[(category(label) == PASS, judged == PASS)]
        counts[key] += 1
    return ConfusionMatrix(**{k: counts[k] for k in ("tp", "fp", "fn", "tn", "na")})


def agreement_of(verdicts: Mapping[int, tuple[Any, Any]], binary: bool | None = None) -> Agreement:
    """Agreement of call id → (label, verdict) over the calls whose label is not N/A.

    `binary` says whether the metric is binary (a confusion matrix is added); None infers it.
    """
    items = sorted((cid, pair) for cid, pair in verdicts.items() if pair[0] is not None)
    if binary is None:
        binary = is_binary(v for _, pair in items for v in pair)
    wrong = [cid for cid, (label, verdict) in items if not _matches(verdict, label)]
    kappa = cohen_kappa(pair for _, pair in items)
    return Agreement(
        score=score_pair(len(items) - len(wrong), len(items)),
        confusion=confusion_matrix(pair for _, pair in items) if binary else None,
        kappa=kappa[0] if kappa else None,
        chance_agreement=kappa[1] if kappa else None,
        disagreeing=wrong,
    )


def compare_verdicts(calls: Mapping[int, CallVerdicts | tuple[Any, Any, Any]]) -> Comparison:
    """Both configurations against the labels of call id → (expected, live, proposed).

    Calls whose label is N/A are left out (they are not labelled calls) and listed. Calls a
    configuration could not evaluate (an error, not an N/A verdict) should be left out by the caller.
    """
    labelled = {cid: CallVerdicts(*v) for cid, v in calls.items() if v[0] is not None}
    unlabelled = sorted(cid for cid, v in calls.items() if v[0] is None)
    binary = is_binary(x for v in labelled.values() for x in v)
    live = agreement_of({c: (v.expected, v.live) for c, v in labelled.items()}, binary)
    proposed = agreement_of({c: (v.expected, v.proposed) for c, v in labelled.items()}, binary)
    live_wrong, proposed_wrong = set(live.disagreeing), set(proposed.disagreeing)
    flips = Flips(
        fixed=sorted(live_wrong - proposed_wrong), broken=sorted(proposed_wrong - live_wrong)
    )
    return Comparison(
        calls=len(labelled),
        live=live,
        proposed=proposed,
        flips=flips,
        mcnemar_p=round(mcnemar_exact(len(flips.fixed), len(flips.broken)), 6),
        unlabelled=unlabelled,
    )


def holdout_verdict(comparison: Comparison, max_broken: int = 0) -> HoldoutVerdict:
    """Whether the proposal does better, the same or worse than live on the labelled calls.

    The rule is the Lab guard's, so held-out calls are held to the same standard as the Lab:
    - `worse` when the proposal gets fewer calls right than the live configuration, or breaks
      (gets wrong a call live got right) more than `max_broken` calls, even if it fixes others:
      the Labs workflow requires that no correct call regresses;
    - `better` when it gets more calls right and breaks at most `max_broken`;
    - `same` otherwise (equal correct counts, within `max_broken`), and when there are no calls
      (the caller reports that case as `no_holdout`).
    McNemar's p is reported, not used: on the ten or so held-out calls one preview covers, a
    significance threshold would let almost every regression through.
    """
    live, proposed = comparison.live.score.correct, comparison.proposed.score.correct
    if proposed < live or len(comparison.flips.broken) > max_broken:
        return "worse"
    return "better" if proposed > live else "same"


def _matches(verdict: Any, label: Any) -> bool:
    return verdict is not None and category(verdict) == category(label)
