"""The sandbox's asynchronous jobs, advanced by progress reads so tests never sleep.

A job stays `in_progress` for a number of progress reads, or for a number of seconds on an
injectable clock; a run fault can make it slow, stuck for ever, or end in error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.faults import RunFault
from sandbox.optimiser import CueKey, Failed, Paused, Proposal, Question, optimise

ProgressShape = Literal["envelope", "flat"]
PROGRESS_SHAPES: tuple[ProgressShape, ...] = ("envelope", "flat")
RESUMED = "Answers recorded; the paused optimization resumes."


def as_progress_shape(value: str) -> ProgressShape:
    """`value` as a progress shape; ValueError for anything but "envelope" or "flat"."""
    for shape in PROGRESS_SHAPES:
        if value == shape:
            return shape
    raise ValueError(f"progress_shape must be 'envelope' or 'flat', not {value!r}")


class AnswerError(ValueError):
    """An answer body the paused run cannot take; `field` is the DRF error key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Timer:
    """Due after `polls` reads saw the job running, or after `seconds` on `clock` if set."""

    def __init__(self, polls: int, seconds: float | None, clock: Callable[[], float]) -> None:
        self.polls = polls
        self.seconds = seconds
        self.clock = clock
        self.restart()

    def restart(self) -> None:
        self.reads = 0
        self.started = self.clock()

    def due(self) -> bool:
        """Count one progress read and say whether the job may finish on it."""
        self.reads += 1
        if self.seconds is not None:
            return self.clock() - self.started >= self.seconds
        return self.reads > self.polls


@dataclass
class OptimiserJob:
    """A process_feedbacks run: in_progress → (paused ↔ in_progress) → success|error|cancelled."""

    progress_id: str
    metric_id: int
    metric: dict[str, Any]
    rows: list[dict[str, Any]]
    timer: Timer
    fault: RunFault | None = None
    answer_lag_polls: int = 0
    simplified_prompt: str | None = None
    skip_evaluation: bool = False
    status: Literal["in_progress", "paused", "success", "error", "cancelled"] = "in_progress"
    question_ids: dict[str, Question] = field(default_factory=dict)
    resuming_in: int = 0
    just_answered: list[str] = field(default_factory=list)
    decisions: dict[CueKey, bool] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    error: str | None = None

    def advance(self) -> None:
        """One progress read: the run may finish, pause, resume or fail on it."""
        if self.status == "paused" and self.resuming_in > 0:
            self.resuming_in -= 1
            if self.resuming_in == 0:
                self.status, self.just_answered = "in_progress", []
                self.timer.restart()
            return
        if self.status != "in_progress" or (self.fault and self.fault.kind == "stuck"):
            return
        if not self.timer.due():
            return
        if self.fault and self.fault.kind == "fail":
            self.status, self.error = "error", self.fault.error
            return
        result = optimise(
            self.metric,
            self.rows,
            decisions=self.decisions,
            simplified_prompt=self.simplified_prompt,
            skip_evaluation=self.skip_evaluation,
        )
        if isinstance(result, Paused):
            self.status = "paused"
            for question in result.questions:
                self.question_ids[f"q_{len(self.question_ids) + 1}"] = question
        elif isinstance(result, Proposal):
            self.status, self.output = "success", result.output
            if self.fault and self.fault.kind == "tamper":
                self.output = {**self.output, **self.fault.output}
        elif isinstance(result, Failed):
            self.status, self.error = "error", result.error

    def answer(self, answers: Mapping[str, Any]) -> None:
        """Record answers keyed by question id; the run resumes once no question is left open."""
        if self.status != "paused" or self.resuming_in > 0:
            raise AnswerError("non_field_errors", "This optimization is not waiting for answers.")
        open_ids = {qid: self.question_ids[qid] for qid in self.open_question_ids()}
        decided: dict[CueKey, bool] = {}
        for qid, raw in answers.items():
            if qid not in open_ids:
                raise AnswerError("answers", f"Unknown question id: {qid}")
            decided[open_ids[qid].key] = _accepts(open_ids[qid], raw, qid)
        self.decisions.update(decided)
        if not self.open_question_ids():
            if self.answer_lag_polls > 0:
                self.resuming_in, self.just_answered = self.answer_lag_polls, list(answers)
                return
            self.status = "in_progress"
            self.timer.restart()

    def cancel(self) -> None:
        self.status = "cancelled"

    def open_question_ids(self) -> list[str]:
        """Ids of the questions asked and not yet answered."""
        return [qid for qid, q in self.question_ids.items() if q.key not in self.decisions]

    def body(self, shape: ProgressShape) -> dict[str, Any]:
        """The progress body in the configured shape (flat changes only the success body)."""
        if self.status == "success" and self.output is not None:
            if shape == "flat":
                return {k: v for k, v in self.output.items() if k != "meta_harness"}
            return {"status": "success", "output": self.output}
        if self.status == "paused":
            shown = self.just_answered if self.resuming_in > 0 else self.open_question_ids()
            questions = [_question_body(qid, self.question_ids[qid]) for qid in shown]
            return {"status": "paused", "questions": questions}
        if self.status == "error":
            return {"status": "error", "error": self.error}
        return {"status": self.status}


@dataclass
class RunReviewsJob:
    """A run_reviews run: in_progress → completed | failed; the state fills `result` at the end."""

    progress_id: str
    metric_id: int
    config: dict[str, Any]
    skip_save: bool
    total: int
    timer: Timer
    fault: RunFault | None = None
    result: dict[str, Any] | None = None

    def due(self) -> bool:
        """One progress read: True when the run finishes on it."""
        if self.result is not None or (self.fault and self.fault.kind == "stuck"):
            return False
        return self.timer.due()

    def running_body(self) -> dict[str, Any]:
        return {
            "status": "in_progress",
            "total": self.total,
            "completed": 0,
            "failed": 0,
            "error": None,
            "metric": None,
        }


def _question_body(qid: str, question: Question) -> dict[str, Any]:
    return {
        "id": qid,
        "question": question.question,
        "kind": question.kind,
        "options": list(question.options),
        "review_id": question.review_id,
        "test_set_id": question.test_set_id,
        "context": question.context,
    }


def _accepts(question: Question, raw: Any, qid: str) -> bool:
    """True when an answer picks the first option ("yes"); skip or anything else leaves it out."""
    if isinstance(raw, dict):
        action = raw.get("action")
        if action == "skip":
            return False
        if action != "answer" or not isinstance(raw.get("answer"), str | int):
            raise AnswerError(
                "answers",
                f'Invalid answer for {qid}: use {{"action": "answer", "answer": "..."}}, '
                '{"action": "skip"} or a string.',
            )
        raw = raw["answer"]
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw == 0
    if not isinstance(raw, str):
        raise AnswerError("answers", f"Invalid answer for {qid}: expected a string or an object.")
    text = raw.strip()
    return text == question.options[0] or text == "0" or text.lower().startswith("yes")
