"""The optimiser's questions asked in the conversation, through MCP elicitation.

On 2025 protocol versions each question goes out live (`elicitation/create`) while the call waits.
On 2026-07-28 a server cannot send a request in the middle of a call: the call ends with an
InputRequiredResult holding the questions (and, in `request_state`, which run asked them), the
client asks the person and repeats the call with the responses, and single flight resumes the same
run, which finds its answers here. Without the client's elicitation capability there is no asker;
a person who declines or cancels (headless `claude -p` cancels every question) leaves the result
`needs_answers`, as it was before.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from mcp.server.mcpserver import Context
from mcp.shared.exceptions import NoBackChannelError
from mcp.types import ElicitRequest, ElicitRequestFormParams, ElicitResult, InputRequiredResult
from mcp_types.version import is_version_at_least

from tools.asking import Asker, Reply
from tools.cekura.models import Question
from tools.inputs import ANSWER_MAX_CHARS
from tools.results import BatchResult
from tools.untrusted import bound

T = TypeVar("T")
ROUND_TRIP_VERSION = "2026-07-28"
ASK_TIMEOUT_S = 600.0
QUESTIONS_ASKED = 20


def conversation_asker(ctx: Context) -> LiveAsker | RoundTripAsker | None:
    """The way to ask this call's client, or None when it cannot show a form to a person."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return None
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, ROUND_TRIP_VERSION):
        return RoundTripAsker.resume(ctx.input_responses, ctx.request_state)
    return LiveAsker(ctx)


def question_form(metric_id: int, question: Question) -> ElicitRequestFormParams:
    """One question as a form: its options (or free text), and a box to skip it. The text is
    for the person, so it is bounded but not marked."""
    message = (
        f"Cekura's optimiser, improving metric {metric_id}, asks:\n{bound(question.question, 1000)}"
    )
    if question.context:
        message += f"\n\nContext: {bound(question.context, 1000)}"
    answer: dict[str, Any] = {"type": "string", "title": "Your answer"}
    if question.options:
        answer["enum"] = [bound(o, 300) for o in question.options[:20]]
    else:
        answer["maxLength"] = ANSWER_MAX_CHARS
    skip = {"type": "boolean", "title": "Skip this question", "default": False}
    schema = {"type": "object", "properties": {"answer": answer, "skip": skip}}
    return ElicitRequestFormParams(message=message, requested_schema=schema)


def reply_from(results: dict[str, Any]) -> Reply:
    """The answers to send from the person's responses (question id → response); none, with a
    note, unless every question was answered or skipped."""
    actions = [getattr(r, "action", "cancel") for r in results.values()]
    if "decline" in actions:
        return Reply(note="you declined to answer them")
    if any(a != "accept" for a in actions):
        return Reply(note="the question was cancelled")
    answers: dict[str, str | None] = {}
    for question_id, result in results.items():
        content = result.content or {}
        text = content.get("answer")
        blank = not isinstance(text, str) or not text.strip()
        answers[question_id] = None if content.get("skip") is True or blank else text.strip()
    if any(len(a or "") > ANSWER_MAX_CHARS for a in answers.values()):
        return Reply(note=f"an answer was longer than {ANSWER_MAX_CHARS} characters")
    return Reply(answers=answers)


class LiveAsker:
    """2025 protocol versions: ask each question now and wait (at most ASK_TIMEOUT_S) for the
    person; a decline or cancel stops the asking."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    async def ask(self, metric_id: int, progress_id: str, questions: list[Question]) -> Reply:
        session = self._ctx.request_context.session
        results: dict[str, ElicitResult] = {}
        for question in questions[:QUESTIONS_ASKED]:
            form = question_form(metric_id, question)
            with anyio.move_on_after(ASK_TIMEOUT_S):
                try:
                    results[question.id] = await session.elicit_form(
                        form.message,
                        form.requested_schema,
                        related_request_id=self._ctx.request_context.request_id,
                    )
                except NoBackChannelError:
                    return Reply(note="this connection cannot carry a question to you")
            if question.id not in results:
                return Reply(note=f"no answer came within {ASK_TIMEOUT_S / 60:.0f} minutes")
            if results[question.id].action != "accept":
                break
        return reply_from(results)


class RoundTripAsker:
    """2026-07-28: a question found during the call is collected and asked once the call returns
    (`follow_up`); on the repeated call, the same run's questions find the person's responses."""

    def __init__(
        self, responses: dict[str, Any], asked: dict[str, str], earlier: BatchResult | None
    ) -> None:
        self._responses = responses
        self._asked = asked
        self.earlier = earlier
        self.pending: dict[str, ElicitRequest] = {}
        self.asking: dict[str, str] = {}
        self.carry: BatchResult | None = None

    @classmethod
    def resume(cls, responses: dict[str, Any] | None, request_state: str | None) -> RoundTripAsker:
        """The asker of a repeated call (the SDK has checked that `request_state` is ours)."""
        state = json.loads(request_state) if request_state else {}
        earlier = state.get("batch")
        batch = BatchResult.model_validate(earlier) if earlier else None
        return cls(responses or {}, state.get("asked", {}), batch)

    @property
    def waiting(self) -> list[int]:
        """The metrics whose questions the person was asked after the previous round."""
        return [int(m) for m in self._asked]

    async def ask(self, metric_id: int, progress_id: str, questions: list[Question]) -> Reply:
        keys = {q.id: f"metric {metric_id}: {q.id}" for q in questions[:QUESTIONS_ASKED]}
        answered = all(k in self._responses for k in keys.values())
        if self._asked.get(str(metric_id)) == progress_id and answered:
            return reply_from({q: self._responses[k] for q, k in keys.items()})
        for question in questions[:QUESTIONS_ASKED]:
            form = question_form(metric_id, question)
            self.pending[keys[question.id]] = ElicitRequest(params=form)
        self.asking[str(metric_id)] = progress_id
        return Reply()

    def follow_up(self, result: T) -> T | InputRequiredResult:
        """The call's answer: the result, or the questions to ask first when there are any."""
        if not self.pending:
            return result
        carried = self.carry.model_dump(mode="json") if self.carry else None
        state = json.dumps({"asked": self.asking, "batch": carried})
        return InputRequiredResult(input_requests=self.pending, request_state=state)


async def batch_asking(
    asker: Asker | None,
    metric_ids: list[int],
    run: Callable[[list[int], Asker | None], Awaitable[BatchResult]],
) -> BatchResult:
    """A batch with its questions put to the person. On a repeated 2026-07-28 call only the
    metrics that waited on the person run again; the others keep the outcome they had."""
    from tools.workflows.routine import batch_result

    if not isinstance(asker, RoundTripAsker):
        return await run(metric_ids, asker)
    earlier = asker.earlier
    waiting = [m for m in metric_ids if m in asker.waiting]
    if earlier is None or not waiting:
        result = await run(metric_ids, asker)
    else:
        again = await run(waiting, asker)
        fresh = {o.metric_id: o for o in again.metrics}
        merged = [fresh.get(o.metric_id, o) for o in earlier.metrics]
        result = batch_result(merged, earlier.apply, earlier.elapsed_s + again.elapsed_s)
    asker.carry = result
    return result
