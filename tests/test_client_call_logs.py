"""What the client sends to the call-log, vote, Lab and re-evaluation endpoints (method, path,
query, JSON body), that each body matches Cekura's published request schema, and how each
answer is read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio
import respx
from client_support import no_sleep, only_request, sent_json

from openapi_schemas import fixtures, request_errors, response_errors
from tools.cekura import CallLog, CekuraClient, LabReview, LabTestSet, MetricFeedback

pytestmark = pytest.mark.asyncio

BASE = "https://cekura.example.test"
CALL_LOGS = "/observability/v2/call-logs/"
CALL_LOG = "/observability/v2/call-logs/{id}/"
VOTE = "/observability/v2/call-logs/{id}/mark_metric_vote/"
RERUN = "/observability/v2/call-logs/rerun_evaluation/"
CREATE = "/test_framework/test-sets/create_from_call_log/"
REVIEW = "/test_framework/metric-reviews/{id}/"
# The schema requires agent_id and assistant_id together; its own text says one of them (§12.3).
RERUN_QUIRK = "'assistant_id' is a required property"


@pytest_asyncio.fixture
async def client() -> AsyncIterator[CekuraClient]:
    async with CekuraClient("ck_call_logs_key_16180", BASE, sleep=no_sleep) as c:
        yield c


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        yield router


def result_item(metric_id: int, score: float | None, **more: Any) -> dict[str, Any]:
    return {
        "id": metric_id,
        "name": f"Metric {metric_id}",
        "type": "llm_judge",
        "score": score,
        "enum": "",
        "value": "",
        "explanation": [f"explanation {metric_id}"],
        "extra": {},
        **more,
    }


def detail_body(call_log_id: int = 3358270) -> dict[str, Any]:
    """A `CallLogDetail` in the published shape, with a vote on metric 101's item."""
    return {
        "id": call_log_id,
        "call_id": "call_abc123",
        "agent": 11,
        "agent_id": "11",
        "project": 1,
        "status": "success",
        "success": True,
        "is_reviewed": True,
        "feedback": "",
        "timestamp": "2026-08-10T10:30:45Z",
        "duration": "01:10",
        "transcript": "[00:04] Main Agent: Shall I book that in?\n[00:09] Caller: Sounds good.",
        "transcript_object": [
            {"role": "Main Agent", "content": "Shall I book that in?", "timestamp": 4.0},
            {"role": "Caller", "content": "Sounds good.", "timestamp": 9.0},
        ],
        "evaluation": {
            "metrics": [
                result_item(
                    101, 0, thumbs_up=False, expected_value=5, feedback="'Sounds good' at 00:09"
                ),
                result_item(102, 5),
            ]
        },
    }


def row_body(call_log_id: int) -> dict[str, Any]:
    """A `CallLogList` row as published: `transcript_object` and `evaluation` are strings."""
    return {
        "id": call_log_id,
        "call_id": f"call_{call_log_id}",
        "agent": 11,
        "agent_name": "Booking agent",
        "timestamp": "2026-08-10T10:30:45Z",
        "duration": "01:10",
        "success": None,
        "is_reviewed": False,
        "status": "failure",
        "feedback": "",
        "metrics": [
            {
                "id": 101,
                "name": "Metric 101",
                "type": "llm_judge",
                "score": 0.0,
                "enum": "",
                "value": "",
            }
        ],
        "transcript": "[00:09] Caller: Sounds good.",
        "transcript_object": "[]",
        "evaluation": "{}",
    }


# ---------------------------------------------------------------- list and detail


async def test_list_call_logs_sends_every_filter(client, api):
    page_body = {"count": 2, "next": None, "previous": None, "results": [row_body(7), row_body(8)]}
    assert response_errors("GET", CALL_LOGS, 200, page_body) == []
    route = api.get(CALL_LOGS).respond(json=page_body)
    since = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
    page = await client.list_call_logs(
        agent_id=11,
        project_id=1,
        call_ids=[7, 8],
        timestamp_from=since,
        timestamp_to=since + timedelta(days=30),
        page=2,
        page_size=5,
    )
    assert dict(only_request(route).url.params) == {
        "agent_id": "11",
        "project_id": "1",
        "call_ids": "7,8",
        "timestamp_from": "2026-08-01T09:00:00Z",
        "timestamp_to": "2026-08-31T09:00:00Z",
        "page": "2",
        "page_size": "5",
    }
    assert page.count == 2
    assert [row.id for row in page.results] == [7, 8]
    assert page.results[0].result_for(101).verdict == 0
    assert page.results[0].agent_name == "Booking agent"  # extra fields are kept


async def test_list_call_logs_defaults_to_the_first_small_page(client, api):
    route = api.get(CALL_LOGS).respond(json={"count": 0, "results": []})
    page = await client.list_call_logs()
    assert dict(only_request(route).url.params) == {"page": "1", "page_size": "20"}
    assert page.results == [] and page.next is None


async def test_list_call_logs_sends_times_in_utc(client, api):
    route = api.get(CALL_LOGS).respond(json={"count": 0, "results": []})
    paris = timezone(timedelta(hours=2))
    await client.list_call_logs(timestamp_from=datetime(2026, 8, 10, 12, 30, tzinfo=paris))
    assert only_request(route).url.params["timestamp_from"] == "2026-08-10T10:30:00Z"


