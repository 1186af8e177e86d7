"""`cekura-optimise run`: the routine without a model, for cron and CI, with a report and exit codes."""

from __future__ import annotations

import argparse
import sys

import anyio

from prompts import parse_metric_ids
from server.report import exit_code, render_plain, render_rich
from server.runtime import Runtime
from server.settings import Settings
from tools.errors import WorkflowError, ledger_failure_text
from tools.inputs import MaxWaitS, OnQuestions, check
from tools.ledger import LedgerUnavailable

FAILED = 1
USAGE_ERROR = 2


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    """Check the flags, run optimise_metrics once, print the report; 0 ok, 1 failures, 2 usage."""
    try:
        ids = parse_metric_ids(args.metrics, "--metrics")
        on_questions = check(OnQuestions, args.on_questions, "--on-questions", from_text=True)
        max_wait_s = check(MaxWaitS, args.max_wait, "--max-wait", from_text=True)
    except (ValueError, WorkflowError) as exc:
        print(f"cekura-optimise run: {exc}", file=sys.stderr)
        return USAGE_ERROR
    return anyio.run(_run, settings, args, ids, on_questions, max_wait_s)


async def _run(
    settings: Settings,
    args: argparse.Namespace,
    ids: list[int],
    on_questions: OnQuestions,
    max_wait_s: float,
) -> int:
    """Run the routine with a status line on a terminal, then print the report in the chosen form."""
    from tools.workflows.routine import optimise_metrics

    runtime = Runtime(settings)
    tty = sys.stdout.isatty() and not args.json
    console = None
    status = None
    if tty:
        from rich.console import Console

        console = Console()
        status = console.status("starting…")
        status.start()

    async def progress(_value: float, _total: float | None, message: str | None) -> None:
        if status is not None and message:
            status.update(message)

    try:
        workflow = await runtime.workflow()
        result = await optimise_metrics(
            workflow,
            ids,
            apply=args.apply,
            on_questions=on_questions,
            max_wait_s=max_wait_s,
            include_pending=args.include_pending,
            progress=progress,
        )
    except WorkflowError as exc:
        print(f"cekura-optimise run: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except LedgerUnavailable as exc:
        print(f"cekura-optimise run: {ledger_failure_text(exc)}", file=sys.stderr)
        return FAILED
    finally:
        if status is not None:
            status.stop()
        await runtime.aclose()
    if args.json:
        print(result.model_dump_json(indent=2))
    elif console is not None:
        render_rich(result, console, diffs=args.diffs)
    else:
        render_plain(result, sys.stdout, diffs=args.diffs)
    return exit_code(result)
