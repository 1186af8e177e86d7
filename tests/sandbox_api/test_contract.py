"""The sandbox answers with Cekura's published shapes, statuses, error bodies, paths and auth."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openapi_schemas import component_errors, fixtures, request_errors, response_errors
from sandbox import SandboxState, sandbox_client

pytestmark = pytest.mark.anyio

METRIC = "/test_framework/v2/metrics/{id}/"
HISTORY = "/test_framework/v2/metrics/{id}/history/"
PROGRESS = "/test_framework/metric-reviews/process_feedbacks_progress/"
START = "/test_framework/metric-reviews/process_feedbacks/"
CRON = "/schedules/v1/metric-optimiser-cron-jobs/"
CRON_ITEM = "/schedules/v1/metric-optimiser-cron-jobs/{id}/"


async def optimise(client: httpx.AsyncClient, metric_id: int) -> dict[str, Any]:
    started = await client.post(START, json={"metric_id": metric_id})
    assert started.status_code == 200
    return (
        await client.get(PROGRESS, params={"progress_id": started.json()["progress_id"]})
    ).json()


@pytest.mark.parametrize("key", [*(str(i) for i in range(101, 112)), "appointment_booked_101"])
async def test_metric_detail_validates_for_every_seeded_metric(
    client: httpx.AsyncClient, key: str
) -> None:
    response = await client.get(f"/test_framework/v2/metrics/{key}/")
    assert response.status_code == 200
    assert response_errors("GET", METRIC, 200, response.json()) == []
    assert response.json()["reviews"], "every seeded metric has Lab rows"


async def test_metric_list_is_a_bare_array_that_validates(client: httpx.AsyncClient) -> None:
    response = await client.get("/test_framework/v2/metrics/", params={"project_id": 1})
    body = response.json()
    assert response.status_code == 200
    assert [m["id"] for m in body] == list(range(101, 112))
    assert response_errors("GET", "/test_framework/v2/metrics/", 200, body) == []
    assert all("reviews" not in m and "custom_code" not in m for m in body)
    other = await client.get("/test_framework/v2/metrics/", params={"agent_id": 999})
    assert other.json() == []


@pytest.mark.parametrize("metric_id", [101, 102, 105])
async def test_envelope_success_output_validates_and_carries_meta_harness(
    client: httpx.AsyncClient, metric_id: int
) -> None:
    body = await optimise(client, metric_id)
    assert body["status"] == "success"
    output = dict(body["output"])
    meta = output.pop("meta_harness")
    assert response_errors("GET", PROGRESS, 200, output) == []
    assert meta == {
        "optimized_code": output["custom_code"],
        "type": output["type"],
        "score": output["new_score"]["score"],
        "num_correct": output["new_score"]["num_correct"],
        "num_total": output["new_score"]["num_total"],
    }


@pytest.mark.parametrize("metric_id", [101, 102, 105])
async def test_flat_success_body_is_the_published_response(metric_id: int) -> None:
    state = SandboxState.seeded(progress_shape="flat", optimiser_polls=0)
    async with sandbox_client(state) as client:
        body = await optimise(client, metric_id)
    assert "status" not in body and "meta_harness" not in body
    assert response_errors("GET", PROGRESS, 200, body) == []


async def test_running_paused_error_and_cancelled_bodies_keep_status_in_flat_shape() -> None:
    state = SandboxState.seeded(progress_shape="flat", optimiser_polls=1)
    state.metric(105)["reviews"].clear()
    async with sandbox_client(state) as client:
        paused_id = (await client.post(START, json={"metric_id": 103})).json()["progress_id"]
        failing_id = (await client.post(START, json={"metric_id": 105})).json()["progress_id"]
        first = (await client.get(PROGRESS, params={"progress_id": paused_id})).json()
        paused = (await client.get(PROGRESS, params={"progress_id": paused_id})).json()
        await client.get(PROGRESS, params={"progress_id": failing_id})
        error = (await client.get(PROGRESS, params={"progress_id": failing_id})).json()
        cancel = await client.post(
            "/test_framework/metric-reviews/process_feedbacks_cancel/",
            json={"progress_id": paused_id},
        )
        cancelled = (await client.get(PROGRESS, params={"progress_id": paused_id})).json()
    assert first == {"status": "in_progress"}
    assert paused["status"] == "paused"
    assert set(paused["questions"][0]) == {
        "id",
        "question",
        "kind",
        "options",
        "review_id",
        "test_set_id",
        "context",
    }
    assert error == {
        "status": "error",
        "error": fixtures()["process_feedbacks_progress_error"]["error"],
    }
    assert (cancel.status_code, cancel.json()) == (200, {"detail": "cancelled"})
    assert cancelled == {"status": "cancelled"}


async def test_answer_endpoint_follows_the_contract_body_not_the_generator_fallback(
    client: httpx.AsyncClient,
) -> None:
    progress_id = (await client.post(START, json={"metric_id": 103})).json()["progress_id"]
    await client.get(PROGRESS, params={"progress_id": progress_id})
    url = "/test_framework/metric-reviews/process_feedbacks_answer/"
    unknown = await client.post(
        url, json={"progress_id": progress_id, "answers": {"q_9": {"action": "skip"}}}
    )
    answered = await client.post(
        url, json={"progress_id": progress_id, "answers": {"q_1": {"action": "skip"}}}
    )
    again = await client.post(url, json={"progress_id": progress_id, "answers": {"q_1": "yes"}})
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"answers": ["Unknown question id: q_9"]},
    )
    assert (answered.status_code, answered.json()) == (
        200,
        {"detail": "Answers recorded; the paused optimization resumes."},
    )
    assert (again.status_code, again.json()) == (
        400,
        {"non_field_errors": ["This optimization is not waiting for answers."]},
    )


async def test_patch_validates_enums_and_answers_with_the_detail_shape(
    client: httpx.AsyncClient,
) -> None:
    bad = await client.patch(
        "/test_framework/v2/metrics/101/",
        json={"evaluation_trigger": "Evaluate only if the caller asked to book"},
    )
    assert bad.status_code == 400
    assert bad.json() == fixtures()["errors"]["400_validation"]
    assert response_errors("PATCH", METRIC, 400, bad.json()) == []
    for field, value in [("trigger_type", "prompt"), ("type", "magic"), ("eval_type", "stars")]:
        rejected = await client.patch("/test_framework/v2/metrics/101/", json={field: value})
        assert (rejected.status_code, rejected.json()) == (
            400,
            {field: [f'"{value}" is not a valid choice.']},
        )
    good = await client.patch(
        "/test_framework/v2/metrics/101/", json=fixtures()["metric_patch_trigger_custom_code"]
    )
    assert good.status_code == 200
    assert response_errors("PATCH", METRIC, 200, good.json()) == []
    assert good.json()["trigger_type"] == "custom_code"


async def test_unknown_metric_and_slug_patch_are_404_with_detail(
    client: httpx.AsyncClient,
) -> None:
    for response in [
        await client.get("/test_framework/v2/metrics/999/"),
        await client.patch("/test_framework/v2/metrics/999/", json={"description": "x"}),
        await client.patch("/test_framework/v2/metrics/appointment_booked_101/", json={}),
    ]:
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
        assert response_errors("GET", METRIC, 404, response.json()) == []


async def test_history_page_and_restore_validate(client: httpx.AsyncClient) -> None:
    await client.patch("/test_framework/v2/metrics/104/", json={"description": "Consent check."})
    page = await client.get("/test_framework/v2/metrics/104/history/")
    assert response_errors("GET", HISTORY, 200, page.json()) == []
    oldest = page.json()["results"][-1]["history_id"]
    edited = await client.patch(
        "/test_framework/v2/metrics/104/history/edit/",
        json={"history_id": oldest, "version_name": "pre-optimiser"},
    )
    assert response_errors("PATCH", HISTORY + "edit/", 200, edited.json()) == []
    restored = await client.post(
        "/test_framework/v2/metrics/104/restore/", json={"history_id": oldest}
    )
    assert restored.status_code == 200
    assert response_errors("POST", METRIC + "restore/", 200, restored.json()) == []


async def test_run_reviews_progress_has_the_contract_shape(client: httpx.AsyncClient) -> None:
    started = await client.post("/test_framework/v2/metrics/101/run_reviews/", json={})
    body = (
        await client.get(
            "/test_framework/v2/metrics/run_reviews_progress/",
            params={"progress_id": started.json()["progress_id"]},
        )
    ).json()
    assert {k: body[k] for k in ("status", "total", "completed", "failed", "error")} == {
        "status": "completed",
        "total": 7,
        "completed": 7,
        "failed": 0,
        "error": None,
    }
    assert component_errors("MetricDetailSerializerV2", body["metric"]) == []
    assert all(component_errors("ReviewResult", r) == [] for r in body["review_results"])


async def test_cron_jobs_crud(client: httpx.AsyncClient) -> None:
    request = fixtures()["metric_optimiser_cron_job_create_request"]
    created = await client.post(CRON, json={**request, "project": 1, "metrics": [101, 102]})
    assert created.status_code == 201
    assert response_errors("POST", CRON, 201, created.json()) == []
    job_id = created.json()["id"]
    listed = await client.get(CRON)
    assert response_errors("GET", CRON, 200, listed.json()) == []
    assert [j["id"] for j in listed.json()] == [job_id]
    patched = await client.patch(f"{CRON}{job_id}/", json={"auto_apply": True})
    assert response_errors("PATCH", CRON_ITEM, 200, patched.json()) == []
    assert patched.json()["auto_apply"] is True
    replaced = await client.put(
        f"{CRON}{job_id}/", json={"project": 1, "metrics": [103], "crontab_expression": "0 6 * * *"}
    )
    assert response_errors("PUT", CRON_ITEM, 200, replaced.json()) == []
    assert replaced.json()["metrics"] == [103]
    fetched = await client.get(f"{CRON}{job_id}/")
    assert response_errors("GET", CRON_ITEM, 200, fetched.json()) == []
    deleted = await client.delete(f"{CRON}{job_id}/")
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = await client.get(f"{CRON}{job_id}/")
    assert (gone.status_code, gone.json()) == (404, {"detail": "Not found."})
    assert (await client.delete(f"{CRON}{job_id}/")).status_code == 404


async def test_cron_job_create_requires_its_fields(client: httpx.AsyncClient) -> None:
    missing = await client.post(CRON, json={"name": "weekly"})
    assert missing.status_code == 400
    assert missing.json() == {
        "project": ["This field is required."],
        "metrics": ["This field is required."],
        "crontab_expression": ["This field is required."],
    }
    bad = await client.post(
        CRON, json={"project": 1, "metrics": [999], "crontab_expression": "every monday"}
    )
    assert bad.json() == {
        "metrics": ['Invalid pk "999" - object does not exist.'],
        "crontab_expression": [
            "Enter a valid 5-field cron expression: minute hour day month weekday."
        ],
    }


async def test_process_feedbacks_validation_and_lookups(client: httpx.AsyncClient) -> None:
    missing = await client.post(START, json={})
    assert (missing.status_code, missing.json()) == (
        400,
        fixtures()["errors"]["400_process_feedbacks_missing_metric"],
    )
    unknown = await client.post(START, json={"metric_id": 999})
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "Not found."})
    foreign = await client.post(START, json={"metric_id": 101, "test_set_ids": [8011, 8021]})
    assert foreign.status_code == 400
    assert foreign.json() == {"test_set_ids": ["Test sets not in this metric's Lab: 8021."]}
    no_id = await client.get(PROGRESS)
    assert (no_id.status_code, no_id.json()) == (400, {"progress_id": ["This field is required."]})
    lost = await client.get(
        PROGRESS, params={"progress_id": "3f1c9a52-0000-0000-0000-000000000000"}
    )
    assert (lost.status_code, lost.json()) == (404, {"detail": "Not found."})


async def test_a_missing_key_is_401_and_unlisted_keys_are_rejected() -> None:
    open_state = SandboxState.seeded()
    async with sandbox_client(open_state, api_key=None) as anonymous:
        response = await anonymous.get("/test_framework/v2/metrics/101/")
        blank = await anonymous.get(
            "/test_framework/v2/metrics/101/", headers={"X-CEKURA-API-KEY": " "}
        )
    assert (response.status_code, response.json()) == (
        401,
        {"detail": "Authentication credentials were not provided."},
    )
    assert blank.status_code == 401
    strict = SandboxState.seeded(api_keys={"right-key"})
    async with sandbox_client(strict, api_key="wrong-key") as wrong:
        rejected = await wrong.get("/test_framework/v2/metrics/101/")
    async with sandbox_client(strict, api_key="right-key") as right:
        accepted = await right.get("/test_framework/v2/metrics/101/")
    assert (rejected.status_code, rejected.json()) == (401, {"detail": "Invalid API key."})
    assert accepted.status_code == 200


async def test_paths_need_the_trailing_slash(client: httpx.AsyncClient) -> None:
    for path in [
        "/test_framework/v2/metrics/101",
        "/test_framework/metric-reviews/process_feedbacks",
    ]:
        response = await client.request("POST" if "process" in path else "GET", path, json={})
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
        assert "location" not in response.headers


async def test_an_unsupported_method_is_405_with_detail(client: httpx.AsyncClient) -> None:
    response = await client.delete("/test_framework/v2/metrics/101/")
    assert (response.status_code, response.json()) == (
        405,
        {"detail": 'Method "DELETE" not allowed.'},
    )


async def test_malformed_json_is_a_400_parse_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        START, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


CALL_LOGS = "/observability/v2/call-logs/"
CALL_LOG = "/observability/v2/call-logs/{id}/"
VOTE = "/observability/v2/call-logs/{id}/mark_metric_vote/"
RERUN = "/observability/v2/call-logs/rerun_evaluation/"
FROM_CALL = "/test_framework/test-sets/create_from_call_log/"
REVIEW = "/test_framework/metric-reviews/{id}/"


async def exchange(
    client: httpx.AsyncClient,
    method: str,
    template: str,
    *,
    path: str | None = None,
    body: Any = None,
    status: int = 200,
    **params: Any,
) -> Any:
    """Send a request whose body follows the published request schema; check the status, and the
    response against the published response schema."""
    if body is not None:
        assert request_errors(method, template, body) == []
    response = await client.request(method, path or template, json=body, params=params or None)
    assert response.status_code == status, response.text
    assert response_errors(method, template, status, response.json()) == []
    return response.json()


async def test_call_log_list_rows_and_details_validate(client: httpx.AsyncClient) -> None:
    page = await exchange(client, "GET", CALL_LOGS, agent_id=11, page_size=40)
    assert page["count"] == len(page["results"]) == 38
    for row in page["results"]:
        detail = await exchange(client, "GET", CALL_LOG, path=CALL_LOGS + f"{row['id']}/")
        assert len(detail["evaluation"]["metrics"]) == 10
    old_lab_call = await exchange(client, "GET", CALL_LOG, path=CALL_LOGS + "3359011/")
    assert old_lab_call["transcript"].startswith("[00:01] Main Agent: Thanks for calling")
    await exchange(client, "GET", CALL_LOG, path=CALL_LOGS + "999/", status=404)


async def test_vote_bodies_and_answers_validate(client: httpx.AsyncClient) -> None:
    vote = {**fixtures()["mark_metric_vote_request"], "metric_id": 109}
    path = VOTE.replace("{id}", "3360015")
    assert (
        await exchange(client, "POST", VOTE, path=path, body=vote)
        == fixtures()["mark_metric_vote_call_log_response"]
    )
    missing = await client.post(path, json={"metric_id": 109})
    assert missing.status_code == 400
    assert response_errors("POST", VOTE, 400, missing.json()) == []
    await exchange(client, "POST", VOTE, path=VOTE.replace("{id}", "7"), body=vote, status=404)


async def test_create_from_call_log_and_review_patch_validate(client: httpx.AsyncClient) -> None:
    request = {**fixtures()["create_from_call_log_request"], "call_log_id": 3360015, "project": 1}
    request["metrics"] = [{**request["metrics"][0], "metric": 109}]
    test_set = await exchange(client, "POST", FROM_CALL, body=request)
    [row] = test_set["metric_reviews"]
    patch = fixtures()["metric_review_patch_request"]
    path = REVIEW.replace("{id}", str(row["id"]))
    edited = await exchange(client, "PATCH", REVIEW, path=path, body=patch)
    assert (edited["expected_value"], edited["feedback"]) == (5, patch["feedback"])
    minimal = {"call_log_id": 3360014, "metrics": [{"metric": 109}]}
    assert (await exchange(client, "POST", FROM_CALL, body=minimal))["source_id"] == "3360014"


async def test_rerun_answers_with_call_log_details(client: httpx.AsyncClient) -> None:
    body = {**fixtures()["rerun_evaluation_request"], "agent_id": 11, "call_logs": [3360001]}
    # §12.3: the schema marks agent_id, assistant_id and call_logs all required; the text says
    # one of the first two. The body Cekura's own example sends breaks only that rule.
    assert request_errors("POST", RERUN, body) == ["'assistant_id' is a required property"]
    response = await client.post(RERUN, json=body)
    assert response.status_code == 200
    assert response_errors("POST", RERUN, 200, response.json()) == []
    bad = await client.post(RERUN, json={"agent_id": 11, "call_logs": [1]})
    assert bad.status_code == 400
    assert response_errors("POST", RERUN, 400, bad.json()) == []


@pytest.mark.parametrize("version", ["v1", "v2"])
async def test_preview_bodies_validate_and_results_look_like_evaluation_items(
    client: httpx.AsyncClient, state: SandboxState, version: str
) -> None:
    state.preview_polls = 0
    start = f"/test_framework/{version}/metrics/preview/"
    metric = state.metric(107)
    body = {
        "metric_data": {key: metric[key] for key in ("name", "type", "eval_type", "description")},
        "call_log_ids": [3360001, 3360003],
        "agent_id": 11,
    }
    assert request_errors("POST", start, body) == []
    started = await client.post(start, json=body)
    assert started.status_code == 200 and set(started.json()) == {"progress_id"}
    progress = await client.get(
        f"/test_framework/{version}/metrics/preview-progress/",
        params={"progress_id": started.json()["progress_id"]},
    )
    results = progress.json()["results"]
    assert [r["call_log_id"] for r in results] == [3360001, 3360003]
    for item in results:
        assert component_errors("CallLogListSerializerMetricsWithExplanation", item) == []
