"""The cost guard: evaluations counted as Cekura bills them, and the limit of 100 evaluations."""

import pytest

from tools.proposals.cost import cost_confirmation, credits_for, evaluations_for


def test_rerun_bills_every_assigned_metric_and_preview_one_per_call():
    assert evaluations_for(30, 4) == 30 * 4
    assert evaluations_for(10) == 10


def test_credits_are_a_fifth_of_a_credit_per_evaluation():
    assert credits_for(120) == pytest.approx(120 * 0.2)  # 24.0
    assert credits_for(0) == 0.0


def test_one_hundred_evaluations_go_ahead_without_confirmation():
    assert cost_confirmation(100) is None
    assert cost_confirmation(10, 10) is None  # 10 calls x 10 metrics = 100 evaluations


def test_the_limit_is_on_billed_evaluations_not_calls():
    needed = cost_confirmation(17, 6)  # 17 calls x 6 metrics = 102 evaluations
    assert needed is not None and needed.evaluations == 102


def test_one_hundred_and_one_calls_need_confirmation_with_the_cost():
    needed = cost_confirmation(101)
    assert (needed.calls, needed.evaluations) == (101, 101)
    assert needed.credits == pytest.approx(101 * 0.2)  # 20.2
    assert "confirm_cost=True" in needed.summary
    assert "101 calls" in needed.summary and "20.2 credits" in needed.summary


def test_confirmation_counts_every_metric_a_rerun_evaluates():
    needed = cost_confirmation(101, 6)
    assert needed.evaluations == 101 * 6
    assert needed.credits == pytest.approx(101 * 6 * 0.2)  # 121.2
    assert "606 metric evaluations" in needed.summary


def test_confirm_cost_lets_a_large_evaluation_go_ahead():
    assert cost_confirmation(5000, 3, confirm_cost=True) is None


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="must not be negative"):
        evaluations_for(-1, 2)
    with pytest.raises(ValueError, match="must not be negative"):
        cost_confirmation(101, -1)
