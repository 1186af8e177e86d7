"""Retry policy: which calls are repeated, on what, how long the client waits, and when it stops.
A fake clock stands in for time: `sleep` records each wait and moves the clock forward."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import httpx
import pytest
import pytest_asyncio
import respx
from client_support import FakeClock

from openapi_schemas import fixtures
from tools.cekura import (
    CekuraClient,
    CekuraNotFound,
    CekuraOutcomeUnknown,
    CekuraRateLimited,
    CekuraServerError,
    CekuraTransportError,
)
from tools.cekura.tally import tally_retries

pytestmark = pytest.mark.asyncio

BASE = "https://cekura.example.test"
KEY = "ck_retries_key_27182"
METRIC = "/test_framework/v2/metrics/12345/"
START = "/test_framework/metric-reviews/process_feedbacks/"
RUN_REVIEWS = METRIC + "run_reviews/"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(clock: FakeClock, **options) -> CekuraClient:
    settings = {"deadline_s": 120.0, "max_attempts": 5, "backoff_initial_s": 0.5}
    settings.update(options)
    return CekuraClient(KEY, BASE, sleep=clock.sleep, clock=clock.time, **settings)


@pytest_asyncio.fixture
async def client(clock) -> AsyncIterator[CekuraClient]:
    async with make_client(clock) as c:
        yield c


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def metric_json() -> dict:
    return fixtures()["metric_detail"]


# ---------------------------------------------------------------- repeated calls


async def test_get_is_retried_on_503_then_succeeds(client, clock, api):
    route = api.get(METRIC).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(503),
            httpx.Response(200, json=metric_json()),
        ]
    )
    with tally_retries() as tally:
        metric = await client.get_metric(12345)
    assert metric.id == 12345
    assert route.call_count == 3
    assert tally.count == 2
    # capped exponential backoff with jitter: between half and all of 0.5 s, then of 1 s
    assert len(clock.waits) == 2
    assert 0.25 <= clock.waits[0] <= 0.5
    assert 0.5 <= clock.waits[1] <= 1.0


async def test_backoff_is_capped_at_backoff_max(clock, api):
    route = api.get(METRIC).mock(
        side_effect=[httpx.Response(500)] * 5 + [httpx.Response(200, json=metric_json())]
    )
    async with make_client(clock, max_attempts=6, backoff_initial_s=1.0, backoff_max_s=2.0) as c:
        await c.get_metric(12345)
    assert route.call_count == 6
    assert all(w <= 2.0 for w in clock.waits)
    assert all(w >= 1.0 for w in clock.waits[1:])  # half of the 2 s cap at least


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_get_is_retried_on_each_transient_status(client, api, status):
    route = api.get(METRIC).mock(
        side_effect=[httpx.Response(status), httpx.Response(200, json=metric_json())]
    )
    await client.get_metric(12345)
    assert route.call_count == 2


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
async def test_get_is_retried_on_connection_failures(client, api, failure):
    route = api.get(METRIC).mock(side_effect=[failure, httpx.Response(200, json=metric_json())])
    with tally_retries() as tally:
        await client.get_metric(12345)
    assert route.call_count == 2
    assert tally.count == 1


async def test_get_gives_up_after_max_attempts_of_connection_failures(clock, api):
    route = api.get(METRIC).mock(side_effect=httpx.ConnectError("refused"))
    async with make_client(clock, max_attempts=3) as c:
        with pytest.raises(CekuraTransportError) as caught:
            await c.get_metric(12345)
    assert not isinstance(caught.value, CekuraOutcomeUnknown)
    assert route.call_count == 3
    assert "after 3 attempts" in str(caught.value)


async def test_client_errors_are_not_retried(client, clock, api):
    route = api.get(METRIC).respond(404, json={"detail": "Not found."})
    with pytest.raises(CekuraNotFound):
        await client.get_metric(12345)
    assert route.call_count == 1
    assert clock.waits == []


async def test_patch_is_retried_on_502_with_the_same_body(client, api):
    patch = fixtures()["metric_patch_from_success"]
    route = api.patch(METRIC).mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={**metric_json(), **patch})]
    )
    await client.patch_metric(12345, patch)
    assert route.call_count == 2
    first, second = (call.request.content for call in route.calls)
    assert first == second


async def test_restore_is_retried_on_500(client, api):
    route = api.post(METRIC + "restore/").mock(
        side_effect=[httpx.Response(500), httpx.Response(200, json=metric_json())]
    )
    await client.restore_metric(12345, 880002)
    assert route.call_count == 2


async def test_cancel_is_retried_on_read_timeout(client, api):
    route = api.post("/test_framework/metric-reviews/process_feedbacks_cancel/").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={"detail": "cancelled"})]
    )
    await client.cancel_optimisation("p-1")
    assert route.call_count == 2


async def test_progress_poll_is_retried(client, api):
    route = api.get("/test_framework/metric-reviews/process_feedbacks_progress/").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"status": "in_progress"})]
    )
    assert (await client.get_optimisation_progress("p-1")).state == "running"
    assert route.call_count == 2


async def test_delete_retry_that_finds_the_job_gone_counts_as_deleted(client, api):
    route = api.delete("/schedules/v1/metric-optimiser-cron-jobs/42/").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(404, json={"detail": "Not found."})]
    )
    await client.delete_cron_job(42)
    assert route.call_count == 2


async def test_delete_of_a_missing_job_on_first_attempt_is_not_found(client, api):
    api.delete("/schedules/v1/metric-optimiser-cron-jobs/42/").respond(
        404, json={"detail": "Not found."}
    )
    with pytest.raises(CekuraNotFound):
        await client.delete_cron_job(42)


# ---------------------------------------------------------------- Retry-After and the deadline


async def test_retry_after_seconds_is_honoured(client, clock, api):
    route = api.get(METRIC).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json=fixtures()["errors"]["429"]),
            httpx.Response(200, json=metric_json()),
        ]
    )
    await client.get_metric(12345)
    assert route.call_count == 2
    assert clock.waits == [7.0]


async def test_retry_after_http_date_is_honoured(client, clock, api):
    when = datetime.now(UTC) + timedelta(seconds=30)
    route = api.get(METRIC).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": format_datetime(when, usegmt=True)}),
            httpx.Response(200, json=metric_json()),
        ]
    )
    await client.get_metric(12345)
    assert route.call_count == 2
    assert len(clock.waits) == 1
    assert 28.0 <= clock.waits[0] <= 30.0  # the date has whole-second precision


async def test_retry_after_on_503_is_honoured(client, clock, api):
    api.get(METRIC).mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "3"}),
            httpx.Response(200, json=metric_json()),
        ]
    )
    await client.get_metric(12345)
    assert clock.waits == [3.0]


async def test_retry_after_longer_than_the_deadline_gives_up_without_waiting(clock, api):
    route = api.get(METRIC).respond(429, headers={"Retry-After": "30"})
    async with make_client(clock, deadline_s=10) as c:
        with pytest.raises(CekuraRateLimited) as caught:
            await c.get_metric(12345)
    assert route.call_count == 1
    assert clock.waits == []
    assert caught.value.retry_after == 30.0


async def test_deadline_bounds_all_attempts_and_waits(clock, api):
    route = api.get(METRIC).respond(503)
    async with make_client(clock, deadline_s=3.0, max_attempts=50, backoff_initial_s=1.0) as c:
        with pytest.raises(CekuraServerError):
            await c.get_metric(12345)
    assert sum(clock.waits) < 3.0
    assert 2 <= route.call_count < 50


async def test_rate_limit_after_retries_run_out(clock, api):
    route = api.get(METRIC).respond(
        429, headers={"Retry-After": "1"}, json=fixtures()["errors"]["429"]
    )
    async with make_client(clock, max_attempts=3) as c:
        with pytest.raises(CekuraRateLimited) as caught:
            await c.get_metric(12345)
    assert route.call_count == 3
    assert clock.waits == [1.0, 1.0]
    assert caught.value.status == 429 and caught.value.retry_after == 1.0
    assert "after 3 attempts" in str(caught.value)


async def test_retries_are_logged_as_warnings(client, api, caplog):
    caplog.set_level(logging.DEBUG, logger="cekura_optimise.client")
    api.get(METRIC).mock(side_effect=[httpx.Response(503), httpx.Response(200, json=metric_json())])
    await client.get_metric(12345)
    warnings = [
        r
        for r in caplog.records
        if r.name == "cekura_optimise.client" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert "retrying" in warnings[0].getMessage() and METRIC in warnings[0].getMessage()


async def test_retry_tally_accumulates_across_calls(client, api):
    api.get(METRIC).mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json=metric_json()),
            httpx.Response(200, json=metric_json()),
        ]
    )
    with tally_retries() as both:
        await client.get_metric(12345)
        with tally_retries() as last:
            await client.get_metric(12345)
    assert both.count == 1
    assert last.count == 0


# ---------------------------------------------------------------- calls that are never repeated


@pytest.mark.parametrize(
    ("path", "call"),
    [
        (START, lambda c: c.start_optimisation(12345)),
        (RUN_REVIEWS, lambda c: c.run_reviews(12345)),
    ],
    ids=["process_feedbacks", "run_reviews"],
)
class TestJobStartsAreNeverRepeated:
    async def test_503_raises_server_error_at_once(self, client, clock, api, path, call):
        route = api.post(path).respond(503)
        with tally_retries() as tally, pytest.raises(CekuraServerError) as caught:
            await call(client)
        assert route.call_count == 1
        assert clock.waits == [] and tally.count == 0
        assert "may or may not have acted" in str(caught.value)

    async def test_read_timeout_means_outcome_unknown(self, client, api, path, call):
        route = api.post(path).mock(side_effect=httpx.ReadTimeout("no answer"))
        with pytest.raises(CekuraOutcomeUnknown) as caught:
            await call(client)
        assert route.call_count == 1
        assert "may or may not" in str(caught.value)

    async def test_dropped_connection_after_sending_means_outcome_unknown(
        self, client, api, path, call
    ):
        route = api.post(path).mock(side_effect=httpx.RemoteProtocolError("server disconnected"))
        with pytest.raises(CekuraOutcomeUnknown):
            await call(client)
        assert route.call_count == 1

    async def test_connect_error_is_a_plain_transport_error(self, client, api, path, call):
        route = api.post(path).mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(CekuraTransportError) as caught:
            await call(client)
        assert not isinstance(caught.value, CekuraOutcomeUnknown)
        assert route.call_count == 1

    async def test_429_is_not_retried_either(self, client, clock, api, path, call):
        route = api.post(path).respond(429, headers={"Retry-After": "2"})
        with pytest.raises(CekuraRateLimited) as caught:
            await call(client)
        assert route.call_count == 1 and clock.waits == []
        assert caught.value.retry_after == 2.0


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        (
            "POST",
            "/test_framework/metric-reviews/process_feedbacks_answer/",
            lambda c: c.answer_questions("p", {"q": None}),
        ),
        (
            "POST",
            METRIC + "apply_optimisation_proposal/",
            lambda c: c.apply_pending_proposal(12345),
        ),
        (
            "POST",
            METRIC + "dismiss_optimisation_proposal/",
            lambda c: c.dismiss_pending_proposal(12345),
        ),
        (
            "POST",
            "/schedules/v1/metric-optimiser-cron-jobs/",
            lambda c: c.create_cron_job(project=1, metrics=[2], crontab_expression="0 9 * * 1"),
        ),
    ],
    ids=["answer", "apply", "dismiss", "create_cron_job"],
)
async def test_other_non_idempotent_posts_are_not_repeated(client, api, method, path, call):
    route = api.route(method=method, path=path).mock(
        side_effect=[httpx.Response(503), httpx.ReadTimeout("slow")]
    )
    with pytest.raises(CekuraServerError):
        await call(client)
    with pytest.raises(CekuraOutcomeUnknown):
        await call(client)
    assert route.call_count == 2  # one request per call


# ---------------------------------------------------------------- a server that never answers


def hanging(seen: list[str]):
    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        await anyio.sleep(30)
        return httpx.Response(200, json={})

    return handler


async def test_deadline_cuts_off_a_server_that_never_answers():
    seen: list[str] = []
    with respx.mock(base_url=BASE, assert_all_called=False) as api:
        api.get(METRIC).mock(side_effect=hanging(seen))
        async with CekuraClient(KEY, BASE, deadline_s=0.2, timeout_s=30) as c:
            with anyio.fail_after(5), pytest.raises(CekuraTransportError) as caught:
                await c.get_metric(12345)
    assert "deadline" in str(caught.value)
    assert seen == [METRIC]  # no further attempt once the deadline is spent


async def test_deadline_on_a_job_start_means_outcome_unknown():
    seen: list[str] = []
    with respx.mock(base_url=BASE, assert_all_called=False) as api:
        api.post(START).mock(side_effect=hanging(seen))
        async with CekuraClient(KEY, BASE, deadline_s=0.2, timeout_s=30) as c:
            with anyio.fail_after(5), pytest.raises(CekuraOutcomeUnknown):
                await c.start_optimisation(12345)
    assert seen == [START]
