"""Lab rows from calls: create_from_call_log (idempotent per call log, bare ids crash) and the
review PATCH."""

from __future__ import annotations

import httpx
import pytest

from sandbox import SandboxState

pytestmark = pytest.mark.anyio

FROM_CALL = "/test_framework/test-sets/create_from_call_log/"
UNVOTED_109 = 3360015  # 109's live result fails it; a person would pass it
LAB_107_CALL = 3359071  # the call behind 107's first Lab row
NOTE = "At 00:07 the agent said 'your confirmation code is' and read it out; this should pass."


def rows_for_call(state: SandboxState, metric_id: int, call_log_id: int) -> list[dict]:
    return [
        r
        for r in state.metric(metric_id)["reviews"]
        if r["test_set"]["source_id"] == str(call_log_id)
    ]


async def test_a_call_becomes_a_lab_row_with_its_label_note_and_stored_result(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    body = {
        "call_log_id": UNVOTED_109,
        "metrics": [{"metric": 109, "feedback": NOTE, "expected_value": 5}],
    }
    response = await client.post(FROM_CALL, json=body)
    assert response.status_code == 200
    test_set = response.json()
    call = state.call_log(UNVOTED_109)
    assert (test_set["source_model"], test_set["source_id"], test_set["name"]) == (
        "CallLog",
        str(UNVOTED_109),
        str(UNVOTED_109),
    )
    assert (test_set["transcript"], test_set["agent"]) == (call["transcript"], 11)
    assert test_set["transcript_object"][1]["content"] == "I'd like an appointment for my knee."
    [row] = test_set["metric_reviews"]
    assert (row["metric"], row["expected_value"], row["feedback"]) == (109, 5, NOTE)
    assert row["explanation"] == ["No pass cue found in the transcript."]
    [stored] = rows_for_call(state, 109, UNVOTED_109)
    assert (stored["id"], stored["actual_value"]) == (row["id"], 0), "the call's result is copied"
    detail = (await client.get("/test_framework/v2/metrics/109/")).json()
    assert [r["test_set"]["id"] for r in detail["reviews"]][-1] == test_set["id"]
    assert sum(r["expected_value"] is not None for r in detail["reviews"]) == 5


async def test_a_second_call_returns_the_same_test_set_and_leaves_rows_as_they_were(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    first = await client.post(
        FROM_CALL,
        json={
            "call_log_id": UNVOTED_109,
            "metrics": [{"metric": 109, "feedback": NOTE, "expected_value": 5}],
        },
    )
    again = await client.post(
        FROM_CALL,
        json={
            "call_log_id": UNVOTED_109,
            "name": "renamed",
            "metrics": [
                {"metric": 109, "feedback": "changed my mind", "expected_value": 0},
                {"metric": 101, "feedback": "", "expected_value": 0},
            ],
        },
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["name"] == str(UNVOTED_109)
    by_metric = {r["metric"]: r for r in again.json()["metric_reviews"]}
    assert (by_metric[109]["expected_value"], by_metric[109]["feedback"]) == (5, NOTE)
    assert (by_metric[101]["expected_value"], by_metric[101]["feedback"]) == (0, "")
    assert len(rows_for_call(state, 109, UNVOTED_109)) == 1
    assert len(rows_for_call(state, 101, UNVOTED_109)) == 1
    third = await client.post(
        FROM_CALL, json={"call_log_id": UNVOTED_109, "metrics": [{"metric": 109}]}
    )
    assert third.json() == again.json()


async def test_a_seeded_lab_call_reuses_its_test_set_for_another_metric(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    seeded = rows_for_call(state, 107, LAB_107_CALL)[0]["test_set"]["id"]
    response = await client.post(
        FROM_CALL, json={"call_log_id": LAB_107_CALL, "metrics": [{"metric": 107}, {"metric": 110}]}
    )
    assert response.json()["id"] == seeded
    assert [r["metric"] for r in response.json()["metric_reviews"]] == [107, 110]
    assert rows_for_call(state, 107, LAB_107_CALL)[0]["expected_value"] == 5


async def test_bare_metric_ids_crash_with_a_500_and_add_nothing(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    before = len(state.metric(109)["reviews"])
    response = await client.post(FROM_CALL, json={"call_log_id": UNVOTED_109, "metrics": [109]})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Server Error (500)" in response.text
    assert len(state.metric(109)["reviews"]) == before
    assert state.count("create_from_call_log", effective=True) == 0


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {},
            400,
            {"call_log_id": ["This field is required."], "metrics": ["This field is required."]},
        ),
        ({"call_log_id": 424242, "metrics": [{"metric": 109}]}, 404, {"detail": "Not found."}),
        (
            {"call_log_id": UNVOTED_109, "metrics": [{"metric": 109}, {"feedback": "x"}]},
            400,
            {"metrics": [{}, {"metric": ["This field is required."]}]},
        ),
        (
            {"call_log_id": UNVOTED_109, "metrics": [{"metric": 999}]},
            400,
            {"metrics": [{"metric": ['Invalid pk "999" - object does not exist.']}]},
        ),
        (
            {"call_log_id": UNVOTED_109, "metrics": [{"metric": 109, "feedback": None}]},
            400,
            {"metrics": [{"feedback": ["This field may not be null."]}]},
        ),
        (
            {"call_log_id": UNVOTED_109, "metrics": []},
            400,
            {"metrics": ["This list may not be empty."]},
        ),
        (
            {"call_log_id": UNVOTED_109, "project": 2, "metrics": [{"metric": 109}]},
            400,
            {"project": ["The call log does not belong to this project."]},
        ),
    ],
)
async def test_bad_bodies_add_nothing(
    client: httpx.AsyncClient, state: SandboxState, body: dict, status: int, error: dict
) -> None:
    before = {m: len(state.metric(m)["reviews"]) for m in state.metrics}
    response = await client.post(FROM_CALL, json=body)
    assert (response.status_code, response.json()) == (status, error)
    assert {m: len(state.metric(m)["reviews"]) for m in state.metrics} == before


async def test_the_review_patch_edits_label_and_note(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    response = await client.patch(
        "/test_framework/metric-reviews/10903/", json={"expected_value": 0, "feedback": NOTE}
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": 10903,
        "metric": 109,
        "metric_name": "Booking Reference Given",
        "metric_enum_values": [],
        "eval_type": "binary",
        "expected_value": 0,
        "explanation": ["Pass cue 'your reference is' found in the transcript."],
        "feedback": NOTE,
        "metric_function_name": "",
        "metric_vocera_defined_metric_code": "",
    }
    row = next(r for r in state.metric(109)["reviews"] if r["id"] == 10903)
    assert (row["expected_value"], row["feedback"], row["actual_value"]) == (0, NOTE, 5)
    only_note = await client.patch("/test_framework/metric-reviews/10903/", json={"feedback": ""})
    assert (only_note.json()["expected_value"], only_note.json()["feedback"]) == (0, "")


async def test_the_review_patch_refuses_what_it_cannot_do(client: httpx.AsyncClient) -> None:
    unknown = await client.patch("/test_framework/metric-reviews/99/", json={"feedback": "x"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not found."})
    null = await client.patch("/test_framework/metric-reviews/10903/", json={"feedback": None})
    assert (null.status_code, null.json()) == (400, {"feedback": ["This field may not be null."]})
    listed = await client.get("/test_framework/metric-reviews/10903/")
    assert (listed.status_code, listed.json()) == (405, {"detail": 'Method "GET" not allowed.'})
