"""Bad arguments are refused with a clear ValueError before anything is sent to Cekura."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
import respx

from tools.cekura import CekuraClient

BASE = "https://cekura.example.test"


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
