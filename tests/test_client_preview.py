"""The metric preview (contract §12.8): the request it sends, and how its undocumented progress
body is read in every shape §12.8 says a client must tolerate."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import respx

from openapi_schemas import request_errors
from tools.cekura import CekuraClient, CekuraMalformedResponse, parse_preview_progress

BASE = "https://cekura.example.test"
PREVIEW = "/test_framework/v2/metrics/preview/"
PROGRESS = "/test_framework/v2/metrics/preview-progress/"

DRAFT = {
    "name": "Appointment Booked",
    "type": "llm_judge",
    "eval_type": "binary",
    "description": "Pass when the caller agrees to a slot, including 'sounds good'.",
    "evaluation_trigger": "custom",
    "trigger_type": "llm_judge",
    "evaluation_trigger_prompt": "Evaluate only if a slot was offered.",
}


@pytest_asyncio.fixture
async def client() -> AsyncIterator[CekuraClient]:
    async with CekuraClient("ck_preview_key_14142", BASE) as c:
        yield c


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        yield router


# ---------------------------------------------------------------- requests


@pytest.mark.asyncio
async def test_preview_sends_the_draft_and_the_call_logs(client, api):
    route = api.post(PREVIEW).respond(json={"progress_id": "pv-1"})
    progress_id = await client.preview_metric(DRAFT, [7, 8, 9], agent_id=11)
    assert route.call_count == 1
    body = json.loads(route.calls.last.request.content)
    assert body == {"metric_data": DRAFT, "call_log_ids": [7, 8, 9], "agent_id": 11}
    assert request_errors("POST", PREVIEW, body) == []
    assert progress_id == "pv-1"


@pytest.mark.asyncio
async def test_preview_of_ten_calls_leaves_out_unset_fields(client, api):
    route = api.post(PREVIEW).respond(json={"job_id": "j-2"})
    draft = {**DRAFT, "custom_code": None, "enum_values": None}
    progress_id = await client.preview_metric(draft, list(range(1, 11)), project_id=1)
    body = json.loads(route.calls.last.request.content)
    assert body == {"metric_data": DRAFT, "call_log_ids": list(range(1, 11)), "project_id": 1}
    assert request_errors("POST", PREVIEW, body) == []
    assert progress_id == "j-2"  # job_id accepted as a fallback (§11.20)


@pytest.mark.asyncio
async def test_preview_progress_request_and_parse(client, api):
    route = api.get(PROGRESS).respond(
        json={"status": "completed", "results": [{"call_log_id": 7, "score": 5}]}
    )
    progress = await client.get_preview_progress("pv-1")
    assert dict(route.calls.last.request.url.params) == {"progress_id": "pv-1"}
    assert progress.state == "succeeded"
    assert [(item.call_log_id, item.verdict) for item in progress.results] == [(7, 5)]


@pytest.mark.asyncio
async def test_unreadable_preview_progress_names_the_call(client, api):
    api.get(PROGRESS).respond(json={"status": "completed", "results": ["7: pass"]})
    with pytest.raises(CekuraMalformedResponse) as caught:
        await client.get_preview_progress("pv-1")
    assert PROGRESS in str(caught.value) and "preview result 1 is not an object" in str(
        caught.value
    )


# ---------------------------------------------------------------- progress: status


@pytest.mark.parametrize(
    "status", ["completed", "complete", "success", "succeeded", "done", "finished", " COMPLETED "]
)
def test_finished_statuses(status):
    progress = parse_preview_progress({"status": status, "results": []})
    assert progress.state == "succeeded"
    assert progress.raw_status == status.strip()


@pytest.mark.parametrize("status", ["failed", "error", "failure", "cancelled", "revoked"])
def test_failed_statuses_carry_a_reason(status):
    progress = parse_preview_progress({"status": status})
    assert progress.state == "failed"
    assert progress.error == f"preview {status}"


def test_failure_message_is_cekuras_own():
    progress = parse_preview_progress({"status": "failed", "error": {"message": "Metric invalid"}})
    assert progress.error == "Metric invalid"


@pytest.mark.parametrize("status", ["in_progress", "pending", "queued", "running", "reticulating"])
def test_unknown_and_in_flight_statuses_are_running(status):
    progress = parse_preview_progress({"status": status, "total": 3, "completed": 1})
    assert progress.state == "running"
    assert (progress.total, progress.completed, progress.failed) == (3, 1, None)


def test_counts_under_their_other_names():
    body = {"status": "in_progress", "total_count": 4, "completed_count": 2, "failed_count": 1}
    progress = parse_preview_progress(body)
    assert (progress.total, progress.completed, progress.failed) == (4, 2, 1)


def test_no_status_with_every_result_is_finished():
    body = {"total": 2, "results": [{"call_log_id": 7, "score": 5}, {"call_log_id": 8, "score": 0}]}
    assert parse_preview_progress(body).state == "succeeded"


def test_no_status_with_some_results_still_running():
    body = {"total": 3, "results": [{"call_log_id": 7, "score": 5}]}
    assert parse_preview_progress(body).state == "running"


def test_no_status_and_no_results_is_running():
    assert parse_preview_progress({}).state == "running"


# ---------------------------------------------------------------- progress: results


def verdicts(body: dict[str, Any]) -> list[tuple[int | None, Any]]:
    return [(item.call_log_id, item.verdict) for item in parse_preview_progress(body).results]


def test_results_as_a_list_with_call_log_ids():
    body = {
        "status": "completed",
        "results": [
            {"call_log_id": 7, "score": 5.0, "explanation": ["Caller agreed at 00:09"]},
            {"call_log_id": 8, "score": None, "extra": {"trigger_failed": True}},
        ],
    }
    assert verdicts(body) == [(7, 5), (8, None)]
    first, second = parse_preview_progress(body).results
    assert first.explanation == ["Caller agreed at 00:09"]
    assert second.extra == {"trigger_failed": True}


def test_results_as_a_list_with_the_id_under_id():
    body = {"status": "completed", "results": [{"id": 7, "score": 0}, {"id": "8", "score": 5}]}
    assert verdicts(body) == [(7, 0), (8, 5)]


def test_results_as_a_dict_keyed_by_call_log_id():
    # An item's own `id` may be the metric's (as on evaluation items): the key names the call.
    body = {
        "status": "completed",
        "results": {"7": {"id": 101, "score": 5}, "8": {"id": 101, "score": 0}},
    }
    assert verdicts(body) == [(7, 5), (8, 0)]


def test_call_log_id_on_the_item_wins_over_the_key():
    body = {"status": "completed", "results": {"a": {"call_log_id": 9, "score": 5}}}
    assert verdicts(body) == [(9, 5)]


def test_results_under_an_output_envelope():
    assert verdicts(
        {"status": "success", "output": {"results": [{"call_log_id": 7, "score": 0}]}}
    ) == [(7, 0)]
    assert verdicts({"status": "success", "output": [{"call_log_id": 8, "score": 5}]}) == [(8, 5)]


def test_enum_and_value_results():
    body = {
        "status": "completed",
        "results": [
            {"call_log_id": 7, "score": None, "enum": "polite", "value": ""},
            {"call_log_id": 8, "score": "", "enum": "", "value": "3"},
            {"call_log_id": 9, "score": "5"},
        ],
    }
    assert verdicts(body) == [(7, "polite"), (8, "3"), (9, 5)]


def test_per_item_errors():
    body = {
        "status": "completed",
        "failed": 3,
        "results": [
            {"call_log_id": 7, "error": "Transcript missing"},
            {"call_log_id": 8, "error": {"detail": "Judge timed out"}},
            {"call_log_id": 9, "status": "failed"},
            {"call_log_id": 10, "score": 5, "error": None},
        ],
    }
    progress = parse_preview_progress(body)
    assert progress.state == "succeeded" and progress.failed == 3
    assert [item.error for item in progress.results] == [
        "Transcript missing",
        "Judge timed out",
        "evaluation failed",
        None,
    ]
    assert all(item.verdict is None for item in progress.results[:3])


def test_extra_keys_are_kept():
    body = {"status": "completed", "results": [{"call_log_id": 7, "score": 5, "run_time": 1.2}]}
    assert parse_preview_progress(body).results[0].run_time == 1.2


def test_odd_item_fields_are_tolerated():
    body = {
        "status": "completed",
        "results": [
            {"call_log_id": 7, "extra": 1, "error": 2, "value": 3},
            {"call_log_id": 8, "score": 5, "explanation": {"a": 1}},
        ],
    }
    first, second = parse_preview_progress(body).results
    assert (first.extra, first.error, first.verdict) == ({}, "2", 3)
    assert second.explanation == ['{"a": 1}']


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([{"call_log_id": 7}], "expected a JSON object"),
        ({"status": "completed", "results": "7,8"}, "not a list or object"),
        ({"status": "completed", "results": [7]}, "preview result 1 is not an object"),
    ],
    ids=["body a list", "results a string", "item not an object"],
)
def test_unreadable_bodies(body, problem):
    with pytest.raises(CekuraMalformedResponse, match=problem):
        parse_preview_progress(body)
