"""What the model reads to know our tools stays small: name, description and input schema of every
tool, as tools/list sends them, within 12 KB for the whole server, with no giant numbers."""

import json
import re

import pytest
from mcp import Client

from server.app import build_server
from server.runtime import Runtime
from server.settings import Settings

pytestmark = pytest.mark.anyio

BUDGET = 12_000
JS_SAFE = 2**53 - 1


@pytest.fixture
async def listed(tmp_path):
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    async with Client(build_server(runtime=live)) as client:
        tools = (await client.list_tools()).tools
    await live.aclose()
    return [
        {"name": t.name, "description": t.description, "inputSchema": t.input_schema} for t in tools
    ]


async def test_tool_definitions_fit_the_context_budget(listed):
    size = len(json.dumps(listed, separators=(",", ":"), ensure_ascii=False).encode())
    assert len(listed) >= 16
    assert size <= BUDGET, f"tool definitions take {size} bytes"


async def test_no_schema_number_is_beyond_what_javascript_holds_exactly(listed):
    numbers = [int(n) for n in re.findall(r"-?\d+", json.dumps([t["inputSchema"] for t in listed]))]
    assert max(numbers) <= JS_SAFE


async def test_schemas_carry_no_generated_titles_and_no_null_unions(listed):
    assert '"title"' not in json.dumps([t["inputSchema"] for t in listed])
    arguments = [p for t in listed for p in t["inputSchema"]["properties"].values()]
    assert not [p for p in arguments if {"type": "null"} in p.get("anyOf", [])]
    revert = next(t for t in listed if t["name"] == "revert_metric")
    assert revert["inputSchema"]["properties"]["history_id"] == {
        "exclusiveMinimum": 0,
        "type": "integer",
        "description": "Restore this history row instead",
    }


async def test_a_history_id_past_int64_is_still_refused(tmp_path):
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    async with Client(build_server(runtime=live)) as client:
        result = await client.call_tool("revert_metric", {"metric_id": 101, "history_id": 2**63})
    await live.aclose()
    assert result.is_error
    text = result.content[0].text
    assert "history_id" in text and "must be a whole number from 1 to 9223372036854775807" in text
