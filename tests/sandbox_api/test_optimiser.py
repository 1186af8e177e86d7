"""The seeded scenarios: what the optimiser proposes for each metric, and what applying it does.

Each test drives the sandbox over HTTP as a client would: start, poll, (answer), map the proposal
onto a PATCH (contract §4.4), re-score the whole Lab with run_reviews, and compare.
"""

from __future__ import annotations

import ast
from typing import Any

import httpx
import pytest

from sandbox import SandboxState

pytestmark = pytest.mark.anyio

START = "/test_framework/metric-reviews/process_feedbacks/"
PROGRESS = "/test_framework/metric-reviews/process_feedbacks_progress/"
ANSWER = "/test_framework/metric-reviews/process_feedbacks_answer/"


async def start(client: httpx.AsyncClient, metric_id: int, **extra: Any) -> str:
    response = await client.post(START, json={"metric_id": metric_id, **extra})
    assert response.status_code == 200, response.text
    return response.json()["progress_id"]


async def poll(client: httpx.AsyncClient, progress_id: str) -> dict[str, Any]:
    return (await client.get(PROGRESS, params={"progress_id": progress_id})).json()


async def proposal(client: httpx.AsyncClient, metric_id: int, **extra: Any) -> dict[str, Any]:
    body = await poll(client, await start(client, metric_id, **extra))
    assert body["status"] == "success", body
    return body["output"]


def patch_for(output: dict[str, Any]) -> dict[str, Any]:
    """The contract's §4.4 mapping of a proposal onto PATCH fields."""
    patch: dict[str, Any] = {"description": output["improved_metric_description"]}
    kind, trigger = output["improved_trigger_kind"], output["improved_evaluation_trigger"]
    if kind == "always":
        patch["evaluation_trigger"] = "always"
    elif kind == "llm_judge":
        patch.update(
            evaluation_trigger="custom", trigger_type="llm_judge", evaluation_trigger_prompt=trigger
        )
    else:
        patch.update(
            evaluation_trigger="custom",
            trigger_type="custom_code",
            evaluation_trigger_custom_code=trigger,
        )
    if output["custom_code"]:
        patch.update(custom_code=output["custom_code"], type="custom_code")
    return patch


async def rescore(client: httpx.AsyncClient, metric_id: int) -> dict[str, Any]:
    started = await client.post(f"/test_framework/v2/metrics/{metric_id}/run_reviews/", json={})
    body = (
        await client.get(
            "/test_framework/v2/metrics/run_reviews_progress/",
            params={"progress_id": started.json()["progress_id"]},
        )
    ).json()
    assert body["status"] == "completed", body
    return body["metric"]


async def apply_and_rescore(
    client: httpx.AsyncClient, metric_id: int, output: dict[str, Any]
) -> dict[str, Any]:
    patched = await client.patch(f"/test_framework/v2/metrics/{metric_id}/", json=patch_for(output))
    assert patched.status_code == 200, patched.text
    return await rescore(client, metric_id)


def flips(state: SandboxState, metric_id: int, output: dict[str, Any]) -> tuple[set[int], set[int]]:
    """(fixed, broken) review ids on the sample: stored verdict vs the proposal's review_results."""
    rows = {r["id"]: r for r in state.metric(metric_id)["reviews"]}
    fixed, broken = set(), set()
    for result in output["review_results"]:
        row = rows[result["review_id"]]
        before = row["actual_value"] == row["expected_value"]
        after = result["actual_value"] == row["expected_value"]
        if row["expected_value"] is not None and before != after:
            (fixed if after else broken).add(row["id"])
    return fixed, broken


def score(output: dict[str, Any], key: str) -> tuple[int, int]:
    return output[key]["num_correct"], output[key]["num_total"]


async def test_101_is_a_clean_improvement(client: httpx.AsyncClient, state: SandboxState) -> None:
    before = state.metric(101)["description"]
    output = await proposal(client, 101)
    assert (score(output, "old_score"), score(output, "new_score")) == ((2, 4), (4, 4))
    assert flips(state, 101, output) == ({10101, 10102}, set())
    assert output["improved_metric_description"].startswith(before)
    assert "'Sounds good'" in output["improved_metric_description"]
    assert (output["type"], output["custom_code"]) == ("llm_judge", "")
    assert output["improved_trigger_kind"] == "llm_judge"
    assert output["improved_evaluation_trigger"] == state.metric(101)["evaluation_trigger_prompt"]
    assert output["unresolved_samples"] == output["unauthorized_label_changes"] == []
    assert state.metric(101)["description"] == before, "the optimiser saves nothing"
    assert (await apply_and_rescore(client, 101, output))["overall_score"] == "6/6"
    assert state.metric(101)["overall_score"] == "6/6"


