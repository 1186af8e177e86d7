"""End to end over stdio (issue 12): list → schedule → fire (sandbox) → diff_proposal shows the
pending proposal → apply_if_not_regressed applies it through our guard and clears it."""

import sys

import httpx
import pytest
from e2e import API_KEY, ROOT, server_env
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio


async def test_a_fired_schedules_pending_proposal_is_diffed_and_applied_over_stdio(
    loopback, tmp_path
):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "server"],
        env=server_env(loopback.url, tmp_path),
        cwd=str(ROOT),
    )
    async with Client(params) as client:
        listed = await client.call_tool("list_optimiser_schedules", {})
        assert listed.structured_content.get("schedules", []) == []
        created = await client.call_tool(
            "schedule_optimiser",
            {"metric_ids": [101], "cron": "0 9 * * 1", "timezone": "Europe/London"},
        )
        assert created.structured_content["status"] == "created", created.content
        schedule_id = created.structured_content["schedule_id"]
        listed = await client.call_tool("list_optimiser_schedules", {})
        (schedule,) = listed.structured_content["schedules"]
        assert schedule["schedule_id"] == schedule_id and schedule["auto_apply"] is False

        async with httpx.AsyncClient(
            base_url=loopback.url, headers={"X-CEKURA-API-KEY": API_KEY}
        ) as sandbox:
            fired = await sandbox.post(f"/sandbox/cron_jobs/{schedule_id}/fire/")
        assert fired.json()["results"][0]["status"] == "pending"
        pending = loopback.state.metric(101)["pending_optimisation_proposal"]

        diff = (await client.call_tool("diff_proposal", {"metric_id": 101})).structured_content
        assert (diff["status"], diff["source"]) == ("ok", "pending_proposal")
        assert diff["changed_fields"] == ["description"]
        assert diff["next_steps"] == ["apply_if_not_regressed(metric_id=101, source='pending')"]

        applied = await client.call_tool("apply_if_not_regressed", {"metric_id": 101})
        result = applied.structured_content
        assert result["status"] == "applied", applied.content
        assert result["proposal_id"] == diff["proposal_id"]
        assert (result["verified_baseline"]["correct"], result["verified"]["correct"]) == (3, 6)
    metric = loopback.state.metric(101)
    assert metric["description"] == pending["description"]
    assert metric["pending_optimisation_proposal"] is None
    assert loopback.state.count("apply_proposal") == 0
    assert loopback.state.count("metric_patch", effective=True) == 1
