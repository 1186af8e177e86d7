"""Secrets: with a distinctive API key and bearer token, nothing we emit contains either."""

import subprocess
import sys

import httpx
import httpx2
import pytest
from e2e import ROOT, http_server, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from sandbox import SandboxState, start_background

pytestmark = pytest.mark.anyio
KEY = "ck_live_SECRET_9f8e7d6c5b4a"
TOKEN = "bearer_SECRET_1a2b3c4d5e6f"
RUN = "import sys; from server.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY])
    with start_background(state) as server:
        yield server


def _env(sandbox, tmp_path, key=KEY):
    env = server_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN)
    env["CEKURA_API_KEY"] = key
    return env


def _clean(*texts: str) -> None:
    for text in texts:
        assert KEY not in text and TOKEN not in text


def test_cli_output_logs_and_ledger_hold_no_secret(sandbox, tmp_path):
    for args in (["--json"], ["--apply", "--diffs"], ["--apply", "--json"]):
        proc = subprocess.run(
            [sys.executable, "-c", RUN, "run", "-vv", "--metrics", "101,103,104,106,999", *args],
            env=_env(sandbox, tmp_path),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "DEBUG" in proc.stderr
        _clean(proc.stdout, proc.stderr)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes() and TOKEN.encode() not in path.read_bytes()


def test_a_rejected_key_is_reported_without_echoing_it(sandbox, tmp_path):
    wrong = "ck_live_SECRET_wrong_000000"
    proc = subprocess.run(
        [sys.executable, "-c", RUN, "run", "-vv", "--metrics", "101"],
        env=_env(sandbox, tmp_path, key=wrong),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "refused the API key" in proc.stdout
    assert wrong not in proc.stdout + proc.stderr


async def test_http_responses_and_debug_logs_hold_no_secret(tmp_path):
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY])
    log = tmp_path / "server.log"
    with (
        start_background(state) as sandbox,
        http_server(_env(sandbox, tmp_path / "state"), "-vv", stderr_path=log) as url,
    ):
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        async with httpx.AsyncClient() as raw:
            denied = await raw.post(url, json=body, headers={"Authorization": "Bearer wrong"})
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            results = [
                await client.call_tool("optimise_metrics", {"metric_ids": [101, 104, 999]}),
                await client.call_tool("apply_if_not_regressed", {"metric_id": 101}),
                await client.call_tool("revert_metric", {"metric_id": 101}),
                await client.call_tool("diff_proposal", {"metric_id": 424242}),
            ]
    assert denied.status_code == 401
    assert results[1].structured_content["status"] == "applied"
    assert results[3].is_error
    logged = log.read_text()
    assert "DEBUG cekura_optimise.client: PATCH" in logged
    _clean(denied.text, str(denied.headers), logged, *(r.model_dump_json() for r in results))
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data and TOKEN.encode() not in data
