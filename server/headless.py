"""`cekura-optimise run`: the routine without a model, for cron and CI, with a report and exit
codes. A run that pauses with questions is answered on a terminal, from `--answers`, or left
waiting (exit 3) with the commands that answer it."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING

import anyio

from prompts import parse_metric_ids
from server.answer_cli import (
    Answerer,
    answer_paused,
    cli_next_steps,
    from_file,
    from_terminal,
    load_answers,
)
from server.cli_words import say_error
from server.report import exit_code, for_surface, render_plain, render_rich
from server.runtime import Runtime
from server.settings import Settings
from tools.errors import WorkflowError, ledger_failure_text
from tools.inputs import MaxWaitS, OnQuestions, check
from tools.ledger import LedgerUnavailable

if TYPE_CHECKING:
    from tools.context import Workflow
    from tools.results import BatchResult

FAILED = 1
USAGE_ERROR = 2


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    """Check the flags, run the routine, answer what can be answered, print the report;
    0 ok, 1 a metric failed, 2 usage, 3 a metric waits on a person's answer."""
    try:
        ids = parse_metric_ids(args.metrics, "--metrics")
        on_questions = check(OnQuestions, args.on_questions, "--on-questions", from_text=True)
        max_wait_s = check(MaxWaitS, args.max_wait, "--max-wait", from_text=True)
        answerer = _answerer(args)
    except (ValueError, WorkflowError) as exc:
        say_error("run", exc)
        return USAGE_ERROR
    return anyio.run(_run, settings, args, ids, on_questions, max_wait_s, answerer)


def _answerer(args: argparse.Namespace) -> Answerer | None:
    """Who answers a paused run: --answers, else the person at the terminal, else nobody."""
    if args.answers is not None:
        return from_file(load_answers(args.answers))
    if sys.stdin.isatty() and sys.stdout.isatty() and not args.json:
        return from_terminal()
    return None


async def _run(
    settings: Settings,
    args: argparse.Namespace,
    ids: list[int],
    on_questions: OnQuestions,
    max_wait_s: float,
    answerer: Answerer | None,
) -> int:
    """Run the routine (with progress on a terminal), then print the report in the chosen form."""
    runtime = Runtime(settings)
    console = None
    if sys.stdout.isatty() and not args.json:
        from rich.console import Console

        console = Console()

    async def routine(wf: Workflow, metric_ids: list[int]) -> BatchResult:
        from tools.workflows.routine import optimise_metrics

        progress = None
        if console is not None:
            from server.run_progress import RunProgress

            progress = RunProgress(console, metric_ids)
        with progress or nullcontext():
            return await optimise_metrics(
                wf,
                metric_ids,
                apply=args.apply,
                on_questions=on_questions,
                max_wait_s=max_wait_s,
                include_pending=args.include_pending,
                progress=progress,
            )

    try:
        wf = await runtime.workflow()
        result = await routine(wf, ids)
        if answerer is not None:
            result = await answer_paused(wf, result, answerer, lambda again: routine(wf, again))
    except WorkflowError as exc:
        say_error("run", exc)
        return USAGE_ERROR
    except LedgerUnavailable as exc:
        say_error("run", ledger_failure_text(exc))
        return FAILED
    finally:
        await runtime.aclose()
    _print(for_surface(result, "person"), args, console)
    return exit_code(result)


def _print(result: BatchResult, args: argparse.Namespace, console) -> None:
    """The report as JSON, a rich table, or plain lines, with the commands to run next."""
    steps = cli_next_steps(result, args.apply)
    if args.json:
        print(result.model_copy(update={"next_steps": steps}).model_dump_json(indent=2))
        return
    if console is not None:
        render_rich(result, console, diffs=args.diffs)
        for step in steps:
            console.print(f"next: {step}", markup=False, highlight=False)
        return
    render_plain(result, sys.stdout, diffs=args.diffs)
    for step in steps:
        print(f"next: {step}")
