"""Two stdio server processes sharing one ledger, racing on the same metric."""

import sys

import anyio
import pytest
from e2e import API_KEY, ROOT, server_env
from mcp import Client, StdioServerParameters

from sandbox import SandboxState, start_background

pytestmark = pytest.mark.anyio


async def test_two_servers_start_one_run_share_the_proposal_and_write_once(tmp_path):
    state = SandboxState.seeded(optimiser_seconds=1.5, run_reviews_polls=0, api_keys=[API_KEY])
    with start_background(state) as sandbox:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "server"],
            env=server_env(sandbox.url, tmp_path),
            cwd=str(ROOT),
        )
        async with Client(params) as a, Client(params) as b:
            optimised, applied = {}, {}

            async def race(name, client, tool, out):
                out[name] = (await client.call_tool(tool, {"metric_id": 101})).structured_content

            async with anyio.create_task_group() as tg:
                tg.start_soon(race, "a", a, "optimise_metric", optimised)
                tg.start_soon(race, "b", b, "optimise_metric", optimised)
            async with anyio.create_task_group() as tg:
                tg.start_soon(race, "a", a, "apply_if_not_regressed", applied)
                tg.start_soon(race, "b", b, "apply_if_not_regressed", applied)
    assert state.count("process_feedbacks") == 1
    assert optimised["a"]["proposal_id"] == optimised["b"]["proposal_id"]
    assert sorted(r["status"] for r in applied.values()) == ["already_applied", "applied"]
    assert state.count("metric_patch", effective=True) == 1
