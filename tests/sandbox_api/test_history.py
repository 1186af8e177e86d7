"""Metric writes leave history (PATCH, restore, proposal apply add `~` rows); restore rolls back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sandbox import SandboxState, sandbox_client

pytestmark = pytest.mark.anyio

BASE = "http://sandbox.cekura.test"
PENDING = {
    "description": "Pass when the caller agrees to a slot, e.g. 'sounds good'.",
    "evaluation_trigger": "Evaluate only if the caller wants to 'book' an appointment.",
    "type": "llm_judge",
    "custom_code": "",
    "score": 1.0,
    "baseline_score": 0.5,
    "cron_job_id": 42,
    "cron_job_name": "Weekly metric optimiser",
    "proposed_at": "2026-08-17T16:00:07Z",
}


@pytest.fixture
def state() -> SandboxState:
    return SandboxState.seeded()


@pytest.fixture
async def client(state: SandboxState) -> AsyncIterator[httpx.AsyncClient]:
    async with sandbox_client(state, base_url=BASE) as c:
        yield c


async def history(client: httpx.AsyncClient, metric_id: int, **params: int) -> dict:
    response = await client.get(f"/test_framework/v2/metrics/{metric_id}/history/", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_each_metric_starts_with_one_created_row(client: httpx.AsyncClient) -> None:
    ids = []
    for metric_id in range(101, 107):
        page = await history(client, metric_id)
        assert page["count"] == 1
        [row] = page["results"]
        assert (row["history_type"], row["id"]) == ("+", metric_id)
        ids.append(row["history_id"])
    assert ids == list(range(900001, 900007))


async def test_a_patch_appends_a_changed_row_newest_first(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    original = state.metric(101)["description"]
    response = await client.patch(
        "/test_framework/v2/metrics/101/", json={"description": "Booked and agreed."}
    )
    assert response.json()["description"] == "Booked and agreed."
    rows = (await history(client, 101))["results"]
    assert [r["history_type"] for r in rows] == ["~", "+"]
    assert rows[0]["history_id"] > rows[1]["history_id"] >= 900001
    assert rows[0]["description"] == "Booked and agreed."
    assert rows[1]["description"] == original
    assert "metric_description_program" not in rows[0]


async def test_a_patch_ignores_read_only_fields(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    response = await client.patch(
        "/test_framework/v2/metrics/101/",
        json={"overall_score": "9/9", "id": 5, "reviews": [], "name": "Booking"},
    )
    body = response.json()
    assert (body["id"], body["overall_score"], body["name"]) == (101, "3/6", "Booking")
    assert len(body["reviews"]) == 7


async def test_deprecated_types_are_refused_as_new_values(client: httpx.AsyncClient) -> None:
    refused = await client.patch("/test_framework/v2/metrics/101/", json={"type": "basic"})
    assert refused.status_code == 400
    assert list(refused.json()) == ["type"]
    same = await client.patch("/test_framework/v2/metrics/101/", json={"type": "llm_judge"})
    assert same.status_code == 200


async def test_history_pages_link_with_absolute_urls(client: httpx.AsyncClient) -> None:
    for n in range(4):
        await client.patch("/test_framework/v2/metrics/102/", json={"description": f"v{n}"})
    first = await history(client, 102, page_size=2)
    assert first["count"] == 5
    assert [r["description"] for r in first["results"]] == ["v3", "v2"]
    assert first["previous"] is None
    assert first["next"] == f"{BASE}/test_framework/v2/metrics/102/history/?page_size=2&page=2"
    second = (await client.get(first["next"])).json()
    assert [r["description"] for r in second["results"]] == ["v1", "v0"]
    assert second["previous"] == f"{BASE}/test_framework/v2/metrics/102/history/?page_size=2"
    third = (await client.get(second["next"])).json()
    assert (third["next"], len(third["results"])) == (None, 1)
    assert third["results"][0]["history_type"] == "+"
    beyond = await client.get(
        "/test_framework/v2/metrics/102/history/", params={"page": 4, "page_size": 2}
    )
    assert (beyond.status_code, beyond.json()) == (404, {"detail": "Invalid page."})


async def test_naming_a_version(client: httpx.AsyncClient) -> None:
    row_id = (await history(client, 103))["results"][0]["history_id"]
    url = "/test_framework/v2/metrics/103/history/edit/"
    named = await client.patch(url, json={"history_id": row_id, "version_name": "pre-optimiser"})
    assert (named.status_code, named.json()["version_name"]) == (200, "pre-optimiser")
    assert (await history(client, 103))["results"][0]["version_name"] == "pre-optimiser"
    missing = await client.patch(url, json={"version_name": "x"})
    assert missing.json() == {"history_id": ["This field is required."]}
    other_metric = await client.patch(url, json={"history_id": 900001, "version_name": "x"})
    assert (other_metric.status_code, other_metric.json()) == (404, {"detail": "Not found."})


async def test_restore_copies_the_snapshot_back_and_appends_a_row(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    original = dict(state.metric(104))
    created = (await history(client, 104))["results"][0]["history_id"]
    await client.patch(
        "/test_framework/v2/metrics/104/",
        json={
            "description": "Anything goes.",
            "evaluation_trigger": "always",
            "metric_description_program": {"kind": "gepa"},
        },
    )
    restored = await client.post(
        "/test_framework/v2/metrics/104/restore/", json={"history_id": created}
    )
    body = restored.json()
    assert restored.status_code == 200
    assert (body["description"], body["evaluation_trigger"]) == (
        original["description"],
        original["evaluation_trigger"],
    )
    assert body["evaluation_trigger_custom_code"] == original["evaluation_trigger_custom_code"]
    assert state.metric(104)["metric_description_program"] == {"kind": "gepa"}, (
        "history does not store *_program fields, so restore leaves them"
    )
    rows = (await history(client, 104))["results"]
    assert [r["history_type"] for r in rows] == ["~", "~", "+"]
    assert rows[0]["description"] == original["description"]


async def test_restore_needs_a_known_history_row_of_that_metric(client: httpx.AsyncClient) -> None:
    url = "/test_framework/v2/metrics/104/restore/"
    missing = await client.post(url, json={})
    assert (missing.status_code, missing.json()) == (
        400,
        {"history_id": ["This field is required."]},
    )
    unknown = await client.post(url, json={"history_id": 123})
    foreign = await client.post(url, json={"history_id": 900001})
    assert (unknown.status_code, foreign.status_code) == (404, 404)
    assert (await history(client, 104))["count"] == 1


async def test_applying_a_pending_proposal_maps_its_trigger_and_clears_it(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.set_pending_proposal(105, PENDING)
    shown = (await client.get("/test_framework/v2/metrics/105/")).json()
    assert shown["pending_optimisation_proposal"]["cron_job_id"] == 42
    applied = await client.post("/test_framework/v2/metrics/105/apply_optimisation_proposal/")
    body = applied.json()
    assert applied.status_code == 200
    assert body["description"] == PENDING["description"]
    assert (body["evaluation_trigger"], body["trigger_type"]) == ("custom", "llm_judge")
    assert body["evaluation_trigger_prompt"] == PENDING["evaluation_trigger"]
    assert body["pending_optimisation_proposal"] is None
    assert [r["history_type"] for r in (await history(client, 105))["results"]] == ["~", "+"]
    again = await client.post("/test_framework/v2/metrics/105/apply_optimisation_proposal/")
    assert (again.status_code, again.json()) == (
        400,
        {"detail": "No pending optimisation proposal."},
    )


async def test_a_code_proposal_switches_the_metric_to_custom_code(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    code = "PASS_CUES = ['thank you for calling']\nFAIL_CUES = []\n_result = True\n"
    trigger = "TRIGGER_CUES = []\n_result = True\n_explanation = 'always'\n"
    state.set_pending_proposal(105, {**PENDING, "custom_code": code, "evaluation_trigger": trigger})
    body = (await client.post("/test_framework/v2/metrics/105/apply_optimisation_proposal/")).json()
    assert (body["type"], body["custom_code"]) == ("custom_code", code)
    assert (body["trigger_type"], body["evaluation_trigger_custom_code"]) == (
        "custom_code",
        trigger,
    )


async def test_dismissing_a_proposal_clears_it_without_a_write(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    state.set_pending_proposal(101, PENDING)
    before = state.metric(101)["description"]
    dismissed = await client.post("/test_framework/v2/metrics/101/dismiss_optimisation_proposal/")
    assert (dismissed.status_code, dismissed.json()) == (200, {"detail": "Proposal cleared."})
    assert state.metric(101)["pending_optimisation_proposal"] is None
    assert state.metric(101)["description"] == before
    assert (await history(client, 101))["count"] == 1
    nothing = await client.post("/test_framework/v2/metrics/101/dismiss_optimisation_proposal/")
    assert nothing.status_code == 400
