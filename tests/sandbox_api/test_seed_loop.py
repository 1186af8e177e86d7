"""The seed of the Labs loop: production calls, votes and Labs that make each case of issue 10
happen with the sandbox's own optimiser and judge (read through the API, as a client would)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from sandbox import SandboxState
from sandbox.contract import JUDGE_FIELDS
from sandbox.judge import evaluate

pytestmark = pytest.mark.anyio

LIST = "/observability/v2/call-logs/"
METRIC = "/test_framework/v2/metrics/{}/"
START = "/test_framework/metric-reviews/process_feedbacks/"
PROGRESS = "/test_framework/metric-reviews/process_feedbacks_progress/"


async def recent_calls(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    rows = (await client.get(LIST, params={"agent_id": 11, "page_size": 200})).json()["results"]
    return [(await client.get(f"{LIST}{row['id']}/")).json() for row in rows]


def result(call: dict[str, Any], metric_id: int) -> dict[str, Any]:
    return next(m for m in call["evaluation"]["metrics"] if m["id"] == metric_id)


async def lab_call_ids(client: httpx.AsyncClient, metric_id: int) -> set[str]:
    reviews = (await client.get(METRIC.format(metric_id))).json()["reviews"]
    return {
        r["test_set"]["source_id"] for r in reviews if r["test_set"]["source_model"] == "CallLog"
    }


async def held_out(client: httpx.AsyncClient, metric_id: int) -> list[dict[str, Any]]:
    """Voted calls for the metric that are not in its Lab (the contract's definition)."""
    in_lab = await lab_call_ids(client, metric_id)
    return [
        c
        for c in await recent_calls(client)
        if result(c, metric_id)["expected_value"] is not None and str(c["id"]) not in in_lab
    ]


async def proposal(client: httpx.AsyncClient, metric_id: int) -> dict[str, Any]:
    progress_id = (await client.post(START, json={"metric_id": metric_id})).json()["progress_id"]
    body = (await client.get(PROGRESS, params={"progress_id": progress_id})).json()
    assert body["status"] == "success"
    return body["output"]


async def preview_scores(
    client: httpx.AsyncClient, metric_id: int, description: str, ids: list[int]
) -> list[Any]:
    metric = (await client.get(METRIC.format(metric_id))).json()
    draft = {k: metric[k] for k in ("name", "type", "eval_type", *JUDGE_FIELDS)}
    body = {"metric_data": {**draft, "description": description}, "call_log_ids": ids}
    progress_id = (await client.post("/test_framework/v2/metrics/preview/", json=body)).json()[
        "progress_id"
    ]
    done = (
        await client.get(
            "/test_framework/v2/metrics/preview-progress/", params={"progress_id": progress_id}
        )
    ).json()
    assert done["status"] == "completed"
    return [r["score"] for r in done["results"]]


def correct(verdicts: list[Any], calls: list[dict[str, Any]], metric_id: int) -> int:
    return sum(
        v == result(c, metric_id)["expected_value"] for v, c in zip(verdicts, calls, strict=True)
    )


@pytest.fixture
def state() -> SandboxState:
    return SandboxState.seeded(optimiser_polls=0, preview_polls=0)


async def test_agent_11_has_38_recent_calls_each_judged_by_every_assigned_metric(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    calls = await recent_calls(client)
    assert len(calls) == 38
    for call in calls:
        assert [m["id"] for m in call["evaluation"]["metrics"]] == list(range(101, 111))
        for metric_id in range(101, 111):
            config = {k: state.metric(metric_id).get(k) for k in JUDGE_FIELDS}
            assert (
                result(call, metric_id)["score"]
                == evaluate(config, call["transcript"]).actual_value
            )


async def test_every_lab_row_comes_from_a_call_log_with_its_transcript(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    for metric_id in range(101, 111):
        for review in (await client.get(METRIC.format(metric_id))).json()["reviews"]:
            call = await client.get(f"{LIST}{review['test_set']['source_id']}/")
            assert call.status_code == 200
            assert call.json()["transcript"] == review["test_set"]["transcript"]


async def test_votes_sit_only_on_107_and_108_and_each_has_a_disagreement(
    client: httpx.AsyncClient,
) -> None:
    votes: dict[int, list[tuple[Any, Any]]] = {}
    for call in await recent_calls(client):
        for item in call["evaluation"]["metrics"]:
            if item["expected_value"] is not None:
                votes.setdefault(item["id"], []).append((item["score"], item["expected_value"]))
                assert item["thumbs_up"] is (item["score"] == item["expected_value"])
    assert set(votes) == {107, 108}
    assert all(any(score != label for score, label in pairs) for pairs in votes.values())
    for metric_id in (101, 102, 103, 104, 105, 106, 109, 110):
        assert await held_out(client, metric_id) == []


async def test_107_proposal_is_better_on_its_lab_and_on_held_out_calls(
    client: httpx.AsyncClient,
) -> None:
    output = await proposal(client, 107)
    assert (output["old_score"]["num_correct"], output["new_score"]["num_correct"]) == (2, 4)
    calls = await held_out(client, 107)
    assert len(calls) == 6, "107's two voted Lab calls are not held out"
    live = [result(c, 107)["score"] for c in calls]
    proposed = await preview_scores(
        client, 107, output["improved_metric_description"], [c["id"] for c in calls]
    )
    assert (correct(live, calls, 107), correct(proposed, calls, 107)) == (3, 6)


async def test_108_proposal_is_better_on_its_lab_and_worse_on_held_out_calls(
    client: httpx.AsyncClient,
) -> None:
    output = await proposal(client, 108)
    assert "'that's fine'" in output["improved_metric_description"]
    assert (output["old_score"]["num_correct"], output["new_score"]["num_correct"]) == (2, 4)
    calls = await held_out(client, 108)
    live = [result(c, 108)["score"] for c in calls]
    proposed = await preview_scores(
        client, 108, output["improved_metric_description"], [c["id"] for c in calls]
    )
    assert (correct(live, calls, 108), correct(proposed, calls, 108)) == (5, 2)


async def test_110_proposal_copies_eight_or_more_words_of_a_lab_transcript(
    client: httpx.AsyncClient,
) -> None:
    output = await proposal(client, 110)

    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())

    proposed = words(output["improved_metric_description"])
    spans = {tuple(proposed[i : i + 8]) for i in range(len(proposed) - 7)}
    reviews = (await client.get(METRIC.format(110))).json()["reviews"]
    copied = [
        r["id"]
        for r in reviews
        if any(
            tuple(w[i : i + 8]) in spans
            for w in [words(r["test_set"]["transcript"])]
            for i in range(len(w) - 7)
        )
    ]
    assert copied == [11001]
    assert "made a note of your complaint" in output["improved_metric_description"]


async def test_109_is_two_labels_short_and_its_newest_calls_are_the_ones_to_label(
    client: httpx.AsyncClient,
) -> None:
    reviews = (await client.get(METRIC.format(109))).json()["reviews"]
    assert sum(r["expected_value"] is not None for r in reviews) == 4
    in_lab = await lab_call_ids(client, 109)
    calls = await recent_calls(client)
    wrong = [c["id"] for c in calls[:3]]
    assert wrong == [3360015, 3360014, 3360013]
    for call in calls[:3]:
        assert str(call["id"]) not in in_lab
        assert (result(call, 109)["score"], result(call, 109)["expected_value"]) == (0, None)
    for call_id in wrong[:2]:
        body = {
            "call_log_id": call_id,
            "metrics": [
                {
                    "metric": 109,
                    "feedback": "At 00:06 the agent said 'your confirmation code is'; pass.",
                    "expected_value": 5,
                }
            ],
        }
        assert (
            await client.post("/test_framework/test-sets/create_from_call_log/", json=body)
        ).status_code == 200
    reviews = (await client.get(METRIC.format(109))).json()["reviews"]
    assert sum(r["expected_value"] is not None for r in reviews) == 6


async def test_103_has_six_labelled_rows_and_105_stays_at_four(client: httpx.AsyncClient) -> None:
    for metric_id, labelled, with_feedback in ((103, 6, 2), (105, 4, 0)):
        reviews = (await client.get(METRIC.format(metric_id))).json()["reviews"]
        assert sum(r["expected_value"] is not None for r in reviews) == labelled
        assert sum(bool(r["feedback"].strip()) for r in reviews) == with_feedback
