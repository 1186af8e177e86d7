"""End to end over streamable HTTP: the bearer token is required, and the tools work with it."""

import subprocess
import sys

import httpx
import httpx2
import pytest
from e2e import ROOT, http_server, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.anyio
TOKEN = "e2e-bearer-0c1d2e3f"


async def test_http_needs_the_bearer_token(loopback, tmp_path):
    env = server_env(loopback.url, tmp_path, CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN)
    with http_server(env) as url:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        async with httpx.AsyncClient() as raw:
            missing = await raw.post(url, json=body)
            wrong = await raw.post(url, json=body, headers={"Authorization": "Bearer nope"})
        assert missing.status_code == 401 and wrong.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            tools = (await client.list_tools()).tools
            result = await client.call_tool("optimise_metric", {"metric_id": 101})
    assert len(tools) == 16
    assert result.structured_content["status"] == "proposed"


def test_refuses_a_public_address_without_a_token(loopback, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "server", "--transport", "http", "--host", "0.0.0.0"],
        env=server_env(loopback.url, tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "CEKURA_OPTIMISE_HTTP_TOKEN" in proc.stderr
