"""Proposal → PATCH mapping (contract §4.4): trigger kinds, custom_code type flips, like-for-like."""

import pytest

from tools.cekura.models import Metric, OptimiserOutput
from tools.proposals.mapping import (
    code_problems,
    patch_matches,
    proposal_patch,
    trigger_kind_of_text,
)

LIVE = Metric(
    id=7,
    name="Booked",
    description="Judge the booking.",
    type="llm_judge",
    evaluation_trigger="custom",
    trigger_type="llm_judge",
    evaluation_trigger_prompt="Only booking calls.",
    evaluation_trigger_custom_code="",
    custom_code="",
)


def _output(**fields):
    base = {"improved_metric_description": "Judge the booking.", "improved_evaluation_trigger": ""}
    return OptimiserOutput(**{**base, **fields})


def test_always_sets_only_the_enum():
    patch, _ = proposal_patch(
        _output(improved_trigger_kind="always", improved_evaluation_trigger="always"), LIVE
    )
    assert patch == {"evaluation_trigger": "always"}


def test_llm_judge_trigger_goes_to_the_prompt_field_not_the_enum():
    out = _output(
        improved_trigger_kind="llm_judge",
        improved_evaluation_trigger="Only calls about bookings or moves.",
    )
    patch, _ = proposal_patch(out, LIVE)
    assert patch == {"evaluation_trigger_prompt": "Only calls about bookings or moves."}
    assert "evaluation_trigger" not in patch


def test_custom_code_trigger_goes_to_the_code_field_with_its_trigger_type():
    code = "TRIGGER_CUES = ['book']\n_result = True\n"
    patch, _ = proposal_patch(
        _output(improved_trigger_kind="custom_code", improved_evaluation_trigger=code), LIVE
    )
    assert patch == {"trigger_type": "custom_code", "evaluation_trigger_custom_code": code}


def test_custom_code_implies_type_custom_code_and_keeps_the_description():
    code = "_result = True\n_explanation = 'ok'\n"
    out = _output(
        improved_trigger_kind="llm_judge",
        improved_evaluation_trigger="Only booking calls.",
        custom_code=code,
        type="custom_code",
    )
    patch, _ = proposal_patch(out, LIVE)
    assert patch == {"custom_code": code, "type": "custom_code"}


def test_type_custom_code_without_code_is_not_applied_and_warned():
    out = _output(
        improved_trigger_kind="llm_judge",
        improved_evaluation_trigger="Only booking calls.",
        type="custom_code",
    )
    patch, warnings = proposal_patch(out, LIVE)
    assert patch == {} and warnings


def test_deprecated_types_are_never_written():
    out = _output(
        improved_trigger_kind="llm_judge",
        improved_evaluation_trigger="Only booking calls.",
        type="basic",
    )
    assert proposal_patch(out, LIVE)[0] == {}


def test_unchanged_proposal_is_an_empty_patch_and_matches():
    out = _output(
        improved_trigger_kind="llm_judge", improved_evaluation_trigger="Only booking calls."
    )
    patch, _ = proposal_patch(out, LIVE)
    assert patch == {}
    assert patch_matches(LIVE, {"description": "Judge the booking.", "custom_code": None})


@pytest.mark.parametrize("field", ["custom_code", "evaluation_trigger_custom_code"])
def test_code_that_does_not_parse_is_reported(field):
    assert code_problems({field: "def broken(:\n"})
    assert code_problems({field: "_result = True\n"}) == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "always"),
        (" always ", "always"),
        ("Evaluate only when the caller asks about a refund.", "llm_judge"),
        ("_result = 'refund' in transcript", "custom_code"),
        ("refund_requested = True", "llm_judge"),
        ("_result = (", "llm_judge"),
    ],
)
def test_the_kind_of_a_trigger_given_as_bare_text(text, kind):
    assert trigger_kind_of_text(text) == kind


def test_program_fields_are_left_out_of_the_write_with_a_warning():
    output = OptimiserOutput(
        improved_metric_description="Judge the booking strictly.",
        improved_evaluation_trigger="always",
        improved_trigger_kind="always",
        metric_description_program={"signature": "booking -> verdict"},
        metric_description_variables=["tone"],
    )
    patch, warnings = proposal_patch(output, LIVE)
    assert "metric_description_program" not in patch
    assert patch["metric_description_variables"] == ["tone"]
    assert any("Left out of the write: metric_description_program" in w for w in warnings)
