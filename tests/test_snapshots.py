"""What the model sees: one full successful result per tool, pinned, so a change is a deliberate diff.

Regenerate after an intended change with `UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_snapshots.py`.
"""

import json
import os
import re
from pathlib import Path

import pytest
from mcp import Client

from server.app import build_server
from server.runtime import Runtime
from server.settings import Settings

pytestmark = pytest.mark.anyio
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
VOLATILE = [
    (re.compile(r"prop_[0-9a-f]{12}"), "prop_<id>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r'"elapsed_s": [0-9.]+'), '"elapsed_s": 0'),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)"), "<time>"),
]


def _normalise(content: dict) -> str:
    text = json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False)
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text + "\n"


def _check(name: str, content: dict) -> None:
    path = SNAPSHOTS / f"{name}.json"
    text = _normalise(content)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text)
    assert path.exists(), f"no snapshot {path.name}; run with UPDATE_SNAPSHOTS=1 to create it"
    assert text == path.read_text(), f"{name} result changed; review and UPDATE_SNAPSHOTS=1"


async def test_each_tool_result_matches_its_snapshot(tmp_path):
    runtime = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    calls = [
        ("optimise_metric", {"metric_id": 101}),
        ("diff_proposal", {"metric_id": 101}),
        ("apply_if_not_regressed", {"metric_id": 101}),
        ("revert_metric", {"metric_id": 101}),
        ("optimise_metrics", {"metric_ids": [102, 103, 104, 105, 106]}),
        ("answer_optimiser_questions", {"metric_id": 103, "answers": {"q_1": None}}),
        ("cancel_optimisation", {"metric_id": 103}),
    ]
    try:
        async with Client(build_server(runtime=runtime)) as client:
            for name, args in calls:
                result = await client.call_tool(name, args)
                assert not result.is_error, (name, result.content)
                _check(name, result.structured_content)
    finally:
        await runtime.aclose()


async def test_each_labs_tool_result_matches_its_snapshot(tmp_path):
    runtime = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    feedback = "At 00:07 the agent said 'Your confirmation code is' and gave it; that should pass."
    calls = [
        ("lab_status", {"metric_id": 109}),
        ("review_results", {"metric_id": 109, "limit": 2}),
        (
            "label_call",
            {"metric_id": 109, "call_id": 3360015, "expected_value": 5, "feedback": feedback},
        ),
        ("check_on_calls", {"metric_id": 107}),
        ("validate_on_calls", {"metric_id": 107, "call_ids": [3360001, 3360002]}),
    ]
    try:
        async with Client(build_server(runtime=runtime)) as client:
            assert not (await client.call_tool("optimise_metric", {"metric_id": 107})).is_error
            for name, args in calls:
                result = await client.call_tool(name, args)
                assert not result.is_error, (name, result.content)
                _check(name, result.structured_content)
    finally:
        await runtime.aclose()


async def test_a_pending_proposal_refused_by_the_guard_matches_its_snapshot(tmp_path):
    runtime = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    try:
        async with Client(build_server(runtime=runtime)) as client:
            result = await client.call_tool("apply_if_not_regressed", {"metric_id": 111})
            assert not result.is_error, result.content
            _check("apply_if_not_regressed_pending", result.structured_content)
    finally:
        await runtime.aclose()
