"""The MCP server in memory with the SDK's Client: tool surface, results, progress, errors, prompts."""

import pytest
from mcp import Client

from server.app import build_server
from server.runtime import Runtime
from server.settings import Settings

pytestmark = pytest.mark.anyio

TOOLS = {
    "optimise_metric",
    "diff_proposal",
    "apply_if_not_regressed",
    "revert_metric",
    "optimise_metrics",
    "answer_optimiser_questions",
    "cancel_optimisation",
    "review_results",
    "label_call",
    "lab_status",
    "check_on_calls",
    "validate_on_calls",
    "list_optimiser_schedules",
    "schedule_optimiser",
    "update_optimiser_schedule",
    "delete_optimiser_schedule",
}


@pytest.fixture
async def runtime(tmp_path):
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    yield live
    await live.aclose()


async def test_tools_are_listed_with_truthful_annotations(runtime):
    async with Client(build_server(runtime=runtime)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name in ("diff_proposal", "review_results", "lab_status", "list_optimiser_schedules"):
        assert tools[name].annotations.read_only_hint is True
    assert tools["check_on_calls"].annotations.read_only_hint is False  # it spends credits
    for name in (
        "apply_if_not_regressed",
        "revert_metric",
        "optimise_metrics",
        "label_call",
        "validate_on_calls",
        "update_optimiser_schedule",
        "delete_optimiser_schedule",
    ):
        assert tools[name].annotations.destructive_hint is True
    for name in ("optimise_metric", "schedule_optimiser", "list_optimiser_schedules"):
        assert tools[name].annotations.destructive_hint is False
    assert tools["schedule_optimiser"].annotations.read_only_hint is False
    assert all(t.output_schema for t in tools.values())
    assert "metric_id" in tools["optimise_metric"].input_schema["required"]


async def test_read_only_mode_is_reflected_in_annotations(tmp_path):
    live = Runtime(Settings(sandbox=True, read_only=True, state_dir=tmp_path))
    async with Client(build_server(runtime=live)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    await live.aclose()
    assert tools["optimise_metrics"].annotations.destructive_hint is False
    for name in (
        "apply_if_not_regressed",
        "revert_metric",
        "cancel_optimisation",
        "label_call",
        "validate_on_calls",
        "schedule_optimiser",
        "update_optimiser_schedule",
        "delete_optimiser_schedule",
    ):
        assert tools[name].annotations.destructive_hint is False
        assert tools[name].annotations.read_only_hint is True


async def test_optimise_then_apply_through_mcp_with_progress(runtime):
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, message))

    async with Client(build_server(runtime=runtime)) as client:
        result = await client.call_tool(
            "optimise_metric", {"metric_id": 101}, progress_callback=on_progress
        )
        assert not result.is_error
        assert result.structured_content["status"] == "proposed"
        applied = await client.call_tool("apply_if_not_regressed", {"metric_id": 101})
        assert applied.structured_content["status"] == "applied"
    assert seen and all(m for _, m in seen)
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)


async def test_a_schedule_is_made_listed_and_deleted_through_mcp(runtime):
    args = {"metric_ids": [101], "cron": "0 9 * * 1", "timezone": "America/Los_Angeles"}
    async with Client(build_server(runtime=runtime)) as client:
        made = await client.call_tool("schedule_optimiser", args)
        assert made.structured_content["status"] == "created"
        schedule_id = made.structured_content["schedule_id"]
        listed = await client.call_tool("list_optimiser_schedules", {})
        (view,) = listed.structured_content["schedules"]
        assert view["schedule_id"] == schedule_id and len(view["next_firings"]) == 3
        bad = await client.call_tool("schedule_optimiser", {**args, "cron": "61 * * * *"})
        assert bad.is_error and "minute 61 is out of range 0–59" in bad.content[0].text
        gone = await client.call_tool("delete_optimiser_schedule", {"schedule_id": schedule_id})
        assert gone.structured_content["status"] == "deleted"
    assert runtime.sandbox_state.count("cron_create") == 1


async def test_input_errors_are_readable_and_change_nothing(runtime):
    async with Client(build_server(runtime=runtime)) as client:
        bad = await client.call_tool("optimise_metric", {"metric_id": 0})
        assert bad.is_error
        unknown = await client.call_tool(
            "apply_if_not_regressed", {"metric_id": 101, "proposal_id": "prop_missing"}
        )
        assert unknown.is_error
        assert "prop_missing" in unknown.content[0].text
        assert "optimise_metric" in unknown.content[0].text
    assert runtime.sandbox_state.count("metric_patch") == 0


async def test_missing_key_is_a_clear_error_at_the_first_call(tmp_path):
    live = Runtime(Settings(state_dir=tmp_path))
    async with Client(build_server(runtime=live)) as client:
        assert len((await client.list_tools()).tools) == len(TOOLS)
        result = await client.call_tool("diff_proposal", {"metric_id": 101})
    await live.aclose()
    assert result.is_error
    assert "CEKURA_API_KEY is not set" in result.content[0].text


async def test_prompts_fill_in_the_metric_ids(runtime):
    async with Client(build_server(runtime=runtime)) as client:
        names = {p.name for p in (await client.list_prompts()).prompts}
        assert names == {"optimise_routine", "optimise_routine_apply", "label_session"}
        got = await client.get_prompt("optimise_routine_apply", {"metric_ids": "101, 102"})
        session = await client.get_prompt("label_session", {"metric_id": "109"})
    text = got.messages[0].content.text
    assert "metric_ids=[101, 102]" in text and "apply=true" in text
    assert "metric_id=109" in session.messages[0].content.text


async def test_an_unusable_ledger_is_a_clear_error_not_a_crash(tmp_path):
    (tmp_path / "ledger.sqlite3").mkdir()
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    async with Client(build_server(runtime=live)) as client:
        result = await client.call_tool("optimise_metric", {"metric_id": 101})
    await live.aclose()
    assert result.is_error
    assert "local ledger failed" in result.content[0].text
    assert "CEKURA_OPTIMISE_STATE_DIR" in result.content[0].text
