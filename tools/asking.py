"""Asking a person the questions a paused optimiser run asks, when someone can answer.

A workflow is given an `Asker` (or None: nobody to ask) and never learns how a question travels:
the MCP server asks through elicitation (server/asking.py), and other front ends may ask on a
terminal. Whatever the asker cannot get answered leaves the result `needs_answers`, as without it.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from tools.cekura.models import Question


class Reply(BaseModel):
    """What came back: the answers to send (question id → text, or None to skip it), or none and a
    note saying why (the person declined, cancelled, or will be asked once this call returns)."""

    answers: dict[str, str | None] | None = None
    note: str | None = None


class Asker(Protocol):
    """Puts a paused run's questions to a person and returns what they said."""

    async def ask(self, metric_id: int, progress_id: str, questions: list[Question]) -> Reply: ...
