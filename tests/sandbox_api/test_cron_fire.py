"""Firing a metric-optimiser schedule on demand (sandbox only): read-only firings leave a pending
proposal that validates as Cekura publishes it; auto-apply saves only when optimised ≥ baseline."""

from __future__ import annotations

import httpx
import pytest

from openapi_schemas import response_errors
from sandbox import SandboxState

pytestmark = pytest.mark.anyio

CRON = "/schedules/v1/metric-optimiser-cron-jobs/"
METRIC = "/test_framework/v2/metrics/{id}/"


async def _schedule(client: httpx.AsyncClient, metrics: list[int], **fields: object) -> int:
    body = {"project": 1, "metrics": metrics, "crontab_expression": "0 9 * * 1", **fields}
    created = await client.post(CRON, json=body)
    assert created.status_code == 201
    return created.json()["id"]


async def test_a_read_only_firing_leaves_pending_proposals_and_saves_nothing(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    job = await _schedule(client, [101, 103, 105], name="Weekly tune-up")
    before = state.metric(101)["description"]
    fired = await client.post(f"/sandbox/cron_jobs/{job}/fire/")
    assert fired.status_code == 200
    rows = {r["metric"]: r for r in fired.json()["results"]}
    assert {m: r["status"] for m, r in rows.items()} == {
        101: "pending",
        103: "needs_answers",
        105: "no_changes",
    }
    assert (rows[101]["baseline_score"], rows[101]["score"]) == (0.5, 1.0)
    metric = (await client.get(METRIC.format(id=101))).json()
    assert response_errors("GET", METRIC, 200, metric) == []
    pending = metric["pending_optimisation_proposal"]
    assert (pending["cron_job_id"], pending["cron_job_name"]) == (job, "Weekly tune-up")
    assert (pending["baseline_score"], pending["score"]) == (0.5, 1.0)
    assert "'Sounds good'" in pending["description"] and metric["description"] == before
    assert state.metric(105)["pending_optimisation_proposal"] is None
    assert state.count("metric_patch") == 0 and len(state.history_rows(101)) == 1


async def test_an_auto_apply_firing_saves_when_not_below_the_baseline(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    job = await _schedule(client, [101], auto_apply=True)
    fired = (await client.post(f"/sandbox/cron_jobs/{job}/fire/")).json()
    assert fired["results"][0] == {
        "metric": 101,
        "status": "applied",
        "applied": True,
        "baseline_score": 0.5,
        "score": 1.0,
    }
    metric = state.metric(101)
    assert "'Sounds good'" in metric["description"]
    assert metric["pending_optimisation_proposal"] is None
    assert len(state.history_rows(101)) == 2


async def test_firing_an_unknown_schedule_is_404(client: httpx.AsyncClient) -> None:
    missing = await client.post("/sandbox/cron_jobs/99/fire/")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not found."})


async def test_the_seeded_pending_proposal_beats_the_baseline_but_breaks_a_labelled_row(
    client: httpx.AsyncClient, state: SandboxState
) -> None:
    pending = state.metric(111)["pending_optimisation_proposal"]
    assert pending["score"] >= pending["baseline_score"]
    started = await client.post(
        "/test_framework/v2/metrics/111/run_reviews/",
        json={"description": pending["description"], "skip_save": True},
    )
    body = (
        await client.get(
            "/test_framework/v2/metrics/run_reviews_progress/",
            params={"progress_id": started.json()["progress_id"]},
        )
    ).json()
    labels = {r["id"]: r["expected_value"] for r in state.metric(111)["reviews"]}
    stored = {r["id"]: r["actual_value"] for r in state.metric(111)["reviews"]}
    scored = {r["review_id"]: r["actual_value"] for r in body["review_results"]}
    assert sum(scored[i] == labels[i] for i in labels) == 5
    assert sum(stored[i] == labels[i] for i in labels) == 4
    assert [i for i in labels if stored[i] == labels[i] != scored[i]] == [11101]
