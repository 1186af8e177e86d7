"""Evidence on a proposal: McNemar's exact test, Wilson intervals and per-review flips."""

import pytest

from tools.cekura.models import Metric, OptimiserOutput
from tools.proposals.evidence import (
    Evidence,
    Flips,
    evidence_for,
    lab_score,
    mcnemar_exact,
    values_equal,
    wilson_interval,
)


@pytest.mark.parametrize(
    ("fixed", "broken", "p"),
    [
        (2, 10, 0.03857421875),
        (0, 5, 0.0625),
        (1, 6, 0.125),
        (3, 3, 1.0),
        (0, 0, 1.0),
        (7, 0, 0.015625),
    ],
)
def test_mcnemar_exact_matches_binomial_test(fixed, broken, p):
    assert mcnemar_exact(fixed, broken) == pytest.approx(p)


@pytest.mark.parametrize(
    ("correct", "total", "interval"),
    # Newcombe (1998), Table I: Wilson score intervals without continuity correction.
    [(8, 10, (0.4902, 0.9433)), (0, 10, (0.0, 0.2775)), (10, 10, (0.7225, 1.0))],
)
def test_wilson_interval_matches_published_values(correct, total, interval):
    assert wilson_interval(correct, total) == pytest.approx(interval, abs=1e-4)


def test_wilson_interval_without_samples_is_uninformative():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_values_compare_numbers_by_value_and_text_loosely():
    assert values_equal(5, 5.0) and values_equal("5", 5) and values_equal(" Yes ", "yes")
    assert not values_equal(None, None) and not values_equal(0, 5)


def _metric(rows):
    return Metric(
        id=1,
        name="m",
        reviews=[
            {"id": rid, "metric": 1, "expected_value": exp, "actual_value": act}
            for rid, exp, act in rows
        ],
    )


def test_flips_name_fixed_and_broken_reviews_on_the_same_samples():
    metric = _metric([(1, 5, 0), (2, 0, 0), (3, 5, 5), (4, None, 5)])
    output = OptimiserOutput(
        review_results=[
            {"review_id": 1, "actual_value": 5, "success": True},
            {"review_id": 2, "actual_value": 5, "success": True},
            {"review_id": 3, "actual_value": 5, "success": False, "error": "timeout"},
            {"review_id": 4, "actual_value": 0, "success": True},
        ]
    )
    evidence = evidence_for(metric, output)
    assert evidence.flips.fixed == [1]
    assert evidence.flips.broken == [2, 3]
    assert (evidence.baseline.correct, evidence.baseline.total) == (2, 3)
    assert (evidence.optimised.correct, evidence.optimised.total) == (1, 3)
    assert evidence.mcnemar_p == pytest.approx(1.0)


def test_optimiser_scores_take_precedence_over_recomputed_ones():
    metric = _metric([(1, 5, 0)])
    output = OptimiserOutput(
        review_results=[{"review_id": 1, "actual_value": 5, "success": True}],
        old_score={"num_correct": 3, "num_total": 7},
        new_score={"num_correct": 6, "num_total": 7},
    )
    evidence = evidence_for(metric, output)
    assert (evidence.baseline.correct, evidence.optimised.correct) == (3, 6)
    assert evidence.optimised.ci95 == wilson_interval(6, 7)


def test_lab_score_counts_only_labelled_rows_and_can_be_restricted():
    metric = _metric([(1, 5, 5), (2, 0, 5), (3, None, 0), (4, 0, 0)])
    assert (lab_score(metric).correct, lab_score(metric).total) == (2, 3)
    assert lab_score(metric, {1, 2}).correct == 1


@pytest.mark.parametrize(
    ("fixed", "broken", "reading"),
    [
        (2, 0, "2 fixed, 0 broken; with this few rows the improvement could be chance (p = 0.5)"),
        (1, 1, "1 fixed, 1 broken; no net change (p = 1)"),
        (0, 0, "0 fixed, 0 broken; no net change (p = 1)"),
        (7, 0, "7 fixed, 0 broken; the improvement is unlikely to be chance (p = 0.016)"),
        (0, 3, "0 fixed, 3 broken; with this few rows the drop could be chance (p = 0.25)"),
    ],
)
def test_evidence_reads_the_mcnemar_p_in_plain_words(fixed, broken, reading):
    flips = Flips(fixed=list(range(fixed)), broken=list(range(100, 100 + broken)))
    evidence = Evidence(flips=flips, mcnemar_p=round(mcnemar_exact(fixed, broken), 6))
    assert evidence.mcnemar_reading == reading
    assert evidence.model_dump()["mcnemar_reading"] == reading
