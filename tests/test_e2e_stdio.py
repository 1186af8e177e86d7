"""End to end over stdio: the server as a subprocess, the SDK's Client, the sandbox on loopback."""

import sys

import pytest
from e2e import API_KEY, READ_ONLY_PASS, ROOT, server_env
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio


def _params(loopback, tmp_path, **extra):
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "server"],
        env=server_env(loopback.url, tmp_path, **extra),
        cwd=str(ROOT),
    )


async def test_routine_over_stdio_reports_each_seeded_metric(loopback, tmp_path):
    progress = []

    async def on_progress(value, total, message):
        progress.append(message)

    async with Client(_params(loopback, tmp_path)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert len(tools) == 16
        assert tools["diff_proposal"].annotations.read_only_hint is True
        assert tools["apply_if_not_regressed"].annotations.destructive_hint is True
        result = await client.call_tool(
            "optimise_metrics", {"metric_ids": list(READ_ONLY_PASS)}, progress_callback=on_progress
        )
        assert not result.is_error, result.content
        statuses = {m["metric_id"]: m["status"] for m in result.structured_content["metrics"]}
        assert statuses == READ_ONLY_PASS
        prompt = await client.get_prompt("optimise_routine", {"metric_ids": "101,102"})
        assert "metric_ids=[101, 102]" in prompt.messages[0].content.text
    assert len(progress) >= len(READ_ONLY_PASS)
    assert any("6/6 metrics done" in (m or "") for m in progress)
    assert loopback.state.count("metric_patch") == 0


async def test_key_never_reaches_what_the_client_sees(loopback, tmp_path):
    async with Client(_params(loopback, tmp_path)) as client:
        bad = await client.call_tool("diff_proposal", {"metric_id": 424242})
        ok = await client.call_tool("optimise_metric", {"metric_id": 105})
    assert bad.is_error and "no metric 424242" in bad.content[0].text
    for result in (bad, ok):
        assert API_KEY not in str(result.model_dump())
    ledger = (tmp_path / "ledger.sqlite3").read_bytes()
    assert API_KEY.encode() not in ledger
