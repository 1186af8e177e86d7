"""End to end over streamable HTTP: a paused run's question reaches the person through the
server process, live on 2025-11-25 and as a repeated call on 2026-07-28, and the run finishes."""

import httpx2
import pytest
from e2e import http_server, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ElicitResult

pytestmark = pytest.mark.anyio
TOKEN = "e2e-bearer-elicit-4a5b6c"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_question_answered_over_http_finishes_the_run(loopback, tmp_path, mode):
    asked = []

    async def on_elicit(_ctx, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"skip": True})

    env = server_env(loopback.url, tmp_path, CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN)
    with http_server(env) as url:
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(
                streamable_http_client(url, http_client=http),
                mode=mode,
                elicitation_callback=on_elicit,
            ) as client,
        ):
            result = await client.call_tool("optimise_metric", {"metric_id": 103})
    assert not result.is_error, result.content
    assert result.structured_content["status"] == "proposed"
    assert len(asked) == 1 and "improving metric 103" in asked[0]
