"""Every response body in cekura-fixtures.json is read correctly when Cekura sends it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import respx

from openapi_schemas import fixtures
from tools.cekura import CekuraClient, MetricFeedback, PendingProposal

BASE = "https://cekura.example.test"
PROGRESS = "/test_framework/metric-reviews/process_feedbacks_progress/"
RUN_PROGRESS = "/test_framework/v2/metrics/run_reviews_progress/"

# Response fixtures the client reads, and fixtures it deliberately does not (no such endpoint in
# this client); anything else in the file must be a request body, a patch, or the error bodies.
READ_BY_CLIENT = {
    "metric_detail",
    "metric_detail_pending_optimisation_proposal",
    "process_feedbacks_start_response",
    "process_feedbacks_progress_running",
    "process_feedbacks_progress_paused",
    "process_feedbacks_progress_success",
    "process_feedbacks_progress_success_code_flip",
    "process_feedbacks_progress_success_flat_variant",
    "process_feedbacks_progress_error",
    "run_reviews_start_response",
    "run_reviews_progress_running",
    "run_reviews_progress_completed",
    "run_reviews_progress_failed",
    "metric_history_page",
    "metric_optimiser_cron_job",
    "create_from_call_log_response",
    "mark_metric_vote_call_log_response",
}
NOT_CLIENT_ENDPOINTS = {"mark_metric_vote_run_response"}


@pytest_asyncio.fixture
async def client() -> AsyncIterator[CekuraClient]:
    async with CekuraClient("ck_fixture_key_14142", BASE) as c:
        yield c


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        yield router


def test_every_response_fixture_is_accounted_for():
    keys = {k for k in fixtures() if not k.startswith("_") and k != "errors"}
    requests = {k for k in keys if "_request" in k or k.startswith("metric_patch_")}
    assert keys - requests == READ_BY_CLIENT | NOT_CLIENT_ENDPOINTS


@pytest.mark.asyncio
async def test_metric_detail(client, api):
    api.get("/test_framework/v2/metrics/12345/").respond(json=fixtures()["metric_detail"])
    metric = await client.get_metric(12345)
    assert (metric.id, metric.name, metric.type, metric.eval_type) == (
        12345,
        "Appointment Booked",
        "llm_judge",
        "binary",
    )
    assert metric.evaluation_trigger_prompt.startswith("Evaluate only if")
    assert metric.overall_score == "1/2"
    assert [(r.expected_value, r.actual_value) for r in metric.reviews] == [(5, 0), (0, 0)]
    assert metric.reviews[0].feedback.startswith("At 00:09")
    assert metric.pending_optimisation_proposal is None


@pytest.mark.asyncio
async def test_metric_detail_with_a_pending_proposal(client, api):
    body = {
        **fixtures()["metric_detail"],
        "pending_optimisation_proposal": fixtures()["metric_detail_pending_optimisation_proposal"],
    }
    api.get("/test_framework/v2/metrics/12345/").respond(json=body)
    proposal = (await client.get_metric(12345)).pending_optimisation_proposal
    assert isinstance(proposal, PendingProposal)
    assert (proposal.score, proposal.baseline_score, proposal.cron_job_id) == (1.0, 0.5, 42)
    assert proposal.evaluation_trigger.startswith("Evaluate only if")


@pytest.mark.asyncio
async def test_start_responses(client, api):
    api.post("/test_framework/metric-reviews/process_feedbacks/").respond(
        json=fixtures()["process_feedbacks_start_response"]
    )
    api.post("/test_framework/v2/metrics/12345/run_reviews/").respond(
        json=fixtures()["run_reviews_start_response"]
    )
    assert await client.start_optimisation(12345) == "3f1c9a52-7d8e-4b6a-9c1e-2a4b5c6d7e8f"
    assert await client.run_reviews(12345) == "b7e2d4c1-0a9f-4e3b-8d2c-6f5e4d3c2b1a"


@pytest.mark.asyncio
async def test_optimiser_progress_running(client, api):
    api.get(PROGRESS).respond(json=fixtures()["process_feedbacks_progress_running"])
    progress = await client.get_optimisation_progress("p")
    assert (progress.state, progress.raw_status, progress.output) == (
        "running",
        "in_progress",
        None,
    )


@pytest.mark.asyncio
async def test_optimiser_progress_paused(client, api):
    api.get(PROGRESS).respond(json=fixtures()["process_feedbacks_progress_paused"])
    progress = await client.get_optimisation_progress("p")
    assert progress.state == "paused"
    first, second = progress.questions
    assert (first.id, first.kind, first.review_id, first.test_set_id) == (
        "q_1",
        "contradictory_labels",
        55001,
        9101,
    )
    assert first.options == [
        "Yes, short affirmatives count as agreement",
        "No, require an explicit confirmation",
    ]
    assert (second.id, second.kind) == ("q_2", "ambiguous_label")


@pytest.mark.asyncio
async def test_optimiser_progress_success(client, api):
    api.get(PROGRESS).respond(json=fixtures()["process_feedbacks_progress_success"])
    progress = await client.get_optimisation_progress("p")
    out = progress.output
    assert progress.state == "succeeded" and out is not None
    assert out.improved_metric_description.endswith("as the caller agreeing to the booking.")
    assert out.improved_trigger_kind == "llm_judge"
    assert out.custom_code == "" and out.type == "llm_judge"
    assert (out.old_score.num_correct, out.old_score.num_total) == (1, 2)
    assert (out.new_score.num_correct, out.new_score.num_total) == (2, 2)
    assert [(r.review_id, r.actual_value, r.success) for r in out.review_results] == [
        (55001, 5, True),
        (55002, 0, True),
    ]
    assert out.unauthorized_label_changes == [] and out.unresolved_samples == []


@pytest.mark.asyncio
async def test_optimiser_progress_code_flip(client, api):
    body = fixtures()["process_feedbacks_progress_success_code_flip"]
    api.get(PROGRESS).respond(json=body)
    out = (await client.get_optimisation_progress("p")).output
    assert out is not None
    assert out.type == "custom_code"
    assert out.custom_code.startswith("result = evaluate_basic_metric(")
    # The description is unchanged: the real change is only in the code and type.
    assert out.improved_metric_description == fixtures()["metric_detail"]["description"]


@pytest.mark.asyncio
async def test_optimiser_progress_flat_variant(client, api):
    api.get(PROGRESS).respond(json=fixtures()["process_feedbacks_progress_success_flat_variant"])
    progress = await client.get_optimisation_progress("p")
    assert progress.state == "succeeded"
    assert progress.output is not None and progress.output.new_score.num_correct == 2


@pytest.mark.asyncio
async def test_optimiser_progress_error(client, api):
    api.get(PROGRESS).respond(json=fixtures()["process_feedbacks_progress_error"])
    progress = await client.get_optimisation_progress("p")
    assert progress.state == "failed"
    assert progress.error == "No metric reviews with feedback found for this metric's Lab."


@pytest.mark.asyncio
async def test_run_reviews_progress_running(client, api):
    api.get(RUN_PROGRESS).respond(json=fixtures()["run_reviews_progress_running"])
    progress = await client.get_run_reviews_progress("r")
    assert (
        progress.state,
        progress.total,
        progress.completed,
        progress.failed,
        progress.metric,
    ) == ("running", 2, 1, 0, None)


@pytest.mark.asyncio
async def test_run_reviews_progress_completed(client, api):
    api.get(RUN_PROGRESS).respond(json=fixtures()["run_reviews_progress_completed"])
    progress = await client.get_run_reviews_progress("r")
    assert progress.state == "completed" and progress.metric is not None
    assert [r.actual_value for r in progress.metric.reviews] == [5, 0]


@pytest.mark.asyncio
async def test_run_reviews_progress_failed(client, api):
    api.get(RUN_PROGRESS).respond(json=fixtures()["run_reviews_progress_failed"])
    progress = await client.get_run_reviews_progress("r")
    assert (progress.state, progress.failed, progress.error) == (
        "failed",
        2,
        "Evaluation failed for all test sets",
    )


@pytest.mark.asyncio
async def test_history_page(client, api):
    api.get("/test_framework/v2/metrics/12345/history/").respond(
        json=fixtures()["metric_history_page"]
    )
    page = await client.metric_history(12345)
    assert (page.count, page.previous) == (3, None)
    assert page.next.endswith("page=2&page_size=2")
    newest = page.results[0]
    assert (newest.history_id, newest.history_type, newest.id, newest.version_name) == (
        880003,
        "~",
        12345,
        None,
    )
    assert newest.history_user == {"id": 77, "name": "Ops Bot", "email": "ops-bot@example.com"}


@pytest.mark.asyncio
async def test_cron_job(client, api):
    api.get("/schedules/v1/metric-optimiser-cron-jobs/").respond(
        json=[fixtures()["metric_optimiser_cron_job"]]
    )
    (job,) = await client.list_cron_jobs()
    assert (job.id, job.project, job.crontab_expression, job.timezone) == (
        42,
        1376,
        "0 9 * * 1",
        "America/Los_Angeles",
    )
    assert (job.auto_apply, job.skip_evaluation, job.is_active, job.notify_on) == (
        False,
        False,
        True,
        "both",
    )
    assert job.created_via == "api"


@pytest.mark.asyncio
async def test_create_from_call_log_answer(client, api):
    api.post("/test_framework/test-sets/create_from_call_log/").respond(
        json=fixtures()["create_from_call_log_response"]
    )
    label = MetricFeedback(metric=12345, feedback="Caller agreed at 00:09", expected_value=5)
    test_set = await client.create_from_call_log(3358270, [label])
    assert (test_set.id, test_set.agent, test_set.source_model, test_set.source_id) == (
        9101,
        2142,
        "CallLog",
        "3358270",
    )
    (review,) = test_set.metric_reviews
    assert (review.id, review.metric, review.expected_value) == (55001, 12345, 5)
    assert review.feedback.startswith("At 00:09")
    assert review.explanation == ["No explicit confirmation phrase from the caller was detected"]


@pytest.mark.asyncio
async def test_mark_metric_vote_answer(client, api):
    route = api.post("/observability/v2/call-logs/3358270/mark_metric_vote/").respond(
        json=fixtures()["mark_metric_vote_call_log_response"]
    )
    await client.mark_metric_vote(
        3358270, metric_id=12345, thumbs_up=False, expected_value=5, feedback=None
    )
    assert route.call_count == 1
