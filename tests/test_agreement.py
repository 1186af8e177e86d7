"""Agreement with human labels: confusion matrix, Cohen's κ, flips and the held-out verdict."""

import pytest

from tools.proposals.agreement import (
    Comparison,
    agreement_of,
    cohen_kappa,
    compare_verdicts,
    holdout_verdict,
)
from tools.proposals.evidence import Flips, ScorePair, wilson_interval


def _pairs(tp=0, fp=0, fn=0, tn=0, na=0):
    """(label, verdict) pairs for a binary table; N/A verdicts on labelled-pass calls."""
    return [(5, 5)] * tp + [(0, 5)] * fp + [(5, 0)] * fn + [(0, 0)] * tn + [(5, None)] * na


def _by_id(pairs):
    return {i + 1: pair for i, pair in enumerate(pairs)}


def test_binary_table_gives_confusion_matrix_and_kappa_by_hand():
    result = agreement_of(_by_id(_pairs(tp=4, fp=1, fn=2, tn=3)))
    assert result.confusion.model_dump() == {"tp": 4, "fp": 1, "fn": 2, "tn": 3, "na": 0}
    po = (4 + 3) / 10
    pe = (6 / 10) * (5 / 10) + (4 / 10) * (5 / 10)  # labels 6 pass/4 fail; verdicts 5/5
    assert (po, pe) == pytest.approx((0.7, 0.5))
    assert result.chance_agreement == pytest.approx(pe)
    assert result.kappa == pytest.approx((po - pe) / (1 - pe))  # 0.4
    assert (result.score.correct, result.score.total) == (7, 10)
    assert result.score.ci95 == wilson_interval(7, 10)
    # ids 1-4 tp, 5 fp, 6-7 fn, 8-10 tn
    assert result.disagreeing == [5, 6, 7]


def test_na_verdict_is_counted_apart_and_as_a_disagreement():
    result = agreement_of(_by_id(_pairs(tp=4, fp=1, fn=2, tn=3, na=1)))
    assert result.confusion.model_dump() == {"tp": 4, "fp": 1, "fn": 2, "tn": 3, "na": 1}
    po = 7 / 11
    pe = (7 * 5 + 4 * 5 + 0 * 1) / 11**2  # labels 7 pass/4 fail; verdicts 5 pass/5 fail/1 N/A
    assert result.score.accuracy == pytest.approx(po, abs=1e-4)
    assert result.chance_agreement == pytest.approx(pe, abs=1e-4)
    assert result.kappa == pytest.approx((po - pe) / (1 - pe), abs=1e-4)  # 1/3
    assert result.disagreeing == [5, 6, 7, 11]


def test_enum_labels_give_multiclass_kappa_and_no_confusion_matrix():
    pairs = [
        ("yes", "Yes"),
        ("yes", " yes "),
        ("no", "no"),
        ("no", "yes"),
        ("maybe", "MAYBE"),
        ("maybe", "no"),
    ]
    result = agreement_of(_by_id(pairs))
    po = 4 / 6
    pe = (2 * 3 + 2 * 2 + 2 * 1) / 6**2  # labels 2/2/2; verdicts yes 3, no 2, maybe 1
    assert result.confusion is None
    assert result.kappa == pytest.approx((po - pe) / (1 - pe), abs=1e-4)  # 0.5
    assert result.disagreeing == [4, 6]


def test_numbers_match_by_value_whatever_their_spelling():
    result = agreement_of({1: ("5", 5.0), 2: (0, "0"), 3: (5.0, "0")})
    assert result.confusion.model_dump() == {"tp": 1, "fp": 0, "fn": 1, "tn": 1, "na": 0}
    assert result.disagreeing == [3]


def test_one_class_only_agreeing_throughout_has_kappa_one():
    assert cohen_kappa([(5, 5)] * 4) == (1.0, 1.0)  # pe = 1·1 = 1, defined as 1.0


def test_one_label_class_with_mixed_verdicts_has_kappa_zero():
    po = 3 / 4
    pe = 1 * (3 / 4)  # every label pass; verdicts 3 pass, 1 fail
    assert cohen_kappa([(5, 5), (5, 5), (5, 5), (5, 0)]) == (
        pytest.approx((po - pe) / (1 - pe)),
        pytest.approx(pe),
    )


