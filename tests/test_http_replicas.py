"""Stateless streamable HTTP (CEKURA_OPTIMISE_HTTP_STATELESS=1, the default with a shared
database): two server processes on one state directory behind a round-robin balancer act as one
server, for clients on either protocol era, with progress within a call; a question asked on one
replica is answered by a repeated call that another replica opens."""

import httpx2
import pytest
from e2e import http_server, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult

pytestmark = pytest.mark.anyio
TOKEN = "e2e-bearer-replicas-41c7"


class RoundRobin(httpx2.AsyncBaseTransport):
    """A load balancer without affinity: each request goes to the next replica in turn."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.sent: list[tuple[int, str]] = []
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[len(self.sent) % len(self.ports)]
        self.sent.append((port, request.method))
        request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_calls_land_on_either_replica_with_progress(loopback, tmp_path, mode):
    env = _replica_env(loopback, tmp_path)
    seen: list[str | None] = []

    async def on_progress(_progress, _total, message):
        seen.append(message)

    with http_server(env) as first, http_server(env) as second:
        ports = [httpx2.URL(url).port for url in (first, second)]
        balancer = RoundRobin(ports)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, transport=balancer) as http,
            Client(streamable_http_client(first, http_client=http), mode=mode) as client,
        ):
            tools = (await client.list_tools()).tools
            result = await client.call_tool(
                "optimise_metric", {"metric_id": 102}, progress_callback=on_progress
            )
            again = await client.call_tool("optimise_metric", {"metric_id": 102})
    assert len(tools) == 16
    assert {port for port, method in balancer.sent if method == "POST"} == set(ports)
    assert result.structured_content["status"] == "proposed"
    assert again.structured_content["status"] == "no_new_feedback"
    assert again.structured_content["proposal_id"] == result.structured_content["proposal_id"]
    assert any(message and "optimisation started" in message for message in seen)


def _replica_env(loopback, tmp_path) -> dict[str, str]:
    return server_env(
        loopback.url,
        tmp_path,
        CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN,
        CEKURA_OPTIMISE_HTTP_STATELESS="1",
    )


async def test_a_question_asked_on_one_replica_is_answered_through_the_other(loopback, tmp_path):
    asked: list[str] = []

    async def on_elicit(_ctx, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"skip": True})

    env = _replica_env(loopback, tmp_path)
    with http_server(env) as first, http_server(env) as second:
        ports = [httpx2.URL(url).port for url in (first, second)]
        balancer = RoundRobin(ports)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers, transport=balancer) as http,
            Client(
                streamable_http_client(first, http_client=http),
                mode="auto",
                elicitation_callback=on_elicit,
            ) as client,
        ):
            result = await client.call_tool("optimise_metric", {"metric_id": 103})
    assert not result.is_error, result.content
    assert result.structured_content["status"] == "proposed"
    assert len(asked) == 1 and "improving metric 103" in asked[0]
    calls = [port for port, method in balancer.sent if method == "POST"]
    assert set(calls) == set(ports)