async def test_102_converts_to_custom_code_and_leaves_the_description_alone(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    output = await proposal(client, 102)
    assert output["improved_metric_description"] == state.metric(102)["description"]
    assert output["type"] == "custom_code" == output["meta_harness"]["type"]
    assert output["meta_harness"]["optimized_code"] == output["custom_code"]
    code = ast.parse(output["custom_code"])
    names = {node.id for node in ast.walk(code) if isinstance(node, ast.Name)}
    assert {"PASS_CUES", "FAIL_CUES", "_result", "_explanation"} <= names
    assert output["improved_trigger_kind"] == "custom_code"
    assert "TRIGGER_CUES" in output["improved_evaluation_trigger"]
    ast.parse(output["improved_evaluation_trigger"])
    assert (score(output, "old_score"), score(output, "new_score")) == ((2, 4), (4, 4))
    assert flips(state, 102, output)[1] == set()
    assert state.metric(102)["overall_score"] == "3/6"
    rescored = await apply_and_rescore(client, 102, output)
    assert rescored["overall_score"] == "6/6"
    assert (rescored["type"], rescored["trigger_type"]) == ("custom_code", "custom_code")


async def test_103_pauses_on_contradictory_labels_and_yes_fixes_both_rows(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    progress_id = await start(client, 103)
    paused = await poll(client, progress_id)
    assert paused["status"] == "paused"
    [question] = paused["questions"]
    assert question["kind"] == "contradictory_labels"
    assert "10301" in question["question"] and "10302" in question["question"]
    assert (question["review_id"], question["test_set_id"]) == (10301, 8031)
    assert len(question["options"]) == 2 and question["options"][0].startswith("Yes")
    answer = {"action": "answer", "answer": question["options"][0]}
    await client.post(
        ANSWER, json={"progress_id": progress_id, "answers": {question["id"]: answer}}
    )
    output = (await poll(client, progress_id))["output"]
    assert (score(output, "old_score"), score(output, "new_score")) == ((2, 4), (4, 4))
    assert flips(state, 103, output) == ({10301, 10302}, set())
    assert (await apply_and_rescore(client, 103, output))["overall_score"] == "6/6"


async def test_103_skipped_still_changes_something_without_regressing(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    progress_id = await start(client, 103)
    question = (await poll(client, progress_id))["questions"][0]
    skip = {question["id"]: {"action": "skip"}}
    await client.post(ANSWER, json={"progress_id": progress_id, "answers": skip})
    output = (await poll(client, progress_id))["output"]
    assert output["improved_metric_description"] != state.metric(103)["description"]
    assert "'the team has gone home'" in output["improved_metric_description"]
    assert "transfer you to my supervisor" not in output["improved_metric_description"]
    assert (score(output, "old_score"), score(output, "new_score")) == ((2, 4), (3, 4))
    assert flips(state, 103, output) == ({10302}, set())
    assert [u["review_id"] for u in output["unresolved_samples"]] == [10301]
    assert output["unresolved_samples"][0]["verdict"] == "prompt_limit"
    assert (await apply_and_rescore(client, 103, output))["overall_score"] == "5/6"


async def test_104_ties_on_the_sample_but_breaks_a_labelled_row(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    output = await proposal(client, 104)
    assert (score(output, "old_score"), score(output, "new_score")) == ((3, 4), (3, 4))
    assert flips(state, 104, output) == ({10401}, {10403})
    assert output["improved_trigger_kind"] == "custom_code"
    assert (
        output["improved_evaluation_trigger"] == state.metric(104)["evaluation_trigger_custom_code"]
    )
    assert output["unresolved_samples"] == []


async def test_105_without_feedback_proposes_no_changes(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    output = await proposal(client, 105)
    assert output["improved_metric_description"] == state.metric(105)["description"]
    assert (output["improved_trigger_kind"], output["improved_evaluation_trigger"]) == (
        "always",
        "always",
    )
    assert (output["custom_code"], output["type"]) == ("", "llm_judge")
    assert output["optimization_summary"].startswith("No changes proposed")
    assert (
        output["old_score"]
        == output["new_score"]
        == {"num_correct": 2, "num_total": 2, "score": 1.0}
    )


async def test_106_improves_the_sample_but_lowers_the_whole_lab(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    output = await proposal(client, 106)
    assert (score(output, "old_score"), score(output, "new_score")) == ((2, 4), (4, 4))
    assert flips(state, 106, output) == ({10601, 10602}, set())
    before = {
        r["id"]: r["actual_value"] == r["expected_value"] for r in state.metric(106)["reviews"]
    }
    rescored = await apply_and_rescore(client, 106, output)
    assert (state.metric(106)["overall_score"], rescored["overall_score"]) == ("5/8", "5/8")
    broken = {
        r["id"]
        for r in rescored["reviews"]
        if before[r["id"]] and r["actual_value"] != r["expected_value"]
    }
    assert broken == {10605, 10606, 10607}
    sampled = {r["review_id"] for r in output["review_results"]}
    assert broken.isdisjoint(sampled), "the breaks are all outside the optimiser's sample"


async def test_selected_test_sets_limit_the_rows_used(client: httpx.AsyncClient) -> None:
    output = await proposal(client, 101, test_set_ids=[8011, 8013])
    assert {r["review_id"] for r in output["review_results"]} == {10101, 10103}
    assert (score(output, "old_score"), score(output, "new_score")) == ((1, 2), (2, 2))
    assert "that works for me" not in output["improved_metric_description"]


async def test_a_lab_without_rows_ends_in_error(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.metric(105)["reviews"].clear()
    body = await poll(client, await start(client, 105))
    assert body == {
        "status": "error",
        "error": "No metric reviews with feedback found for this metric's Lab.",
    }


async def test_runs_are_deterministic_and_skip_evaluation_drops_review_results(
    client: httpx.AsyncClient,
) -> None:
    first, second = await proposal(client, 106), await proposal(client, 106)
    assert first == second
    skipped = await proposal(client, 106, skip_evaluation=True)
    assert skipped["review_results"] == []
    assert skipped["new_score"] == first["new_score"]


async def test_the_proposal_follows_the_live_configuration(client: httpx.AsyncClient) -> None:
    output = await proposal(client, 101)
    await client.patch("/test_framework/v2/metrics/101/", json=patch_for(output))
    again = await proposal(client, 101)
    assert again["optimization_summary"].startswith("No changes proposed")
    assert again["old_score"] == again["new_score"] == output["new_score"]
