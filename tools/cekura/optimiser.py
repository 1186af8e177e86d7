"""Cekura's optimiser (process_feedbacks, contract §3): start a run, follow it, answer, cancel."""

from __future__ import annotations

from typing import Any

from .endpoints import (
    PROCESS_FEEDBACKS,
    PROCESS_FEEDBACKS_ANSWER,
    PROCESS_FEEDBACKS_CANCEL,
    PROCESS_FEEDBACKS_PROGRESS,
)
from .inputs import id_list, positive_int, token
from .models import OptimiserProgress
from .progress import parse_optimiser_progress
from .transport import Transport

METRIC_TYPES = frozenset({"basic", "custom_prompt", "custom_code", "llm_judge"})


def _encode_answers(answers: Any) -> dict[str, dict[str, str]]:
    """Answers as Cekura wants them: a None answer skips its question."""
    if not isinstance(answers, dict) or not answers:
        raise ValueError("answers must be a non-empty dict of question id to answer or None")
    encoded: dict[str, dict[str, str]] = {}
    for qid, answer in answers.items():
        key = token("question id", qid)
        if answer is None:
            encoded[key] = {"action": "skip"}
        elif isinstance(answer, str) and answer.strip():
            encoded[key] = {"action": "answer", "answer": answer}
        else:
            raise ValueError(
                f"answer to question {key!r:.60} must be non-empty text, or None to skip"
            )
    return encoded


class OptimiserCalls:
    """The optimiser's endpoints, mixed into `CekuraClient`."""

    _transport: Transport

    async def start_optimisation(
        self,
        metric_id: int,
        *,
        test_set_ids: list[int] | None = None,
        metric_type: str | None = None,
        skip_evaluation: bool = False,
    ) -> str:
        """POST process_feedbacks (it starts a job); returns the progress id.

        `test_set_ids=None` lets Cekura use every test set in the metric's Lab.
        """
        body: dict[str, Any] = {"metric_id": positive_int("metric_id", metric_id)}
        if test_set_ids is not None:
            body["test_set_ids"] = id_list("test_set_ids", test_set_ids)
        if metric_type is not None:
            if metric_type not in METRIC_TYPES:
                raise ValueError(f"metric_type must be one of {sorted(METRIC_TYPES)}")
            body["metric_type"] = metric_type
        body["skip_evaluation"] = bool(skip_evaluation)
        reply = await self._transport.send("POST", PROCESS_FEEDBACKS, body=body)
        return reply.progress_id()

    async def get_optimisation_progress(self, progress_id: str) -> OptimiserProgress:
        """GET process_feedbacks_progress, parsed by `parse_optimiser_progress`."""
        params = {"progress_id": token("progress_id", progress_id)}
        reply = await self._transport.send("GET", PROCESS_FEEDBACKS_PROGRESS, params=params)
        return reply.progress(parse_optimiser_progress)

    async def answer_questions(self, progress_id: str, answers: dict[str, str | None]) -> None:
        """POST process_feedbacks_answer, resuming a paused run; a None answer skips that question."""
        body = {
            "progress_id": token("progress_id", progress_id),
            "answers": _encode_answers(answers),
        }
        reply = await self._transport.send("POST", PROCESS_FEEDBACKS_ANSWER, body=body)
        reply.optional_json()

    async def cancel_optimisation(self, progress_id: str) -> None:
        """POST process_feedbacks_cancel, stopping a run."""
        body = {"progress_id": token("progress_id", progress_id)}
        reply = await self._transport.send("POST", PROCESS_FEEDBACKS_CANCEL, body=body)
        reply.optional_json()
