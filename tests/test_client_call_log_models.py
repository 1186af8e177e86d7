"""Call-log, vote and Lab models read the loose shapes real Cekura sends (contract §12.7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tools.cekura import (
    CallLog,
    CallLogPage,
    CallLogRow,
    LabTestSet,
    MetricFeedback,
    MetricResult,
)


def item(**fields: Any) -> dict[str, Any]:
    return {"id": 101, "name": "Appointment Booked", "type": "llm_judge", **fields}


# ---------------------------------------------------------------- verdicts


@pytest.mark.parametrize(
    ("fields", "verdict"),
    [
        ({"score": 5, "enum": "", "value": ""}, 5),
        ({"score": 5.0}, 5),
        ({"score": 0.0, "enum": None}, 0),
        ({"score": 3.5}, 3.5),
        ({"score": "5"}, 5),
        ({"score": None, "enum": "polite", "value": "polite"}, "polite"),
        ({"score": None, "enum": "", "value": "4"}, "4"),
        ({"score": None, "enum": "", "value": ""}, None),
        ({}, None),
        ({"score": "n/a"}, None),
        ({"score": True, "enum": "yes"}, "yes"),
    ],
)
def test_verdict_is_the_score_else_the_enum_else_the_value(fields, verdict):
    result = MetricResult.model_validate(item(**fields))
    assert result.verdict == verdict
    assert type(result.verdict) is type(verdict)


def test_an_integral_score_is_an_int_so_it_compares_with_labels_exactly():
    result = MetricResult.model_validate(item(score=5.0))
    assert result.score == 5 and isinstance(result.score, int)


# ---------------------------------------------------------------- votes


def test_vote_on_the_item():
    result = MetricResult.model_validate(
        item(score=0, thumbs_up=False, expected_value=5, feedback="Caller agreed at 00:09")
    )
    assert (result.thumbs_up, result.expected_value, result.feedback) == (
        False,
        5,
        "Caller agreed at 00:09",
    )


def test_vote_under_extra_is_lifted():
    extra = {"thumbs_up": True, "expected_value": 0, "feedback": "Right to fail", "x": 1}
    result = MetricResult.model_validate(item(score=0, extra=extra))
    assert (result.thumbs_up, result.expected_value, result.feedback) == (True, 0, "Right to fail")
    assert result.extra["x"] == 1


def test_vote_on_the_item_wins_over_extra():
    result = MetricResult.model_validate(
        item(expected_value=5, thumbs_up=None, extra={"expected_value": 0, "thumbs_up": True})
    )
    assert (result.expected_value, result.thumbs_up) == (5, True)


def test_no_vote_reads_as_none():
    result = MetricResult.model_validate(item(score=5, extra={"trigger_failed": False}))
    assert (result.thumbs_up, result.expected_value, result.feedback) == (None, None, None)


@pytest.mark.parametrize(
    ("explanation", "expected"),
    [
        (["a", "b"], ["a", "b"]),
        ("one line", ["one line"]),
        (None, []),
        (["a", None, 2], ["a", "2"]),
    ],
)
def test_explanation_is_always_a_list_of_text(explanation, expected):
    assert MetricResult.model_validate(item(explanation=explanation)).explanation == expected


def test_extra_that_is_not_an_object_reads_as_empty():
    assert MetricResult.model_validate(item(extra="n/a")).extra == {}


# ---------------------------------------------------------------- list rows


def test_list_row_with_string_typed_transcript_object_and_evaluation():
    row = CallLogRow.model_validate(
        {
            "id": 7,
            "call_id": 998877,
            "agent": 11,
            "timestamp": "2026-08-10T10:30:45Z",
            "duration": "01:10",
            "success": None,
            "is_reviewed": None,
            "status": "failure",
            "transcript_object": '[{"role": "Caller", "content": "Hi"}]',
            "evaluation": '{"metrics": []}',
            "metrics": [
                {"id": 101, "name": "A", "type": "llm_judge", "score": 0},
                {"name": "no id, cannot be matched", "score": 5},
                "not an object",
                {"id": "102", "score": None, "enum": "polite"},
            ],
        }
    )
    assert (row.id, row.call_id, row.is_reviewed) == (7, "998877", False)
    assert [(m.id, m.verdict) for m in row.metrics] == [(101, 0), (102, "polite")]
    assert row.result_for(102).verdict == "polite" and row.result_for(103) is None
    assert row.evaluation == '{"metrics": []}'  # kept as sent


# ---------------------------------------------------------------- detail


@pytest.mark.parametrize(
    "evaluation",
    [
        {"metrics": [item(score=5)]},
        '{"metrics": [{"id": 101, "score": 5}]}',
        [item(score=5)],
    ],
    ids=["object", "JSON text", "bare list"],
)
def test_detail_evaluation_in_any_shape(evaluation):
    call = CallLog.model_validate({"id": 1, "call_id": "c", "evaluation": evaluation})
    assert call.result_for(101).verdict == 5


@pytest.mark.parametrize("evaluation", [None, "", "not json", {}, {"metrics": None}, 5])
def test_detail_without_a_usable_evaluation_has_no_results(evaluation):
    call = CallLog.model_validate({"id": 1, "call_id": "c", "evaluation": evaluation})
    assert call.evaluation.metrics == [] and call.result_for(101) is None


@pytest.mark.parametrize(
    ("turns", "contents"),
    [
        ([{"role": "Caller", "content": "Hi", "start_time": 1.0}], ["Hi"]),
        ('[{"role": "Caller", "content": "Hi"}]', ["Hi"]),
        ([{"role": "Caller", "content": "Hi"}, "noise"], ["Hi"]),
        (None, []),
        ("garbled", []),
    ],
)
def test_transcript_object_in_any_shape(turns, contents):
    call = CallLog.model_validate({"id": 1, "call_id": "c", "transcript_object": turns})
    assert [turn["content"] for turn in call.transcript_object] == contents


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("2026-08-10T10:30:45Z", datetime(2026, 8, 10, 10, 30, 45, tzinfo=UTC)),
        (
            "2026-08-10T12:30:45+02:00",
            datetime(2026, 8, 10, 12, 30, 45, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2026-08-10T10:30:45", datetime(2026, 8, 10, 10, 30, 45, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        (1754821845, None),
    ],
)
def test_timestamps_are_aware_or_none(sent, read):
    call = CallLog.model_validate({"id": 1, "call_id": "c", "timestamp": sent})
    assert call.timestamp == read
    assert call.timestamp is None or call.timestamp.utcoffset() is not None


def test_detail_keeps_extra_fields_and_needs_only_an_id():
    call = CallLog.model_validate({"id": 1, "agent_id": "11", "voice_recording_url": "u"})
    assert (call.call_id, call.agent_id, call.is_reviewed, call.evaluation.metrics) == (
        None,
        "11",
        False,
        [],
    )


# ---------------------------------------------------------------- pages, labels, test sets


def test_page_with_a_null_count_and_no_links():
    page = CallLogPage.model_validate({"count": None, "results": [{"id": 3, "call_id": "c"}]})
    assert (page.count, page.next, page.previous, [r.id for r in page.results]) == (
        0,
        None,
        None,
        [3],
    )


def test_metric_feedback_is_an_object_with_every_field():
    label = MetricFeedback(metric=101, feedback="Caller agreed at 00:09", expected_value=5)
    assert label.model_dump() == {
        "metric": 101,
        "feedback": "Caller agreed at 00:09",
        "expected_value": 5,
    }
    assert MetricFeedback(metric=101).model_dump() == {
        "metric": 101,
        "feedback": "",
        "expected_value": None,
    }


@pytest.mark.parametrize(
    "fields",
    [{"metric": 0}, {"metric": True}, {"metric": "101"}, {"metric": 101, "vote": "agree"}],
    ids=["zero", "bool", "text", "unknown field"],
)
def test_metric_feedback_refuses_what_cekura_could_not_use(fields):
    with pytest.raises(ValueError):
        MetricFeedback(**fields)


def test_lab_test_set_reads_a_numeric_source_id_as_text():
    test_set = LabTestSet.model_validate(
        {
            "id": 9101,
            "agent": 11,
            "source_model": "CallLog",
            "source_id": 3358270,
            "metric_reviews": [{"id": 55001, "metric": 101, "expected_value": 5}],
        }
    )
    assert test_set.source_id == "3358270"
    assert test_set.review_for(101).id == 55001
    assert test_set.review_for(102) is None
