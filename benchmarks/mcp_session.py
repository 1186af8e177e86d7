"""Talking to an MCP server over stdio the way a host does, counting what the model would see:
one tool call per model round trip, and the bytes of each result handed to the model (the
structured content as compact JSON when there is one, as Claude Code does, else the text)."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, TextContent

from benchmarks.world import API_KEY

ROOT = Path(__file__).resolve().parents[1]
CALL_TIMEOUT_S = 3600.0


@functools.cache
def pycache_dir() -> str:
    """One bytecode cache for every server this run spawns (removed at exit), so each server
    starts from compiled modules, as an installed package does, without writing into the tree."""
    path = tempfile.mkdtemp(prefix="cekura-bench-pycache-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def child_env(env: dict[str, str]) -> dict[str, str]:
    """A spawned server's whole environment: PATH, the shared bytecode cache, and `env`."""
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPYCACHEPREFIX": pycache_dir(), **env}


def server_params(module: str, *args: str, env: dict[str, str]) -> StdioServerParameters:
    """`python -m module args…` from the repository root, with `env` (see `child_env`)."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", module, *args],
        env=child_env(env),
        cwd=str(ROOT),
    )


def server_env(base_url: str, state_dir: Path) -> dict[str, str]:
    """What both servers need to reach the loopback sandbox; our ledger goes to `state_dir`."""
    return {
        "HOME": str(state_dir),
        "CEKURA_API_KEY": API_KEY,
        "CEKURA_BASE_URL": base_url,
        "CEKURA_OPTIMISE_STATE_DIR": str(state_dir),
    }


def model_bytes(result: CallToolResult) -> int:
    """Bytes of the result the model reads."""
    if result.structured_content is not None and not result.is_error:
        text = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
        return len(text.encode())
    return sum(len(c.text.encode()) for c in result.content if isinstance(c, TextContent))


def result_text(result: CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, TextContent))


@dataclass
class ModelSide:
    """A connected client plus the tally of tool calls and bytes read through it."""

    client: Client
    calls: int = 0
    bytes_read: int = 0

    async def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        result = await self.client.call_tool(name, arguments, read_timeout_seconds=CALL_TIMEOUT_S)
        self.calls += 1
        self.bytes_read += model_bytes(result)
        return result

    async def call_json(self, name: str, arguments: dict[str, Any]) -> Any:
        """Call a raw tool and parse its text as JSON (None when it is an error text)."""
        text = result_text(await self.call(name, arguments))
        try:
            return json.loads(text)
        except ValueError:
            return None
