"""Jobs take a number of progress reads (or seconds on an injected clock), pause, resume, cancel."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox import SandboxState, sandbox_client

pytestmark = pytest.mark.anyio

START = "/test_framework/metric-reviews/process_feedbacks/"
PROGRESS = "/test_framework/metric-reviews/process_feedbacks_progress/"
ANSWER = "/test_framework/metric-reviews/process_feedbacks_answer/"
CANCEL = "/test_framework/metric-reviews/process_feedbacks_cancel/"
RUN_PROGRESS = "/test_framework/v2/metrics/run_reviews_progress/"


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def start(client: httpx.AsyncClient, metric_id: int) -> str:
    return (await client.post(START, json={"metric_id": metric_id})).json()["progress_id"]


async def statuses(client: httpx.AsyncClient, progress_id: str, reads: int) -> list[str]:
    bodies = [
        (await client.get(PROGRESS, params={"progress_id": progress_id})).json()
        for _ in range(reads)
    ]
    return [b["status"] for b in bodies]


async def rescore(client: httpx.AsyncClient, metric_id: int, **body: Any) -> str:
    response = await client.post(f"/test_framework/v2/metrics/{metric_id}/run_reviews/", json=body)
    assert response.status_code == 200, response.text
    return response.json()["progress_id"]


async def run_progress(client: httpx.AsyncClient, progress_id: str) -> dict[str, Any]:
    return (await client.get(RUN_PROGRESS, params={"progress_id": progress_id})).json()


async def test_default_timing_is_two_reads_for_the_optimiser_and_one_for_rescoring() -> None:
    async with sandbox_client(SandboxState.seeded()) as client:
        progress_id = await start(client, 101)
        assert await statuses(client, progress_id, 4) == [
            "in_progress",
            "in_progress",
            "success",
            "success",
        ]
        run_id = await rescore(client, 101)
        running = await run_progress(client, run_id)
        done = await run_progress(client, run_id)
    assert running == {
        "status": "in_progress",
        "total": 7,
        "completed": 0,
        "failed": 0,
        "error": None,
        "metric": None,
    }
    assert done["status"] == "completed"


async def test_seconds_on_the_injected_clock_decide_when_a_run_ends() -> None:
    clock = ManualClock()
    state = SandboxState.seeded(optimiser_seconds=30.0, run_reviews_seconds=5.0, clock=clock)
    async with sandbox_client(state) as client:
        progress_id = await start(client, 105)
        run_id = await rescore(client, 105)
        assert await statuses(client, progress_id, 3) == ["in_progress"] * 3
        clock.now += 29.9
        assert await statuses(client, progress_id, 1) == ["in_progress"]
        assert (await run_progress(client, run_id))["status"] == "completed"
        clock.now += 0.1
        assert await statuses(client, progress_id, 1) == ["success"]


async def test_answering_resumes_the_run_which_runs_again_before_finishing() -> None:
    async with sandbox_client(SandboxState.seeded(optimiser_polls=1)) as client:
        progress_id = await start(client, 103)
        assert await statuses(client, progress_id, 3) == ["in_progress", "paused", "paused"]
        answered = await client.post(
            ANSWER, json={"progress_id": progress_id, "answers": {"q_1": "No"}}
        )
        assert answered.status_code == 200
        assert await statuses(client, progress_id, 2) == ["in_progress", "success"]
        output = (await client.get(PROGRESS, params={"progress_id": progress_id})).json()["output"]
    assert "transfer you to my supervisor" not in output["improved_metric_description"]


@pytest.mark.parametrize(
    ("answer", "adds_the_cue"),
    [
        ("Yes, 'transfer you to my supervisor' counts as a pass", True),
        ("yes", True),
        (0, True),
        ({"action": "answer", "answer": "YES please"}, True),
        ("No, leave 'transfer you to my supervisor' out", False),
        ({"action": "answer", "answer": "not sure"}, False),
        ({"action": "skip"}, False),
    ],
)
async def test_answers_choose_whether_the_disputed_cue_is_added(
    answer: Any, adds_the_cue: bool
) -> None:
    async with sandbox_client(SandboxState.seeded(optimiser_polls=0)) as client:
        progress_id = await start(client, 103)
        await statuses(client, progress_id, 1)
        await client.post(ANSWER, json={"progress_id": progress_id, "answers": {"q_1": answer}})
        body = (await client.get(PROGRESS, params={"progress_id": progress_id})).json()
    added = "transfer you to my supervisor" in body["output"]["improved_metric_description"]
    assert added is adds_the_cue


async def test_malformed_answers_are_400(
    client_state: tuple[httpx.AsyncClient, SandboxState],
) -> None:
    client, _ = client_state
    progress_id = await start(client, 103)
    await statuses(client, progress_id, 1)
    not_object = await client.post(ANSWER, json={"progress_id": progress_id, "answers": ["yes"]})
    bad_action = await client.post(
        ANSWER, json={"progress_id": progress_id, "answers": {"q_1": {"action": "maybe"}}}
    )
    missing = await client.post(ANSWER, json={"progress_id": progress_id})
    lost = await client.post(ANSWER, json={"progress_id": "nope", "answers": {}})
    assert not_object.status_code == bad_action.status_code == missing.status_code == 400
    assert list(bad_action.json()) == ["answers"]
    assert missing.json() == {"answers": ["This field is required."]}
    assert (lost.status_code, lost.json()) == (404, {"detail": "Not found."})
    assert await statuses(client, progress_id, 1) == ["paused"]


async def test_cancel_ends_a_run_and_cannot_undo_a_finished_one(
    client_state: tuple[httpx.AsyncClient, SandboxState],
) -> None:
    client, _ = client_state
    running = await start(client, 101)
    cancelled = await client.post(CANCEL, json={"progress_id": running})
    assert cancelled.json() == {"detail": "cancelled"}
    assert await statuses(client, running, 2) == ["cancelled", "cancelled"]
    finished = await start(client, 105)
    await statuses(client, finished, 1)
    late = await client.post(CANCEL, json={"progress_id": finished})
    assert (late.status_code, late.json()) == (
        400,
        {"non_field_errors": ["This optimization has already finished."]},
    )
    assert (await client.post(CANCEL, json={})).status_code == 400


async def test_rescoring_saves_results_and_the_overall_score(
    client_state: tuple[httpx.AsyncClient, SandboxState],
) -> None:
    client, state = client_state
    state.metric(101)["description"] += "\nCount 'sounds good' as agreement."
    body = await run_progress(client, await rescore(client, 101))
    assert body["metric"]["overall_score"] == state.metric(101)["overall_score"] == "5/6"
    stored = {r["id"]: r["actual_value"] for r in state.metric(101)["reviews"]}
    assert stored[10101] == stored[10106] == 5
    assert body["review_results"][0] == {
        "review_id": 10101,
        "test_set_id": 8011,
        "actual_value": 5,
        "explanation": ["Pass cue 'sounds good' found in the transcript."],
        "success": True,
        "error": None,
    }


async def test_skip_save_previews_the_overrides_without_persisting(
    client_state: tuple[httpx.AsyncClient, SandboxState],
) -> None:
    client, state = client_state
    description = state.metric(106)["description"] + "\nCount 'thanks for your help' as a PASS."
    run_id = await rescore(client, 106, description=description, skip_save=True)
    body = await run_progress(client, run_id)
    assert body["status"] == "completed"
    assert body["metric"]["overall_score"] == "4/8"
    assert body["metric"]["description"] == description
    preview = {r["review_id"]: r["actual_value"] for r in body["review_results"]}
    assert preview[10605] == 5
    assert state.metric(106)["overall_score"] == "6/8"
    assert state.metric(106)["description"] != description
    assert {r["id"]: r["actual_value"] for r in state.metric(106)["reviews"]}[10605] == 0


async def test_a_rescore_where_every_evaluation_errors_fails(
    client_state: tuple[httpx.AsyncClient, SandboxState],
) -> None:
    client, state = client_state
    run_id = await rescore(client, 105, type="custom_code", custom_code="def broken(:\n")
    body = await run_progress(client, run_id)
    assert body == {
        "status": "failed",
        "total": 4,
        "completed": 0,
        "failed": 4,
        "error": "Evaluation failed for all test sets",
        "metric": None,
    }
    assert state.metric(105)["overall_score"] == "4/4"


async def test_rescoring_validates_its_overrides(
    client_state: tuple[httpx.AsyncClient, SandboxState],
) -> None:
    client, _ = client_state
    bad = await client.post(
        "/test_framework/v2/metrics/101/run_reviews/",
        json={"evaluation_trigger": "Evaluate only bookings", "trigger_type": "regex"},
    )
    assert bad.status_code == 400
    assert set(bad.json()) == {"evaluation_trigger", "trigger_type"}
    missing = await client.get(RUN_PROGRESS)
    assert missing.json() == {"progress_id": ["This field is required."]}
    unknown = await client.get(RUN_PROGRESS, params={"progress_id": "nope"})
    assert unknown.status_code == 404


@pytest.fixture
async def client_state():
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0)
    async with sandbox_client(state) as client:
        yield client, state
