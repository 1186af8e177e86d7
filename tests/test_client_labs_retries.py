"""Retry policy of the call-log, Lab and preview endpoints: reads and the Lab-row PATCH are
repeated on transient failures; votes, Lab additions, re-evaluations and previews never are
(a repeat could bill or write twice). A fake clock stands in for time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import respx
from client_support import FakeClock

from tools.cekura import (
    CekuraClient,
    CekuraOutcomeUnknown,
    CekuraRateLimited,
    CekuraServerError,
    CekuraTransportError,
    MetricFeedback,
)
from tools.cekura.tally import tally_retries

pytestmark = pytest.mark.asyncio

BASE = "https://cekura.example.test"
CALL_LOGS = "/observability/v2/call-logs/"
PREVIEW = "/test_framework/v2/metrics/preview/"
DRAFT = {"name": "Booked", "type": "llm_judge", "eval_type": "binary", "description": "d"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def client(clock) -> AsyncIterator[CekuraClient]:
    async with CekuraClient(
        "ck_labs_retries_key_57721", BASE, sleep=clock.sleep, clock=clock.time
    ) as c:
        yield c


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


READS = [
    (CALL_LOGS, {"count": 0, "results": []}, lambda c: c.list_call_logs(agent_id=11)),
    (CALL_LOGS + "7/", {"id": 7, "call_id": "c"}, lambda c: c.get_call_log(7)),
    (
        "/test_framework/v2/metrics/preview-progress/",
        {"status": "in_progress"},
        lambda c: c.get_preview_progress("pv-1"),
    ),
]


@pytest.mark.parametrize(
    ("path", "answer", "call"), READS, ids=["list", "detail", "preview progress"]
)
@pytest.mark.parametrize(
    "failure",
    [
        lambda: httpx.Response(503),
        lambda: httpx.Response(429, headers={"Retry-After": "2"}),
        lambda: httpx.ReadTimeout("slow"),
    ],
    ids=["503", "429", "read timeout"],
)
async def test_reads_are_retried(client, clock, api, path, answer, call, failure):
    route = api.get(path).mock(side_effect=[failure(), httpx.Response(200, json=answer)])
    with tally_retries() as tally:
        await call(client)
    assert route.call_count == 2
    assert tally.count == 1 and len(clock.waits) == 1


async def test_lab_row_patch_is_retried_with_the_same_body(client, api):
    route = api.patch("/test_framework/metric-reviews/55001/").mock(
        side_effect=[
            httpx.Response(502),
            httpx.ConnectError("refused"),
            httpx.Response(200, json={"id": 55001, "metric": 101, "feedback": "f"}),
        ]
    )
    review = await client.patch_review(55001, feedback="f")
    assert review.id == 55001
    assert route.call_count == 3
    assert len({call.request.content for call in route.calls}) == 1


WRITES = [
    (PREVIEW, lambda c: c.preview_metric(DRAFT, [7, 8])),
    (
        CALL_LOGS + "rerun_evaluation/",
        lambda c: c.rerun_evaluation([7, 8], agent_id=11),
    ),
    (
        CALL_LOGS + "7/mark_metric_vote/",
        lambda c: c.mark_metric_vote(
            7, metric_id=101, thumbs_up=False, expected_value=5, feedback="f"
        ),
    ),
    (
        "/test_framework/test-sets/create_from_call_log/",
        lambda c: c.create_from_call_log(7, [MetricFeedback(metric=101, feedback="f")]),
    ),
]


@pytest.mark.parametrize(
    ("path", "call"), WRITES, ids=["preview", "rerun", "vote", "create_from_call_log"]
)
class TestWritesAreNeverRepeated:
    async def test_503_raises_server_error_at_once(self, client, clock, api, path, call):
        route = api.post(path).respond(503)
        with tally_retries() as tally, pytest.raises(CekuraServerError) as caught:
            await call(client)
        assert route.call_count == 1
        assert clock.waits == [] and tally.count == 0
        assert "may or may not have acted" in str(caught.value)

    async def test_429_is_rate_limited_with_its_wait(self, client, clock, api, path, call):
        route = api.post(path).respond(429, headers={"Retry-After": "30"})
        with pytest.raises(CekuraRateLimited) as caught:
            await call(client)
        assert route.call_count == 1 and clock.waits == []
        assert caught.value.retry_after == 30.0

    async def test_read_timeout_means_outcome_unknown(self, client, api, path, call):
        route = api.post(path).mock(side_effect=httpx.ReadTimeout("no answer"))
        with pytest.raises(CekuraOutcomeUnknown) as caught:
            await call(client)
        assert route.call_count == 1
        assert "may or may not" in str(caught.value)

    async def test_connect_error_is_a_plain_transport_error(self, client, api, path, call):
        route = api.post(path).mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(CekuraTransportError) as caught:
            await call(client)
        assert not isinstance(caught.value, CekuraOutcomeUnknown)
        assert route.call_count == 1
