"""Bad arguments are refused with a clear ValueError before anything is sent to Cekura."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
import respx

from tools.cekura import CekuraClient, MetricFeedback

BASE = "https://cekura.example.test"
SINCE = datetime(2026, 8, 1, tzinfo=UTC)
NAIVE = datetime(2026, 8, 1)
VOTE: dict[str, Any] = {"metric_id": 101, "thumbs_up": False, "expected_value": 5, "feedback": "f"}
LABEL = MetricFeedback(metric=101, feedback="Caller agreed at 00:09", expected_value=5)
DRAFT = {"name": "Booked", "type": "llm_judge", "eval_type": "binary", "description": "d"}


@pytest_asyncio.fixture
async def client() -> AsyncIterator[CekuraClient]:
    async with CekuraClient("ck_inputs_key_57721", BASE) as c:
        yield c


@pytest.fixture
def api() -> respx.MockRouter:
    # No routes: any request at all would fail the test.
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


Call = Callable[[CekuraClient], Awaitable[Any]]
BAD_CALLS: list[tuple[str, Call, str]] = [
    ("metric id zero", lambda c: c.get_metric(0), "metric_id must be a positive integer"),
    ("metric id negative", lambda c: c.patch_metric(-3, {"description": "x"}), "metric_id"),
    ("metric id bool", lambda c: c.metric_history(True), "metric_id"),
    ("metric id float", lambda c: c.restore_metric(1.5, 2), "metric_id"),
    (
        "metric id string to patch",
        lambda c: c.patch_metric("12", {"description": "x"}),
        "metric_id",
    ),
    ("empty slug", lambda c: c.get_metric("  "), "metric slug"),
    ("history id", lambda c: c.restore_metric(1, 0), "history_id"),
    ("start metric id", lambda c: c.start_optimisation("12345"), "metric_id"),
    ("empty test set list", lambda c: c.start_optimisation(1, test_set_ids=[]), "test_set_ids"),
    ("bad test set id", lambda c: c.start_optimisation(1, test_set_ids=[5, 0]), "test_set_ids"),
    ("unknown metric type", lambda c: c.start_optimisation(1, metric_type="fancy"), "metric_type"),
    ("empty progress id", lambda c: c.get_optimisation_progress(""), "progress_id"),
    ("progress id not text", lambda c: c.get_run_reviews_progress(42), "progress_id"),
    ("no answers", lambda c: c.answer_questions("p", {}), "answers"),
    ("blank answer", lambda c: c.answer_questions("p", {"q_1": "  "}), "q_1"),
    ("empty patch", lambda c: c.patch_metric(1, {}), "fields"),
    (
        "unknown override",
        lambda c: c.run_reviews(1, overrides={"descripton": "typo"}),
        "descripton",
    ),
    (
        "skip_save as override",
        lambda c: c.run_reviews(1, overrides={"skip_save": True}),
        "skip_save",
    ),
    ("page size too big", lambda c: c.metric_history(1, page_size=500), "page_size"),
    ("page zero", lambda c: c.metric_history(1, page=0), "page"),
    ("project id", lambda c: c.list_metrics(project_id=0), "project_id"),
    ("agent id", lambda c: c.list_metrics(agent_id=-1), "agent_id"),
    (
        "cron project",
        lambda c: c.create_cron_job(project=0, metrics=[1], crontab_expression="0 9 * * 1"),
        "project",
    ),
    (
        "cron no metrics",
        lambda c: c.create_cron_job(project=1, metrics=[], crontab_expression="0 9 * * 1"),
        "metrics",
    ),
    (
        "cron expression",
        lambda c: c.create_cron_job(project=1, metrics=[1], crontab_expression="weekly"),
        "5 fields",
    ),
    (
        "cron notify_on",
        lambda c: c.create_cron_job(
            project=1, metrics=[1], crontab_expression="0 9 * * 1", notify_on="always"
        ),
        "notify_on",
    ),
    ("cron job id", lambda c: c.delete_cron_job(0), "job_id"),
    ("cron update empty", lambda c: c.update_cron_job(1, {}), "fields"),
    ("call log id zero", lambda c: c.get_call_log(0), "call_log_id"),
    ("call log id text", lambda c: c.get_call_log("3358270"), "call_log_id"),
    ("list agent id", lambda c: c.list_call_logs(agent_id=0), "agent_id"),
    ("list project id", lambda c: c.list_call_logs(project_id=True), "project_id"),
    ("list no call ids", lambda c: c.list_call_logs(call_ids=[]), "call_ids"),
    ("list bad call id", lambda c: c.list_call_logs(call_ids=[7, -1]), "call_ids"),
    ("list page zero", lambda c: c.list_call_logs(page=0), "page"),
    ("list page size", lambda c: c.list_call_logs(page_size=201), "page_size"),
    ("list naive time", lambda c: c.list_call_logs(timestamp_from=NAIVE), "timezone-aware"),
    ("list time as text", lambda c: c.list_call_logs(timestamp_to="2026-08-01"), "datetime"),
    (
        "list window reversed",
        lambda c: c.list_call_logs(timestamp_from=SINCE, timestamp_to=SINCE - timedelta(days=1)),
        "before",
    ),
    (
        "list window over 33 days",
        lambda c: c.list_call_logs(timestamp_from=SINCE, timestamp_to=SINCE + timedelta(days=34)),
        "33 days",
    ),
    ("vote call log id", lambda c: c.mark_metric_vote(0, **VOTE), "call_log_id"),
    ("vote metric id", lambda c: c.mark_metric_vote(7, **{**VOTE, "metric_id": 0}), "metric_id"),
    (
        "vote thumbs text",
        lambda c: c.mark_metric_vote(7, **{**VOTE, "thumbs_up": "agree"}),
        "thumbs_up",
    ),
    ("vote thumbs int", lambda c: c.mark_metric_vote(7, **{**VOTE, "thumbs_up": 1}), "thumbs_up"),
    ("vote feedback", lambda c: c.mark_metric_vote(7, **{**VOTE, "feedback": 5}), "feedback"),
    ("create no metrics", lambda c: c.create_from_call_log(7, []), "metrics"),
    ("create bare ids", lambda c: c.create_from_call_log(7, [101]), "bare metric ids"),
    (
        "create dicts",
        lambda c: c.create_from_call_log(7, [{"metric": 101, "feedback": "f"}]),
        "MetricFeedback",
    ),
    ("create one metric twice", lambda c: c.create_from_call_log(7, [LABEL, LABEL]), "once"),
    ("create call log id", lambda c: c.create_from_call_log(0, [LABEL]), "call_log_id"),
    ("create project", lambda c: c.create_from_call_log(7, [LABEL], project=0), "project"),
    ("review nothing to change", lambda c: c.patch_review(55001), "expected_value or feedback"),
    ("review feedback none", lambda c: c.patch_review(55001, feedback=None), "feedback"),
    ("review id", lambda c: c.patch_review(0, feedback="f"), "review_id"),
    ("rerun all", lambda c: c.rerun_evaluation("all", agent_id=11), "call_log_ids"),
    ("rerun no calls", lambda c: c.rerun_evaluation([], agent_id=11), "call_log_ids"),
    ("rerun repeated call", lambda c: c.rerun_evaluation([7, 7], agent_id=11), "repeat"),
    ("rerun no agent", lambda c: c.rerun_evaluation([7], agent_id=None), "agent_id"),
    ("preview 11 calls", lambda c: c.preview_metric(DRAFT, list(range(1, 12))), "at most 10"),
    ("preview no calls", lambda c: c.preview_metric(DRAFT, []), "call_log_ids"),
    ("preview repeated call", lambda c: c.preview_metric(DRAFT, [7, 7]), "repeat"),
    ("preview all", lambda c: c.preview_metric(DRAFT, "all"), "call_log_ids"),
    ("preview no draft", lambda c: c.preview_metric({}, [7]), "metric_data"),
    (
        "preview unknown field",
        lambda c: c.preview_metric({**DRAFT, "llm_provider": "x"}, [7]),
        "llm_provider",
    ),
    (
        "preview program field",
        lambda c: c.preview_metric({**DRAFT, "metric_description_program": {}}, [7]),
        "metric_description_program",
    ),
    (
        "preview no eval type",
        lambda c: c.preview_metric({**DRAFT, "eval_type": None}, [7]),
        "eval_type",
    ),
    ("preview bad type", lambda c: c.preview_metric({**DRAFT, "type": "judge"}, [7]), "type"),
    ("preview long name", lambda c: c.preview_metric({**DRAFT, "name": "n" * 256}, [7]), "255"),
    ("preview agent id", lambda c: c.preview_metric(DRAFT, [7], agent_id=0), "agent_id"),
    ("preview progress id", lambda c: c.get_preview_progress(" "), "progress_id"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("name", "call", "mentions"), BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
async def test_bad_arguments_are_refused_before_any_request(client, api, name, call, mentions):
    with pytest.raises(ValueError) as caught:
        await call(client)
    assert mentions in str(caught.value)
    assert api.calls.call_count == 0


@pytest.mark.parametrize(
    ("options", "mentions"),
    [
        ({"api_key": ""}, "api_key"),
        ({"api_key": "has space"}, "api_key"),
        ({"base_url": "api.cekura.ai"}, "base_url"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"deadline_s": -1}, "deadline_s"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"backoff_max_s": float("inf")}, "backoff_max_s"),
    ],
)
def test_bad_client_settings_are_refused(options, mentions):
    settings: dict[str, Any] = {"api_key": "ck_inputs_key_57721", "base_url": BASE, **options}
    with pytest.raises(ValueError, match=mentions):
        CekuraClient(settings.pop("api_key"), settings.pop("base_url"), **settings)
