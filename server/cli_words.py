"""Words for people at a shell: a workflow's message (written for a model calling tools) told in
the command line's terms, naming flags, commands and environment variables instead of tool calls
and arguments, plain instead of marked as data, under one prefix (`cekura-optimise run: …`)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from tools.untrusted import unmark

R = TypeVar("R", bound=BaseModel)
READ_ONLY = "read-only mode (--read-only or CEKURA_OPTIMISE_READ_ONLY)"

_REWRITES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (
            r"apply=True is refused: the server is in read-only mode \(CEKURA_OPTIMISE_READ_ONLY\)"
            r"\. Call again with apply=False for a report\.",
            f"--apply is refused in {READ_ONLY}; run without --apply for a report.",
        ),
        (
            r"The server is in read-only mode \(CEKURA_OPTIMISE_READ_ONLY\); \w+ refused",
            f"This command is refused in {READ_ONLY}",
        ),
        (
            r"set it in the server's environment, or start with --sandbox",
            "export it as CEKURA_API_KEY, or pass --sandbox",
        ),
        (
            r"answer_optimiser_questions\(metric_id=(\d+), answers=\{question_id: answer\}\)",
            r'cekura-optimise answer --metric \1 --question ID --text "…"',
        ),
        (
            r"optimise_metrics\(metric_ids=\[([\d, ]+)\], apply=True\)",
            lambda m: f"cekura-optimise run --metrics {m[1].replace(' ', '')} --apply",
        ),
        (r"optimise_metric\(metric_id=(\d+)\)", r"cekura-optimise run --metrics \1"),
        (r"Call label_call again", "Run the same command again"),
        (r"Use the call log's id from review_results \(", "Use the call log's id ("),
        (
            r"Check the question ids in the needs_answers result\.",
            "Check --question against the ids `cekura-optimise run` shows for the metric.",
        ),
        (r"The expected value must be", "--expected must be"),
        (
            r"review_results\(metric_id=(\d+)\), then label_call for each call",
            r"find the metric's likely-wrong calls (the review_results tool in Claude), then "
            r"cekura-optimise label --metric \1 --call ID --expected … --feedback … for each",
        ),
        (r"list_optimiser_schedules\(\)", "cekura-optimise schedules list"),
        (
            r"schedule_optimiser\(metric_ids=\[\.\.\.\], cron='([^']*)'\)",
            r"cekura-optimise schedules add --metrics ID,ID --cron '\1'",
        ),
    )
)


def for_cli(text: str) -> str:
    """`text` plain (no untrusted-data markers) and in the command line's words."""
    text = unmark(text)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return text


def with_cli_steps(result: R) -> R:
    """`result` with its `next_steps` (written as tool calls for a model) told as commands."""
    steps = getattr(result, "next_steps", None)
    if not steps:
        return result
    return result.model_copy(update={"next_steps": [for_cli(step) for step in steps]})


def say_error(command: str, message: object) -> None:
    """One line on stderr: `cekura-optimise <command>: <message in CLI words>`."""
    print(f"cekura-optimise {command}: {for_cli(str(message))}", file=sys.stderr)
