"""The API key goes out in its header and nowhere else: not in errors, reprs or log lines,
even when Cekura (or a proxy) echoes it back in an error body."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

from tools.cekura import CekuraClient, CekuraError

BASE = "https://cekura.example.test"
KEY = "sk-live-ZEBRA-7f3a9c1e5b2d"
METRIC = "/test_framework/v2/metrics/12345/"
START = "/test_framework/metric-reviews/process_feedbacks/"


async def _no_wait(seconds: float) -> None:
    return None


def _texts_of(error: BaseException) -> list[str]:
    """Everything a user might print about an error, following its cause chain."""
    texts: list[str] = []
    seen: BaseException | None = error
    while seen is not None:
        texts += [str(seen), repr(seen), repr(seen.args)]
        for attr in ("message", "detail", "body_excerpt"):
            texts.append(str(getattr(seen, attr, "")))
        texts.append(repr(getattr(seen, "field_errors", {})))
        seen = seen.__cause__ or seen.__context__
    return texts


Scenario = tuple[str, str, Any, Callable[[CekuraClient], Awaitable[Any]]]
SCENARIOS: list[Scenario] = [
    (
        "400 echoing key",
        "PATCH",
        httpx.Response(400, json={"description": [f"bad value near {KEY}"]}),
        lambda c: c.patch_metric(12345, {"description": "x"}),
    ),
    (
        "401 echoing key",
        "GET",
        httpx.Response(401, json={"detail": f"Invalid API key '{KEY}'"}),
        lambda c: c.get_metric(12345),
    ),
    (
        "403 echoing key",
        "GET",
        httpx.Response(403, json={"detail": f"key={KEY} is project-scoped"}),
        lambda c: c.get_metric(12345),
    ),
    (
        "404 echoing key",
        "GET",
        httpx.Response(404, json={"detail": KEY}),
        lambda c: c.get_metric(12345),
    ),
    (
        "429",
        "GET",
        httpx.Response(429, headers={"Retry-After": "1"}, json={"detail": f"throttled {KEY}"}),
        lambda c: c.get_metric(12345),
    ),
    (
        "500 html echoing key",
        "GET",
        httpx.Response(
            500, text=f"<html><title>Error</title><p>X-CEKURA-API-KEY: {KEY}</p></html>"
        ),
        lambda c: c.get_metric(12345),
    ),
    (
        "2xx html echoing key",
        "GET",
        httpx.Response(200, text=f"<html><body>Hello {KEY}</body></html>"),
        lambda c: c.get_metric(12345),
    ),
    (
        "2xx missing field",
        "GET",
        httpx.Response(200, json={"id": 12345, "description": KEY}),
        lambda c: c.get_metric(12345),
    ),
    (
        "connect error",
        "GET",
        httpx.ConnectError(f"refused for {KEY}"),
        lambda c: c.get_metric(12345),
    ),
    (
        "post read timeout",
        "POST",
        httpx.ReadTimeout("timed out"),
        lambda c: c.start_optimisation(12345),
    ),
    (
        "post 503",
        "POST",
        httpx.Response(503, json={"detail": f"upstream {KEY}"}),
        lambda c: c.start_optimisation(12345),
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("name", "method", "answer", "call"), SCENARIOS, ids=[s[0] for s in SCENARIOS]
)
async def test_key_never_appears_in_errors_or_logs(caplog, name, method, answer, call):
    caplog.set_level(logging.DEBUG)  # every logger, httpx's included
    path = START if method == "POST" else METRIC
    with respx.mock(base_url=BASE, assert_all_called=True) as api:
        route = api.route(method=method, path=path)
        route.mock(side_effect=answer) if isinstance(answer, Exception) else route.mock(
            return_value=answer
        )
        async with CekuraClient(KEY, BASE, sleep=_no_wait, max_attempts=2) as client:
            with pytest.raises(CekuraError) as caught:
                await call(client)
    # The key was really in play: it went out in its header.
    assert route.calls.last.request.headers["X-CEKURA-API-KEY"] == KEY
    for text in _texts_of(caught.value):
        assert KEY not in text
    assert caplog.records, "expected the client to log something at DEBUG"
    for record in caplog.records:
        assert KEY not in record.getMessage()
    assert KEY not in caplog.text


@pytest.mark.asyncio
async def test_echoed_key_is_replaced_not_dropped():
    with respx.mock(base_url=BASE) as api:
        api.get(METRIC).respond(401, json={"detail": f"Invalid API key '{KEY}'"})
        async with CekuraClient(KEY, BASE) as client:
            with pytest.raises(CekuraError) as caught:
                await client.get_metric(12345)
    assert "Invalid API key '[redacted]'" in str(caught.value)


@pytest.mark.asyncio
async def test_client_repr_hides_the_key():
    async with CekuraClient(KEY, BASE) as client:
        assert KEY not in repr(client) and KEY not in str(client)
        assert BASE in repr(client)


def test_rejected_key_is_not_echoed_in_the_validation_error():
    bad = KEY + " \n"
    with pytest.raises(ValueError) as caught:
        CekuraClient(bad, BASE)
    assert KEY not in str(caught.value)
