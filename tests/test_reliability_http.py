"""Authenticated HTTP: constant-time token check, 401s, body size limit, read-only refusals."""

import hmac

import httpx
import pytest
from e2e import http_server, server_env

from server.http import BearerAuth, is_loopback

pytestmark = pytest.mark.anyio
TOKEN = "http-token-4b5c6d7e8f90"


async def test_wrong_or_missing_token_is_401_and_oversized_bodies_are_refused(loopback, tmp_path):
    env = server_env(loopback.url, tmp_path, CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN)
    with http_server(env) as url:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        headers = {
            "Authorization": f"Bearer {TOKEN}",
            "Accept": "application/json, text/event-stream",
        }
        async with httpx.AsyncClient() as raw:
            for bad in (
                {},
                {"Authorization": "Bearer"},
                {"Authorization": f"Bearer {TOKEN}x"},
                {"Authorization": TOKEN},
                {"Authorization": f"bearer {TOKEN[:-1]}"},
            ):
                assert (await raw.post(url, json=body, headers=bad)).status_code == 401
            huge = {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/list",
                "params": {"x": "y" * 2_000_000},
            }
            too_big = await raw.post(url, json=huge, headers=headers)
    assert too_big.status_code == 413


async def test_token_is_compared_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    transport = httpx.ASGITransport(app=BearerAuth(app, "s3cret"))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (
            await client.get("/", headers={"Authorization": "Bearer s3cret"})
        ).status_code == 200
        assert (await client.get("/", headers={"Authorization": "Bearer nope"})).status_code == 401
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback_detection(host, expected):
    assert is_loopback(host) is expected


async def test_read_only_mode_refuses_every_destructive_tool_before_any_request(tmp_path):
    from mcp import Client

    from server.app import build_server
    from server.runtime import Runtime
    from server.settings import Settings

    runtime = Runtime(Settings(sandbox=True, read_only=True, state_dir=tmp_path))
    await runtime.workflow()
    state = runtime.sandbox_state
    calls = [
        ("apply_if_not_regressed", {"metric_id": 101}),
        ("revert_metric", {"metric_id": 101}),
        ("cancel_optimisation", {"metric_id": 101}),
        ("optimise_metrics", {"metric_ids": [101], "apply": True}),
    ]
    async with Client(build_server(runtime=runtime)) as client:
        for name, args in calls:
            result = await client.call_tool(name, args)
            refused = result.is_error or result.structured_content["status"] == "not_applied_unsafe"
            assert refused, name
            assert "read-only" in (
                result.content[0].text if result.is_error else str(result.structured_content)
            )
    await runtime.aclose()
    assert state.requests == []
