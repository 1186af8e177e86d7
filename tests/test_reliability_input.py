"""Bad input on every tool: a clear error, and the sandbox confirms nothing changed."""

import copy

import pytest
from mcp import Client

from server.app import build_server
from server.runtime import Runtime
from server.settings import Settings

pytestmark = pytest.mark.anyio

BAD_CALLS = [
    ("optimise_metric", {"metric_id": 0}),
    ("optimise_metric", {"metric_id": -5}),
    ("optimise_metric", {"metric_id": "abc"}),
    ("optimise_metric", {"metric_id": 1.5}),
    ("optimise_metric", {"metric_id": 2**40}),
    ("optimise_metric", {"metric_id": 101, "test_set_ids": []}),
    ("optimise_metric", {"metric_id": 101, "test_set_ids": [0]}),
    ("optimise_metric", {"metric_id": 101, "test_set_ids": [999999]}),
    ("optimise_metric", {"metric_id": 101, "max_wait_s": 0}),
    ("optimise_metric", {"metric_id": 101, "on_questions": "maybe"}),
    ("optimise_metric", {"metric_id": 999999}),
    ("diff_proposal", {"metric_id": 101, "proposal_id": "p" * 65}),
    ("diff_proposal", {"metric_id": 101, "proposal_id": "a", "progress_id": "b"}),
    ("apply_if_not_regressed", {"metric_id": 101}),
    ("apply_if_not_regressed", {"metric_id": 101, "proposal_id": "prop_unknown"}),
    ("apply_if_not_regressed", {"metric_id": 101, "max_broken": -1}),
    ("revert_metric", {"metric_id": 101, "history_id": 0}),
    ("revert_metric", {"metric_id": 101, "history_id": 123456789}),
    ("optimise_metrics", {"metric_ids": []}),
    ("optimise_metrics", {"metric_ids": list(range(1, 102))}),
    ("optimise_metrics", {"metric_ids": [101, 0]}),
    ("optimise_metrics", {"metric_ids": "101"}),
    ("answer_optimiser_questions", {"metric_id": 103, "answers": {}}),
    ("answer_optimiser_questions", {"metric_id": 103, "answers": {"q_1": "x" * 5000}}),
    ("answer_optimiser_questions", {"metric_id": 103, "answers": {"q_9": "yes"}}),
    ("cancel_optimisation", {"metric_id": 0}),
]


@pytest.fixture
async def runtime(tmp_path):
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    await live.workflow()
    yield live
    await live.aclose()


@pytest.mark.parametrize(
    ("tool", "args"), BAD_CALLS, ids=[f"{t}-{i}" for i, (t, _) in enumerate(BAD_CALLS)]
)
async def test_bad_input_is_a_clear_error_and_changes_nothing(runtime, tool, args):
    state = runtime.sandbox_state
    before = copy.deepcopy(state.metrics)
    async with Client(build_server(runtime=runtime)) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error
    text = result.content[0].text
    assert len(text) < 2000 and "Traceback" not in text
    assert not text.endswith(f"Error executing tool {tool}")
    assert state.metrics == before
    assert [r for r in state.requests if r.method != "GET" and r.effective] == []