def test_all_na_verdicts_agree_with_nothing():
    result = agreement_of({1: (5, None), 2: (0, None), 3: (5, None)})
    assert result.confusion.model_dump() == {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "na": 3}
    assert (result.score.correct, result.score.total) == (0, 3)
    # po = 0; the verdicts' only category (N/A) is never a label, so pe = 0 and κ = 0.
    assert (result.kappa, result.chance_agreement) == (0.0, 0.0)
    assert result.disagreeing == [1, 2, 3]


def test_no_calls_give_no_kappa_and_an_empty_score():
    comparison = compare_verdicts({})
    assert comparison.calls == 0
    assert comparison.live.score == ScorePair(correct=0, total=0, ci95=(0.0, 1.0))
    assert comparison.live.kappa is None and comparison.live.confusion is None
    assert comparison.mcnemar_p == 1.0
    assert holdout_verdict(comparison) == "same"
    assert cohen_kappa([]) is None


def test_calls_without_a_label_are_left_out_and_listed():
    comparison = compare_verdicts({1: (None, 5, 0), 2: (5, 5, 5), 3: (None, None, None)})
    assert comparison.calls == 1
    assert comparison.unlabelled == [1, 3]
    assert comparison.flips == Flips()


def _broken_six_fixed_one() -> Comparison:
    calls = {i: (5, 5, 0) for i in range(1, 7)}  # live right, proposal wrong: broken
    calls[7] = (0, None, 0)  # live N/A (wrong), proposal right: fixed
    calls[8] = (0, 0, 0)  # both right
    calls[9] = (5, 0, 0)  # both wrong
    return compare_verdicts(calls)


def test_flips_and_exact_mcnemar_on_held_out_calls_by_hand():
    comparison = _broken_six_fixed_one()
    assert comparison.flips == Flips(fixed=[7], broken=[1, 2, 3, 4, 5, 6])
    # Two-sided binomial test of 1 vs 6 discordant pairs at p = 1/2: 2·(C(7,0) + C(7,1)) / 2^7.
    assert comparison.mcnemar_p == pytest.approx(2 * (1 + 7) / 2**7)  # 0.125
    assert (comparison.live.score.correct, comparison.proposed.score.correct) == (7, 2)
    assert comparison.proposed.score.ci95 == wilson_interval(2, 9)
    assert comparison.live.disagreeing == [7, 9]
    assert comparison.proposed.disagreeing == [1, 2, 3, 4, 5, 6, 9]
    assert comparison.live.confusion.model_dump() == {
        "tp": 6,
        "fp": 0,
        "fn": 1,
        "tn": 1,
        "na": 1,
    }
    assert holdout_verdict(comparison) == "worse"


def test_comparison_serialises_to_plain_json():
    dumped = _broken_six_fixed_one().model_dump(mode="json")
    assert dumped["flips"] == {"fixed": [7], "broken": [1, 2, 3, 4, 5, 6]}
    assert dumped["proposed"]["confusion"]["fp"] == 0


@pytest.mark.parametrize(
    ("calls", "max_broken", "verdict"),
    [
        # fixes two, breaks none: p = 2·C(2,0)/2^2 = 0.5, still better on these calls
        ({1: (5, 0, 5), 2: (0, 5, 0), 3: (5, 5, 5)}, 0, "better"),
        # no flips at all
        ({1: (5, 5, 5), 2: (0, 5, 5)}, 0, "same"),
        # fixes one, breaks one: a correct call regressed
        ({1: (5, 0, 5), 2: (0, 0, 5)}, 0, "worse"),
        ({1: (5, 0, 5), 2: (0, 0, 5)}, 1, "same"),
        # fixes two, breaks one: net better, but breaks a call unless one break is allowed
        ({1: (5, 0, 5), 2: (0, 5, 0), 3: (0, 0, 5)}, 0, "worse"),
        ({1: (5, 0, 5), 2: (0, 5, 0), 3: (0, 0, 5)}, 1, "better"),
        # breaks two, fixes none: lower score whatever the allowance
        ({1: (5, 5, 0), 2: (0, 0, 5)}, 5, "worse"),
    ],
)
def test_holdout_verdict_rule(calls, max_broken, verdict):
    assert holdout_verdict(compare_verdicts(calls), max_broken=max_broken) == verdict


def test_proposal_that_turns_a_label_into_na_breaks_it():
    comparison = compare_verdicts({1: ("late", "late", None), 2: ("on time", "late", "On Time")})
    assert comparison.flips == Flips(fixed=[2], broken=[1])
    assert comparison.live.confusion is None
    assert holdout_verdict(comparison) == "worse"