async def test_get_call_log_reads_results_and_votes(client, api):
    body = detail_body()
    assert response_errors("GET", CALL_LOG, 200, body) == []
    route = api.get("/observability/v2/call-logs/3358270/").respond(json=body)
    call = await client.get_call_log(3358270)
    assert only_request(route).content == b""
    assert isinstance(call, CallLog)
    assert (call.id, call.call_id, call.agent, call.project) == (3358270, "call_abc123", 11, 1)
    assert call.timestamp == datetime(2026, 8, 10, 10, 30, 45, tzinfo=UTC)
    assert [turn["content"] for turn in call.transcript_object][1] == "Sounds good."
    voted = call.result_for(101)
    assert (voted.verdict, voted.thumbs_up, voted.expected_value) == (0, False, 5)
    assert voted.explanation == ["explanation 101"]
    assert call.result_for(102).verdict == 5 and call.result_for(102).expected_value is None
    assert call.result_for(999) is None


# ---------------------------------------------------------------- votes


async def test_mark_metric_vote_sends_every_required_field(client, api):
    expected = fixtures()["mark_metric_vote_request"]
    route = api.post(VOTE.format(id=3358270)).respond(
        json=fixtures()["mark_metric_vote_call_log_response"]
    )
    result = await client.mark_metric_vote(
        3358270,
        metric_id=expected["metric_id"],
        thumbs_up=expected["thumbs_up"],
        expected_value=expected["expected_value"],
        feedback=expected["feedback"],
    )
    body = sent_json(only_request(route))
    assert body == expected
    assert request_errors("POST", VOTE, body) == []
    assert result is None


async def test_mark_metric_vote_sends_nulls_explicitly(client, api):
    route = api.post(VOTE.format(id=5)).respond(200)
    await client.mark_metric_vote(
        5, metric_id=101, thumbs_up=None, expected_value=None, feedback=None
    )
    body = sent_json(only_request(route))
    assert body == {"metric_id": 101, "thumbs_up": None, "expected_value": None, "feedback": None}
    assert request_errors("POST", VOTE, body) == []


# ---------------------------------------------------------------- the Lab


async def test_create_from_call_log_sends_objects_never_bare_ids(client, api):
    expected = fixtures()["create_from_call_log_request"]
    route = api.post(CREATE).respond(json=fixtures()["create_from_call_log_response"])
    labels = [MetricFeedback(**item) for item in expected["metrics"]]
    test_set = await client.create_from_call_log(
        expected["call_log_id"], labels, project=expected["project"]
    )
    body = sent_json(only_request(route))
    assert body == expected
    assert all(isinstance(item, dict) and "metric" in item for item in body["metrics"])
    assert request_errors("POST", CREATE, body) == []
    assert isinstance(test_set, LabTestSet)
    assert (test_set.source_model, test_set.source_id) == ("CallLog", "3358270")
    assert test_set.review_for(12345).id == 55001


async def test_create_from_call_log_for_several_metrics_without_project(client, api):
    route = api.post(CREATE).respond(json=fixtures()["create_from_call_log_response"])
    labels = [
        MetricFeedback(metric=101, feedback="Caller confirmed at 00:09", expected_value=5),
        MetricFeedback(metric=107, feedback="No price was quoted", expected_value=None),
    ]
    await client.create_from_call_log(3358270, labels)
    body = sent_json(only_request(route))
    assert body == {
        "call_log_id": 3358270,
        "metrics": [
            {"metric": 101, "feedback": "Caller confirmed at 00:09", "expected_value": 5},
            {"metric": 107, "feedback": "No price was quoted", "expected_value": None},
        ],
    }
    assert request_errors("POST", CREATE, body) == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"feedback": "Implicit confirmation counts."},
            {"feedback": "Implicit confirmation counts."},
        ),
        ({"expected_value": 0}, {"expected_value": 0}),
        ({"expected_value": None}, {"expected_value": None}),
        (
            {
                "expected_value": 5,
                "feedback": "Implicit confirmation ('Sounds good') counts as agreement.",
            },
            fixtures()["metric_review_patch_request"],
        ),
    ],
    ids=["feedback only", "label only", "clear label", "both"],
)
async def test_patch_review_sends_only_the_fields_given(client, api, fields, expected):
    answer = {
        "id": 55001,
        "metric": 12345,
        "expected_value": 5,
        "feedback": "new",
        "explanation": [],
    }
    route = api.patch(REVIEW.format(id=55001)).respond(json=answer)
    review = await client.patch_review(55001, **fields)
    body = sent_json(only_request(route))
    assert body == expected
    assert request_errors("PATCH", REVIEW, body) == []
    assert isinstance(review, LabReview)
    assert (review.id, review.metric, review.expected_value) == (55001, 12345, 5)


# ---------------------------------------------------------------- re-evaluation


async def test_rerun_evaluation_sends_the_agent_and_the_ids(client, api):
    expected = fixtures()["rerun_evaluation_request"]
    answer = [detail_body(101), detail_body(102), detail_body(103)]
    assert response_errors("POST", RERUN, 200, answer) == []
    route = api.post(RERUN).respond(json=answer)
    calls = await client.rerun_evaluation(expected["call_logs"], agent_id=expected["agent_id"])
    body = sent_json(only_request(route))
    assert body == expected
    assert [e for e in request_errors("POST", RERUN, body) if e != RERUN_QUIRK] == []
    assert [c.id for c in calls] == [101, 102, 103]
    assert calls[0].result_for(102).verdict == 5
