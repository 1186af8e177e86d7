"""The guard: whether a proposal may be written. It refuses what cannot be shown safe (labels
changed without approval, code that does not parse, missing scores or per-review results) and
what regresses (a lower score on the same samples, more broken labelled reviews than allowed)."""

from __future__ import annotations

from typing import Any

from tools.proposals.evidence import Evidence
from tools.proposals.mapping import code_problems


def guard_reasons(
    evidence: Evidence, body: dict[str, Any], patch: dict[str, Any], max_broken: int
) -> tuple[list[str], list[str]]:
    """Why the guard refuses: (unsafe reasons, regression reasons); both empty means go."""
    unsafe: list[str] = []
    regressed: list[str] = []
    if body.get("unauthorized_label_changes"):
        unsafe.append(
            f"the optimiser changed {len(body['unauthorized_label_changes'])} label(s) without "
            "approval"
        )
    unsafe.extend(code_problems(patch))
    base, opt = evidence.baseline, evidence.optimised
    if base is None or opt is None:
        unsafe.append("the run has no scores (evaluation skipped), so nothing shows it is better")
    elif base.total != opt.total:
        unsafe.append(f"scores are on different samples ({base.total} vs {opt.total})")
    elif opt.correct < base.correct:
        regressed.append(f"optimised {opt.correct}/{opt.total} is below baseline {base.correct}")
    if base is not None and base.total and evidence.reviews_compared == 0:
        unsafe.append(
            "the run returned no per-review results, so nothing shows that no correct review breaks"
        )
    broken = evidence.flips.broken
    if len(broken) > max_broken:
        regressed.append(
            f"it breaks {len(broken)} previously-correct labelled review(s) {broken} "
            f"(max_broken={max_broken})"
        )
    return unsafe, regressed
