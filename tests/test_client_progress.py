"""The progress parsers (contract §3.2 "Robust client parse" and §5.2), as pure functions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from openapi_schemas import fixtures
from tools.cekura import (
    CekuraMalformedResponse,
    parse_optimiser_progress,
    parse_run_reviews_progress,
)


def success_output() -> dict[str, Any]:
    return copy.deepcopy(fixtures()["process_feedbacks_progress_success"]["output"])


# ---------------------------------------------------------------- optimiser: status


@pytest.mark.parametrize(
    "status", ["success", "completed", "complete", "done", "SUCCESS", " Done "]
)
def test_success_synonyms(status):
    progress = parse_optimiser_progress({"status": status, "output": success_output()})
    assert progress.state == "succeeded"
    assert progress.raw_status == status.strip()
    assert progress.output is not None


@pytest.mark.parametrize("status", ["error", "failed", "failure", "Failed"])
def test_failure_synonyms(status):
    assert parse_optimiser_progress({"status": status}).state == "failed"


@pytest.mark.parametrize("status", ["cancelled", "canceled", "revoked"])
def test_cancelled_synonyms(status):
    assert parse_optimiser_progress({"status": status}).state == "cancelled"


@pytest.mark.parametrize(
    "status", ["paused", "awaiting_input", "awaiting_user", "waiting_for_answers", "needs_input"]
)
def test_paused_synonyms_without_questions(status):
    progress = parse_optimiser_progress({"status": status})
    assert progress.state == "paused"
    assert progress.questions == []


@pytest.mark.parametrize(
    "status",
    ["pending", "queued", "running", "in_progress", "processing", "started", "reticulating"],
)
def test_unknown_and_in_flight_statuses_are_not_terminal(status):
    assert parse_optimiser_progress({"status": status}).state == "running"


def test_missing_status_without_a_result_is_running():
    assert parse_optimiser_progress({}).state == "running"


QUESTION = {"id": "q_9", "question": "Keep FAIL?", "options": ["Keep FAIL", "Change to PASS"]}


@pytest.mark.parametrize(
    "body",
    [
        {"status": "in_progress", "questions": [QUESTION]},
        {"status": "in_progress", "output": {"questions": [QUESTION]}},
        {"status": "running", "pending_questions": [QUESTION]},
        {"questions": [QUESTION]},
    ],
    ids=["state.questions", "output.questions", "state.pending_questions", "no-status"],
)
def test_any_status_with_questions_is_paused(body):
    progress = parse_optimiser_progress(body)
    assert progress.state == "paused"
    assert [(q.id, q.question, q.options) for q in progress.questions] == [
        ("q_9", "Keep FAIL?", ["Keep FAIL", "Change to PASS"])
    ]


def test_empty_questions_list_does_not_pause():
    assert parse_optimiser_progress({"status": "in_progress", "questions": []}).state == "running"


def test_a_finished_status_wins_over_leftover_questions():
    body = {"status": "success", "questions": [QUESTION], "output": success_output()}
    assert parse_optimiser_progress(body).state == "succeeded"


def test_numeric_question_ids_become_strings():
    progress = parse_optimiser_progress(
        {"status": "paused", "questions": [{"id": 7, "question": "?"}]}
    )
    assert progress.questions[0].id == "7"


def test_question_without_an_id_is_malformed():
    with pytest.raises(CekuraMalformedResponse, match="no id"):
        parse_optimiser_progress({"status": "paused", "questions": [{"question": "Which?"}]})


# ---------------------------------------------------------------- optimiser: result shape


def test_envelope_and_flat_variants_give_the_same_proposal():
    envelope = parse_optimiser_progress(fixtures()["process_feedbacks_progress_success"])
    flat = parse_optimiser_progress(fixtures()["process_feedbacks_progress_success_flat_variant"])
    assert envelope.state == flat.state == "succeeded"
    assert flat.raw_status is None
    assert envelope.output is not None and flat.output is not None
    for field in (
        "improved_metric_description",
        "improved_evaluation_trigger",
        "improved_trigger_kind",
        "custom_code",
        "type",
        "old_score",
        "new_score",
        "review_results",
    ):
        assert getattr(envelope.output, field) == getattr(flat.output, field), field


def test_proposed_code_type_and_score_fall_back_to_meta_harness():
    output = success_output()
    for key in ("custom_code", "type", "new_score"):
        output.pop(key)
    output["meta_harness"] = {
        "optimized_code": "_result = True\n_explanation = 'ok'\n",
        "type": "custom_code",
        "score": 0.75,
        "num_correct": 3,
        "num_total": 4,
    }
    result = parse_optimiser_progress({"status": "success", "output": output}).output
    assert result is not None
    assert result.custom_code == "_result = True\n_explanation = 'ok'\n"
    assert result.type == "custom_code"
    assert result.new_score is not None
    assert (result.new_score.num_correct, result.new_score.num_total, result.new_score.score) == (
        3,
        4,
        0.75,
    )


def test_flat_fields_win_over_meta_harness():
    output = success_output()
    output["custom_code"] = "flat code"
    output["meta_harness"]["optimized_code"] = "harness code"
    result = parse_optimiser_progress({"status": "success", "output": output}).output
    assert result is not None and result.custom_code == "flat code"


def test_empty_flat_custom_code_falls_back_to_meta_harness():
    body = fixtures()["process_feedbacks_progress_success_code_flip"]
    body = copy.deepcopy(body)
    body["output"]["custom_code"] = ""
    result = parse_optimiser_progress(body).output
    assert result is not None
    assert result.custom_code == body["output"]["meta_harness"]["optimized_code"]


def test_null_text_fields_read_as_empty():
    output = {**success_output(), "improved_metric_description": None, "optimization_summary": None}
    result = parse_optimiser_progress({"status": "success", "output": output}).output
    assert result is not None
    assert result.improved_metric_description == "" and result.optimization_summary == ""


def test_success_without_a_proposal_has_no_output():
    progress = parse_optimiser_progress(
        {"status": "success", "output": {"detail": "no changes proposed"}}
    )
    assert progress.state == "succeeded" and progress.output is None


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        (
            {
                "improved_trigger_kind": "custom_code",
                "trigger_type": "llm_judge",
                "improved_evaluation_trigger": "x",
            },
            "custom_code",
        ),
        (
            {"improved_trigger_kind": "always", "improved_evaluation_trigger": "Only if booking"},
            "always",
        ),
        (
            {"trigger_type": "custom_code", "improved_evaluation_trigger": "_result = True"},
            "custom_code",
        ),
        (
            {"trigger_type": "llm_judge", "improved_evaluation_trigger": "Only if booking"},
            "llm_judge",
        ),
        ({"improved_evaluation_trigger": "Only if booking"}, "llm_judge"),
        ({"improved_evaluation_trigger": "always"}, "always"),
        ({"improved_evaluation_trigger": "  "}, "always"),
        ({"improved_evaluation_trigger": ""}, "always"),
        (
            {"improved_trigger_kind": "mystery", "improved_evaluation_trigger": "Only if booking"},
            "llm_judge",
        ),
        (
            {
                "improved_trigger_kind": None,
                "trigger_type": None,
                "improved_evaluation_trigger": None,
            },
            "always",
        ),
    ],
)
def test_trigger_kind_resolution(fields, kind):
    output = {"improved_metric_description": "d", **fields}
    result = parse_optimiser_progress({"status": "success", "output": output}).output
    assert result is not None and result.improved_trigger_kind == kind


# ---------------------------------------------------------------- optimiser: error and step text


def test_error_text_prefers_state_error_then_message_then_output_error():
    assert (
        parse_optimiser_progress(
            {"status": "error", "error": "E1", "message": "M", "output": {"error": "O"}}
        ).error
        == "E1"
    )
    assert (
        parse_optimiser_progress(
            {"status": "error", "message": "M", "output": {"error": "O"}}
        ).error
        == "M"
    )
    assert parse_optimiser_progress({"status": "error", "output": {"error": "O"}}).error == "O"


def test_error_object_is_read_as_its_message():
    progress = parse_optimiser_progress({"status": "failed", "error": {"message": "Worker lost"}})
    assert progress.error == "Worker lost"


def test_step_comes_from_current_step_or_message():
    assert (
        parse_optimiser_progress({"status": "in_progress", "current_step": "Evaluating"}).step
        == "Evaluating"
    )
    running = parse_optimiser_progress({"status": "in_progress", "message": "Optimising prompt"})
    assert running.step == "Optimising prompt"
    assert running.error is None  # a message on a running job is progress, not an error


@pytest.mark.parametrize("body", [None, [], "success", 3, ["status", "success"]])
def test_optimiser_body_that_is_not_an_object_is_malformed(body):
    with pytest.raises(CekuraMalformedResponse):
        parse_optimiser_progress(body)


def test_review_result_without_review_id_is_malformed():
    output = success_output()
    output["review_results"] = [{"test_set_id": 1, "success": True}]
    with pytest.raises(CekuraMalformedResponse, match="review_id"):
        parse_optimiser_progress({"status": "success", "output": output})


# ---------------------------------------------------------------- run_reviews


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("in_progress", "running"),
        ("queued", "running"),
        ("something_new", "running"),
        ("completed", "completed"),
        ("success", "completed"),
        ("done", "completed"),
        ("failed", "failed"),
        ("error", "failed"),
        ("cancelled", "failed"),
    ],
)
def test_run_reviews_statuses(status, state):
    assert parse_run_reviews_progress({"status": status}).state == state


def test_run_reviews_counts_under_either_name():
    progress = parse_run_reviews_progress(
        {"status": "in_progress", "total": 5, "completed_count": 3, "failed_count": 1}
    )
    assert (progress.total, progress.completed, progress.failed) == (5, 3, 1)


def test_run_reviews_metric_at_top_level():
    metric = fixtures()["run_reviews_progress_completed"]["metric"]
    progress = parse_run_reviews_progress({"status": "completed", **metric})
    assert progress.state == "completed"
    assert progress.metric is not None and progress.metric.overall_score == "2/2"


def test_run_reviews_per_row_results_are_read_and_unusable_items_left_out():
    progress = parse_run_reviews_progress(
        {
            "status": "completed",
            "review_results": [
                {"review_id": 7, "actual_value": 5, "success": True},
                {"actual_value": 0},
                "not an object",
            ],
        }
    )
    assert [(r.review_id, r.actual_value) for r in progress.review_results] == [(7, 5)]
    assert parse_run_reviews_progress({"status": "completed"}).review_results == []


def test_run_reviews_legacy_metric_detail_without_status_is_completed():
    progress = parse_run_reviews_progress(fixtures()["metric_detail"])
    assert progress.state == "completed"
    assert progress.metric is not None and progress.metric.id == 12345


def test_run_reviews_cancelled_explains_itself():
    progress = parse_run_reviews_progress({"status": "revoked"})
    assert progress.state == "failed" and progress.error == "re-score revoked"


def test_run_reviews_metric_missing_required_fields_is_malformed():
    with pytest.raises(CekuraMalformedResponse, match="name"):
        parse_run_reviews_progress({"status": "completed", "metric": {"id": 1}})


@pytest.mark.parametrize("body", [None, [], "completed", 1.5])
def test_run_reviews_body_that_is_not_an_object_is_malformed(body):
    with pytest.raises(CekuraMalformedResponse):
        parse_run_reviews_progress(body)
