"""End to end over stdio: a labelling session driven by tool calls, as Claude would run the
`label_session` prompt (review → label ×2 → ready → optimise → held-out check → apply)."""

import sys

import pytest
from e2e import ROOT, loopback_sandbox, server_env
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio
FEEDBACK = "At 00:07 the agent said 'Your confirmation code is' and read it out; that should pass."


async def _call(client, tool, **args):
    result = await client.call_tool(tool, args)
    assert not result.is_error, (tool, result.content)
    return result.structured_content


async def test_a_labelling_session_over_stdio(tmp_path):
    with loopback_sandbox() as sandbox:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "server"],
            env=server_env(sandbox.url, tmp_path),
            cwd=str(ROOT),
        )
        async with Client(params) as client:
            prompt = await client.get_prompt("label_session", {"metric_id": "109"})
            assert "label_call" in prompt.messages[0].content.text
            before = await _call(client, "lab_status", metric_id=109)
            assert before["status"] == "not_ready" and before["lab"]["needed"] == 2

            review = await _call(client, "review_results", metric_id=109, limit=3)
            wrong = [c for c in review["calls"] if c["result"] == 0 and not c.get("in_lab")]
            needed = before["lab"]["needed"]
            for call in wrong[:needed]:
                label = await _call(
                    client,
                    "label_call",
                    metric_id=109,
                    call_id=call["call_id"],
                    expected_value=5,
                    feedback=FEEDBACK,
                )
                assert label["status"] == "added"
            assert (await _call(client, "lab_status", metric_id=109))["status"] == "ready"

            proposed = await _call(client, "optimise_metric", metric_id=109)
            assert proposed["status"] == "proposed"
            checked = await _call(client, "check_on_calls", metric_id=109)
            assert checked["status"] == "no_holdout"  # both labelled calls are in the Lab now
            applied = await _call(client, "apply_if_not_regressed", metric_id=109)
            assert applied["status"] == "applied"
    assert sandbox.state.count("create_from_call_log") == 2
    assert sandbox.state.count("mark_metric_vote") == 2
    assert sandbox.state.count("process_feedbacks") == 1
