"""The metric preview judges an inline draft on up to 10 call logs and saves nothing."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from sandbox import SandboxState
from sandbox.contract import JUDGE_FIELDS
from sandbox.judge import evaluate

pytestmark = pytest.mark.anyio

START = "/test_framework/v2/metrics/preview/"
PROGRESS = "/test_framework/v2/metrics/preview-progress/"
HELD_OUT_107 = [3360001, 3360002, 3360003, 3360004, 3360005, 3360006]
DRAFT = {
    "name": "Callback Arranged",
    "type": "llm_judge",
    "eval_type": "binary",
    "description": "PASS when the agent says 'ring you back' or 'someone will call you'.",
}


async def preview(
    client: httpx.AsyncClient, body: dict[str, Any], reads: int = 1
) -> list[dict[str, Any]]:
    started = await client.post(START, json=body)
    assert started.status_code == 200, started.text
    progress_id = started.json()["progress_id"]
    return [
        (await client.get(PROGRESS, params={"progress_id": progress_id})).json()
        for _ in range(reads)
    ]


async def test_the_draft_is_judged_on_each_call_and_nothing_changes(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.preview_polls = 2
    before = (copy.deepcopy(state.metrics), copy.deepcopy(state.calls.calls))
    bodies = await preview(client, {"metric_data": DRAFT, "call_log_ids": HELD_OUT_107}, reads=3)
    assert [b["status"] for b in bodies] == ["in_progress", "in_progress", "completed"]
    assert bodies[0] == {
        "status": "in_progress",
        "total": 6,
        "completed": 0,
        "failed": 0,
        "error": None,
        "results": [],
    }
    done = bodies[-1]
    assert (done["total"], done["completed"], done["failed"], done["error"]) == (6, 6, 0, None)
    assert [r["call_log_id"] for r in done["results"]] == HELD_OUT_107
    assert [r["score"] for r in done["results"]] == [5, 0, 0, 5, 0, 5]
    assert done["results"][0]["explanation"] == [
        "Pass cue 'ring you back' found in the transcript."
    ]
    assert all(r["error"] is None and r["extra"] == {} for r in done["results"])
    assert (state.metrics, state.calls.calls) == before
    assert state.credits_used == 0
    again = await client.get(PROGRESS, params={"progress_id": next(iter(state.preview_jobs))})
    assert again.json() == done


async def test_the_live_configuration_previews_as_its_stored_results(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.preview_polls = 0
    metric = state.metric(108)
    draft = {k: metric[k] for k in ("name", "type", "eval_type", "enum_values", *JUDGE_FIELDS)}
    ids = [3360007, 3360008, 3360011, 3359081, 3360001]
    [done] = await preview(client, {"metric_data": draft, "call_log_ids": ids, "agent_id": 11})
    stored = [
        next(m for m in state.call_log(i)["evaluation"]["metrics"] if m["id"] == 108)["score"]
        for i in ids
    ]
    assert [r["score"] for r in done["results"]] == stored == [0, 0, 0, 0, None]
    assert done["results"][-1]["extra"] == {"trigger_failed": True}


async def test_unreadable_custom_code_fails_every_item(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.preview_polls = 0
    draft = {**DRAFT, "type": "custom_code", "custom_code": "def broken(:"}
    [done] = await preview(client, {"metric_data": draft, "call_log_ids": HELD_OUT_107[:2]})
    assert (done["status"], done["failed"], done["error"]) == (
        "failed",
        2,
        "Evaluation failed for all call logs",
    )
    assert all(r["score"] is None and "does not parse" in r["error"] for r in done["results"])
    expected = evaluate({**dict.fromkeys(JUDGE_FIELDS, ""), **draft}, "").error
    assert done["results"][0]["error"] == expected


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"call_log_ids": [3360001]}, {"metric_data": ["This field is required."]}),
        (
            {"metric_data": {"description": "x"}, "call_log_ids": [3360001]},
            {
                "metric_data": {
                    "name": ["This field is required."],
                    "type": ["This field is required."],
                    "eval_type": ["This field is required."],
                }
            },
        ),
        (
            {"metric_data": {**DRAFT, "evaluation_trigger": "sometimes"}, "call_log_ids": [1]},
            {"metric_data": {"evaluation_trigger": ['"sometimes" is not a valid choice.']}},
        ),
        (
            {"metric_data": DRAFT},
            {"non_field_errors": ["Either call_log_ids or run_ids must be provided."]},
        ),
        (
            {"metric_data": DRAFT, "call_log_ids": []},
            {"call_log_ids": ["Ensure this field has at least 1 elements."]},
        ),
        (
            {"metric_data": DRAFT, "call_log_ids": list(range(3360001, 3360012))},
            {"call_log_ids": ["Ensure this field has no more than 10 elements."]},
        ),
        (
            {"metric_data": DRAFT, "call_log_ids": [3360001, 424242]},
            {"call_log_ids": ["Call logs not found: 424242."]},
        ),
        (
            {"metric_data": DRAFT, "call_log_ids": [3360001], "agent_id": 12},
            {"call_log_ids": ["Call logs not found: 3360001."]},
        ),
        ({"metric_data": DRAFT, "run_ids": [77]}, {"run_ids": ["Runs not found: 77."]}),
    ],
)
async def test_bad_previews_are_400_and_start_nothing(
    client: httpx.AsyncClient, state: SandboxState, body: dict, error: dict
) -> None:
    response = await client.post(START, json=body)
    assert (response.status_code, response.json()) == (400, error)
    assert state.preview_jobs == {}


async def test_progress_needs_a_known_id(client: httpx.AsyncClient) -> None:
    missing = await client.get(PROGRESS)
    assert (missing.status_code, missing.json()) == (
        400,
        {"progress_id": ["This field is required."]},
    )
    unknown = await client.get(PROGRESS, params={"progress_id": "nope"})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not found."})


async def test_legacy_binary_eval_types_are_accepted(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.preview_polls = 0
    draft = {**DRAFT, "eval_type": "binary_qualitative"}
    [done] = await preview(client, {"metric_data": draft, "call_log_ids": [3360001]})
    assert done["status"] == "completed"
