"""What the client sends for each endpoint (method, exact path, query, JSON body, headers), that
each body matches Cekura's published request schema, and how each answer is read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import respx
from client_support import no_sleep, only_request, sent_json

from openapi_schemas import fixtures, request_errors
from tools.cekura import (
    CekuraClient,
    CekuraMalformedResponse,
    CronJob,
    Metric,
    MetricSummary,
)

pytestmark = pytest.mark.asyncio

BASE = "https://cekura.example.test"
KEY = "ck_requests_key_31415"
METRIC = "/test_framework/v2/metrics/{id}/"
CRON = "/schedules/v1/metric-optimiser-cron-jobs/"


@pytest_asyncio.fixture
async def client() -> AsyncIterator[CekuraClient]:
    # A trailing slash on the base URL must not produce '//' in request paths.
    async with CekuraClient(KEY, BASE + "/", sleep=no_sleep, user_agent="tests/1.0") as c:
        yield c


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        yield router


def query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def metric_path(metric_id: int) -> str:
    return METRIC.format(id=metric_id)


# ---------------------------------------------------------------- transport basics


async def test_every_request_carries_key_and_client_headers(client, api):
    route = api.get("/test_framework/v2/metrics/12345/").respond(json=fixtures()["metric_detail"])
    await client.get_metric(12345)
    request = only_request(route)
    assert str(request.url) == f"{BASE}/test_framework/v2/metrics/12345/"
    assert request.headers["X-CEKURA-API-KEY"] == KEY
    assert request.headers["Accept"] == "application/json"
    assert request.headers["X-Client-Source"] == "mcp"
    assert request.headers["User-Agent"] == "tests/1.0"
    assert "Authorization" not in request.headers


async def test_base_url_with_a_path_prefix_is_kept():
    with respx.mock(base_url="https://proxy.example.test", assert_all_called=True) as router:
        route = router.get("/cekura/test_framework/v2/metrics/7/").respond(
            json={"id": 7, "name": "m"}
        )
        async with CekuraClient(KEY, "https://proxy.example.test/cekura/") as c:
            await c.get_metric(7)
    assert route.call_count == 1


async def test_one_connection_pool_is_shared_and_closed_on_exit():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[]))
    async with CekuraClient(KEY, BASE, transport=transport) as c:
        pool = c._transport._http
        await c.list_metrics(project_id=1)
        await c.list_cron_jobs(project_id=1)
        assert c._transport._http is pool
    assert pool.is_closed


# ---------------------------------------------------------------- optimiser


async def test_start_optimisation_minimal_body_uses_every_lab_test_set(client, api):
    route = api.post("/test_framework/metric-reviews/process_feedbacks/").respond(
        json=fixtures()["process_feedbacks_start_response"]
    )
    progress_id = await client.start_optimisation(12345)
    body = sent_json(only_request(route))
    assert body == {"metric_id": 12345, "skip_evaluation": False}
    assert "test_set_ids" not in body
    assert request_errors("POST", "/test_framework/metric-reviews/process_feedbacks/", body) == []
    assert progress_id == "3f1c9a52-7d8e-4b6a-9c1e-2a4b5c6d7e8f"


async def test_start_optimisation_full_body(client, api):
    route = api.post("/test_framework/metric-reviews/process_feedbacks/").respond(
        json={"progress_id": "p-1"}
    )
    await client.start_optimisation(
        12345, test_set_ids=[9101, 9102], metric_type="llm_judge", skip_evaluation=True
    )
    body = sent_json(only_request(route))
    assert body == {
        "metric_id": 12345,
        "test_set_ids": [9101, 9102],
        "metric_type": "llm_judge",
        "skip_evaluation": True,
    }
    assert request_errors("POST", "/test_framework/metric-reviews/process_feedbacks/", body) == []


async def test_start_optimisation_accepts_job_id_as_fallback_key(client, api):
    api.post("/test_framework/metric-reviews/process_feedbacks/").respond(json={"job_id": "j-9"})
    assert await client.start_optimisation(12345) == "j-9"


async def test_get_optimisation_progress_request_and_parse(client, api):
    route = api.get("/test_framework/metric-reviews/process_feedbacks_progress/").respond(
        json=fixtures()["process_feedbacks_progress_paused"]
    )
    progress = await client.get_optimisation_progress("3f1c9a52")
    request = only_request(route)
    assert request.url.path == "/test_framework/metric-reviews/process_feedbacks_progress/"
    assert query(request) == {"progress_id": "3f1c9a52"}
    assert request.content == b""
    assert progress.state == "paused"
    assert [q.id for q in progress.questions] == ["q_1", "q_2"]


async def test_answer_questions_body_matches_contract_shape(client, api):
    route = api.post("/test_framework/metric-reviews/process_feedbacks_answer/").respond(
        json={"detail": "Answers recorded"}
    )
    await client.answer_questions(
        "3f1c9a52-7d8e-4b6a-9c1e-2a4b5c6d7e8f",
        {"q_1": "Yes, short affirmatives count as agreement", "q_2": None},
    )
    assert sent_json(only_request(route)) == fixtures()["process_feedbacks_answer_request"]


async def test_cancel_body_matches_contract_shape(client, api):
    route = api.post("/test_framework/metric-reviews/process_feedbacks_cancel/").respond(
        json={"detail": "cancelled"}
    )
    await client.cancel_optimisation("3f1c9a52-7d8e-4b6a-9c1e-2a4b5c6d7e8f")
    assert sent_json(only_request(route)) == fixtures()["process_feedbacks_cancel_request"]


async def test_cancel_accepts_an_empty_answer(client, api):
    api.post("/test_framework/metric-reviews/process_feedbacks_cancel/").respond(200)
    await client.cancel_optimisation("p-1")


# ---------------------------------------------------------------- metrics


async def test_list_metrics_scoped_by_project_and_agent(client, api):
    items = [
        {"id": 1, "name": "A", "type": "llm_judge", "agent_names": "x"},
        {"id": 2, "name": "B"},
    ]
    route = api.get("/test_framework/v2/metrics/").respond(json=items)
    metrics = await client.list_metrics(project_id=1376, agent_id=2142)
    assert query(only_request(route)) == {"project_id": "1376", "agent_id": "2142"}
    assert all(isinstance(m, MetricSummary) for m in metrics)
    assert [(m.id, m.name) for m in metrics] == [(1, "A"), (2, "B")]
    assert metrics[0].agent_names == "x"  # extra fields are kept


async def test_list_metrics_without_scope_sends_no_query(client, api):
    route = api.get("/test_framework/v2/metrics/").respond(json=[])
    assert await client.list_metrics() == []
    assert query(only_request(route)) == {}


async def test_list_metrics_tolerates_a_paginated_answer(client, api):
    api.get("/test_framework/v2/metrics/").respond(
        json={"count": 1, "next": None, "previous": None, "results": [{"id": 3, "name": "C"}]}
    )
    assert [m.id for m in await client.list_metrics(project_id=1)] == [3]


async def test_get_metric_by_id_parses_detail_and_lab_rows(client, api):
    api.get(metric_path(12345)).respond(json=fixtures()["metric_detail"])
    metric = await client.get_metric(12345)
    assert isinstance(metric, Metric)
    assert metric.evaluation_trigger == "custom"
    assert [r.id for r in metric.reviews] == [55001, 55002]
    assert metric.reviews[0].test_set is not None and metric.reviews[0].test_set.id == 9101


async def test_get_metric_by_slug_is_url_encoded(client, api):
    route = api.get("/test_framework/v2/metrics/odd%2Fslug%20x/").respond(
        json={"id": 5, "name": "m"}
    )
    await client.get_metric("odd/slug x")
    assert only_request(route).url.raw_path == b"/test_framework/v2/metrics/odd%2Fslug%20x/"


@pytest.mark.parametrize(
    "patch_fixture",
    [
        "metric_patch_from_success",
        "metric_patch_from_code_flip",
        "metric_patch_trigger_always",
        "metric_patch_trigger_custom_code",
    ],
)
async def test_patch_metric_sends_proposal_fields_verbatim(client, api, patch_fixture):
    patch = fixtures()[patch_fixture]
    updated = {**fixtures()["metric_detail"], **patch}
    route = api.patch(metric_path(12345)).respond(json=updated)
    metric = await client.patch_metric(12345, patch)
    body = sent_json(only_request(route))
    assert body == patch
    assert request_errors("PATCH", METRIC, body) == []
    assert metric.id == 12345
    for field, value in patch.items():
        assert getattr(metric, field) == value


async def test_metric_history_request_and_parse(client, api):
    route = api.get(metric_path(12345) + "history/").respond(json=fixtures()["metric_history_page"])
    page = await client.metric_history(12345, page=2, page_size=50)
    assert query(only_request(route)) == {"page": "2", "page_size": "50"}
    assert page.count == 3
    assert [e.history_id for e in page.results] == [880003, 880002]
    assert page.results[1].version_name == "pre-optimiser 2026-08-20"
    assert page.results[0].id == 12345  # the metric's id, not the row's


async def test_latest_history_id_is_the_newest_row(client, api):
    route = api.get(metric_path(12345) + "history/").respond(json=fixtures()["metric_history_page"])
    assert await client.latest_history_id(12345) == 880003
    assert query(only_request(route))["page"] == "1"


async def test_latest_history_id_without_history_is_none(client, api):
    api.get(metric_path(12345) + "history/").respond(
        json={"count": 0, "next": None, "previous": None, "results": []}
    )
    assert await client.latest_history_id(12345) is None


async def test_latest_history_id_finds_newest_when_history_is_oldest_first(client, api):
    def row(history_id: int) -> dict[str, Any]:
        return {
            "history_id": history_id,
            "history_date": "2026-08-01T00:00:00Z",
            "history_type": "~",
        }

    def page(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        ids = range(1, 21) if number == 1 else range(21, 26)
        nxt = f"{BASE}/x/?page=2" if number == 1 else None
        return httpx.Response(
            200, json={"count": 25, "next": nxt, "results": [row(i) for i in ids]}
        )

    route = api.get(metric_path(12345) + "history/").mock(side_effect=page)
    assert await client.latest_history_id(12345) == 25
    assert [c.request.url.params["page"] for c in route.calls] == ["1", "2"]


async def test_latest_history_id_refuses_to_guess_when_order_and_count_are_unusable(client, api):
    rows = [
        {"history_id": i, "history_date": "2026-08-01T00:00:00Z", "history_type": "~"}
        for i in (1, 2, 3)
    ]
    api.get(metric_path(12345) + "history/").respond(
        json={"count": 0, "next": f"{BASE}/x/?page=2", "results": rows}
    )
    with pytest.raises(CekuraMalformedResponse, match="newest version cannot be found"):
        await client.latest_history_id(12345)


async def test_restore_metric(client, api):
    route = api.post(metric_path(12345) + "restore/").respond(json=fixtures()["metric_detail"])
    metric = await client.restore_metric(12345, 880002)
    body = sent_json(only_request(route))
    assert body == fixtures()["metric_restore_request"]
    assert request_errors("POST", METRIC + "restore/", body) == []
    assert metric.id == 12345


async def test_run_reviews_baseline_sends_empty_body(client, api):
    route = api.post(metric_path(12345) + "run_reviews/").respond(
        json=fixtures()["run_reviews_start_response"]
    )
    progress_id = await client.run_reviews(12345)
    body = sent_json(only_request(route))
    assert body == fixtures()["run_reviews_request_baseline"]
    assert request_errors("POST", METRIC + "run_reviews/", body) == []
    assert progress_id == "b7e2d4c1-0a9f-4e3b-8d2c-6f5e4d3c2b1a"


async def test_run_reviews_candidate_without_saving(client, api):
    expected = fixtures()["run_reviews_request_candidate_no_save"]
    overrides = {k: v for k, v in expected.items() if k != "skip_save"}
    route = api.post(metric_path(12345) + "run_reviews/").respond(json={"progress_id": "r-1"})
    assert await client.run_reviews(12345, overrides=overrides, skip_save=True) == "r-1"
    body = sent_json(only_request(route))
    assert body == expected
    assert request_errors("POST", METRIC + "run_reviews/", body) == []


async def test_get_run_reviews_progress_request_and_parse(client, api):
    route = api.get("/test_framework/v2/metrics/run_reviews_progress/").respond(
        json=fixtures()["run_reviews_progress_completed"]
    )
    progress = await client.get_run_reviews_progress("b7e2d4c1")
    assert query(only_request(route)) == {"progress_id": "b7e2d4c1"}
    assert progress.state == "completed"
    assert progress.metric is not None and progress.metric.overall_score == "2/2"


async def test_apply_pending_proposal_returns_updated_metric(client, api):
    route = api.post(metric_path(12345) + "apply_optimisation_proposal/").respond(
        json=fixtures()["metric_detail"]
    )
    metric = await client.apply_pending_proposal(12345)
    assert only_request(route).content == b""
    assert metric is not None and metric.id == 12345


async def test_apply_pending_proposal_with_detail_answer_returns_none(client, api):
    api.post(metric_path(12345) + "apply_optimisation_proposal/").respond(
        json={"detail": "Metric updated; pending proposal cleared."}
    )
    assert await client.apply_pending_proposal(12345) is None


async def test_dismiss_pending_proposal(client, api):
    route = api.post(metric_path(12345) + "dismiss_optimisation_proposal/").respond(
        json={"detail": "Proposal cleared."}
    )
    await client.dismiss_pending_proposal(12345)
    assert only_request(route).content == b""


# ---------------------------------------------------------------- in-product schedules


async def test_list_cron_jobs(client, api):
    route = api.get(CRON).respond(json=[fixtures()["metric_optimiser_cron_job"]])
    jobs = await client.list_cron_jobs(project_id=1376)
    assert query(only_request(route)) == {"project_id": "1376"}
    assert [(j.id, j.metrics) for j in jobs] == [(42, [12345, 12346])]


async def test_create_cron_job(client, api):
    expected = fixtures()["metric_optimiser_cron_job_create_request"]
    route = api.post(CRON).respond(201, json=fixtures()["metric_optimiser_cron_job"])
    job = await client.create_cron_job(**expected)
    body = sent_json(only_request(route))
    assert body == expected
    assert request_errors("POST", CRON, body) == []
    assert isinstance(job, CronJob) and job.id == 42


async def test_create_cron_job_minimal_body(client, api):
    route = api.post(CRON).respond(201, json=fixtures()["metric_optimiser_cron_job"])
    await client.create_cron_job(project=1376, metrics=[12345], crontab_expression="0 9 * * 1")
    body = sent_json(only_request(route))
    assert body == {
        "project": 1376,
        "metrics": [12345],
        "crontab_expression": "0 9 * * 1",
        "auto_apply": False,
        "skip_evaluation": False,
        "is_active": True,
    }
    assert request_errors("POST", CRON, body) == []


async def test_update_cron_job(client, api):
    updated = {**fixtures()["metric_optimiser_cron_job"], "is_active": False}
    route = api.patch(CRON + "42/").respond(json=updated)
    job = await client.update_cron_job(42, {"is_active": False, "notify_on": "failure"})
    body = sent_json(only_request(route))
    assert body == {"is_active": False, "notify_on": "failure"}
    assert request_errors("PATCH", CRON + "{id}/", body) == []
    assert job.is_active is False


async def test_delete_cron_job(client, api):
    route = api.delete(CRON + "42/").respond(204)
    await client.delete_cron_job(42)
    assert only_request(route).method == "DELETE"
