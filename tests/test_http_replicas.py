"""Stateless streamable HTTP: two server processes on one state directory behind a round-robin
balancer act as one server, for clients on either protocol era, with progress within a call."""

import httpx2
import pytest
from e2e import http_server, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

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
    env = server_env(loopback.url, tmp_path, CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN)
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
