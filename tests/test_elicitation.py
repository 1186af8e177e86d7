"""The optimiser's questions asked in the conversation: through the workflow's asker, and through
MCP elicitation on both protocol eras (a live request on 2025-11-25, an InputRequiredResult and a
repeated call on 2026-07-28), answered, skipped, declined, cancelled, or with no way to ask."""

import pytest
from mcp import Client
from mcp.types import ElicitResult

from server.app import build_server
from server.runtime import Runtime
from server.settings import Settings
from support import sandbox_world
from tools.asking import Reply
from tools.workflows.optimise import optimise_metric

MODES = {"auto": "2026-07-28", "legacy": "2025-11-25"}


class TerminalAsker:
    """An asker as another front end might give one: fixed replies, remembering what it was asked."""

    def __init__(self, reply):
        self.reply = reply
        self.asked = []

    async def ask(self, metric_id, progress_id, questions):
        self.asked.append((metric_id, progress_id, [q.id for q in questions]))
        return self.reply(questions)


@pytest.mark.asyncio
async def test_the_workflow_sends_the_persons_answers_and_follows_the_run_to_a_proposal(tmp_path):
    asker = TerminalAsker(lambda qs: Reply(answers={q.id: q.options[0] for q in qs}))
    async with sandbox_world(tmp_path) as w:
        result = await optimise_metric(w.wf, 103, asker=asker)
        assert w.state.count("process_feedbacks_answer") == 1
        assert w.state.count("process_feedbacks", metric_id=103) == 1
    assert result.status == "proposed"
    assert len(asker.asked) == 1 and asker.asked[0][:2] == (103, result.progress_id)
    assert any("You answered optimiser question(s)" in x for x in result.warnings)


@pytest.mark.asyncio
async def test_the_workflow_stops_at_needs_answers_when_the_person_does_not_answer(tmp_path):
    asker = TerminalAsker(lambda qs: Reply(note="you declined to answer them"))
    async with sandbox_world(tmp_path) as w:
        result = await optimise_metric(w.wf, 103, asker=asker)
        assert w.state.count("process_feedbacks_answer") == 0
    assert result.status == "needs_answers" and result.questions
    assert any("you declined" in x for x in result.warnings)


@pytest.fixture
async def runtime(tmp_path):
    live = Runtime(Settings(sandbox=True, state_dir=tmp_path))
    yield live
    await live.aclose()


def person(action, choose=None):
    """An elicitation callback: the person's action, and for accept the form's content."""
    seen = []

    async def on_elicit(_ctx, params):
        seen.append(params)
        if action != "accept":
            return ElicitResult(action=action)
        return ElicitResult(action="accept", content=choose(params.requested_schema))

    return on_elicit, seen


def first_option(schema):
    return {"answer": schema["properties"]["answer"]["enum"][0], "skip": False}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_an_answered_question_lets_the_run_finish_in_the_same_call(runtime, mode):
    on_elicit, seen = person("accept", first_option)
    async with Client(
        build_server(runtime=runtime), mode=mode, elicitation_callback=on_elicit
    ) as c:
        assert c.protocol_version == MODES[mode]
        result = await c.call_tool("optimise_metric", {"metric_id": 103})
    assert not result.is_error, result.content
    assert result.structured_content["status"] == "proposed"
    (form,) = seen
    assert "improving metric 103" in form.message and "Should '" in form.message
    assert "<<<untrusted" not in form.message  # a person reads it
    assert set(form.requested_schema["properties"]) == {"answer", "skip"}
    state = runtime.sandbox_state
    assert state.count("process_feedbacks", metric_id=103) == 1
    assert state.count("process_feedbacks_answer") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_skipped_question_is_sent_as_skipped(runtime, mode):
    on_elicit, _ = person("accept", lambda _s: {"skip": True})
    async with Client(
        build_server(runtime=runtime), mode=mode, elicitation_callback=on_elicit
    ) as c:
        result = await c.call_tool("optimise_metric", {"metric_id": 103})
    assert result.structured_content["status"] == "proposed"
    assert any("and skipped ['" in x for x in result.structured_content["warnings"])


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_declined_or_cancelled_question_ends_needs_answers(runtime, mode, action):
    on_elicit, seen = person(action)
    async with Client(
        build_server(runtime=runtime), mode=mode, elicitation_callback=on_elicit
    ) as c:
        result = await c.call_tool("optimise_metric", {"metric_id": 103})
        again = await c.call_tool("optimise_metric", {"metric_id": 103})
    assert result.structured_content["status"] == "needs_answers"
    assert result.structured_content["questions"]
    assert len(seen) == 2  # asked once per call, never in a loop
    assert runtime.sandbox_state.count("process_feedbacks_answer") == 0
    assert runtime.sandbox_state.count("process_feedbacks", metric_id=103) == 1
    assert again.structured_content["progress_id"] == result.structured_content["progress_id"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_client_without_elicitation_gets_needs_answers(runtime, mode):
    async with Client(build_server(runtime=runtime), mode=mode) as c:
        result = await c.call_tool("optimise_metric", {"metric_id": 103})
    assert result.structured_content["status"] == "needs_answers"
    assert "answer_optimiser_questions" in result.structured_content["next_steps"][0]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", MODES)
async def test_a_batch_asks_and_keeps_the_other_metrics_outcomes(runtime, mode):
    on_elicit, seen = person("accept", first_option)
    async with Client(
        build_server(runtime=runtime), mode=mode, elicitation_callback=on_elicit
    ) as c:
        result = await c.call_tool("optimise_metrics", {"metric_ids": [101, 103, 105]})
    assert not result.is_error, result.content
    statuses = [m["status"] for m in result.structured_content["metrics"]]
    assert statuses == ["proposed", "proposed", "not_ready"]
    assert result.structured_content["counts"] == {"proposed": 2, "not_ready": 1}
    assert len(seen) == 1
    state = runtime.sandbox_state
    assert state.count("process_feedbacks", metric_id=101) == 1  # not started again
    assert state.count("process_feedbacks", metric_id=103) == 1


@pytest.mark.anyio
async def test_headless_claude_code_cancelling_every_question_gets_the_batch_back(runtime):
    on_elicit, seen = person("cancel")
    async with Client(build_server(runtime=runtime), elicitation_callback=on_elicit) as c:
        result = await c.call_tool("optimise_metrics", {"metric_ids": [101, 103]})
    statuses = [m["status"] for m in result.structured_content["metrics"]]
    assert statuses == ["proposed", "needs_answers"]
    assert len(seen) == 1


@pytest.mark.anyio
async def test_an_answer_too_long_to_send_is_not_sent(runtime):
    on_elicit, _ = person("accept", lambda _s: {"answer": "x" * 2001})
    async with Client(build_server(runtime=runtime), elicitation_callback=on_elicit) as c:
        result = await c.call_tool("optimise_metric", {"metric_id": 103})
    assert result.structured_content["status"] == "needs_answers"
    assert any("longer than 2000" in x for x in result.structured_content["warnings"])
    assert runtime.sandbox_state.count("process_feedbacks_answer") == 0
