"""`cekura-optimise lab-status` and `cekura-optimise label`: the Labs workflow from a shell, with
the same results as the tools, errors that name flags, and exit codes (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from server.settings import Settings
    from tools.context import Workflow

from server.cli_words import for_cli, say_error, with_cli_steps
from server.cli_workflow import FAILED, with_workflow

USAGE_ERROR = 2


def add_labs_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The `lab-status` and `label` subcommands."""
    status = sub.add_parser("lab-status", help="how ready each metric's Lab is")
    common(status)
    status.add_argument("--metrics", required=True, help="comma-separated metric ids, e.g. 109")
    status.add_argument("--json", action="store_true", help="print the results as JSON")
    label = sub.add_parser("label", help="record a person's verdict on a call in the metric's Lab")
    common(label)
    label.add_argument("--metric", required=True, help="the metric id")
    label.add_argument("--call", required=True, help="the call log id (from review_results)")
    label.add_argument("--expected", required=True, help="the right result: 5, 0 or an enum value")
    label.add_argument("--feedback", required=True, help="why, citing the moment in the call")
    label.add_argument("--json", action="store_true", help="print the result as JSON")


def lab_status_command(settings: Settings, args: argparse.Namespace) -> int:
    """Each metric's readiness, one line (or JSON object) per metric."""
    import anyio

    from prompts import parse_metric_ids

    try:
        ids = parse_metric_ids(args.metrics, "--metrics")
    except ValueError as exc:
        return _usage(args, exc)
    from tools.workflows.lab_status import lab_status

    async def work(wf: Workflow) -> list[BaseModel]:
        return [await lab_status(wf, metric_id) for metric_id in ids]

    return anyio.run(_run, settings, args, work)


def label_command(settings: Settings, args: argparse.Namespace) -> int:
    """One person's verdict on one call, checked flag by flag before anything is sent."""
    import anyio

    from tools.errors import WorkflowError
    from tools.inputs import CallId, Feedback, Label, MetricId, check

    try:
        metric_id = check(MetricId, args.metric, "--metric", from_text=True)
        call_id = check(CallId, args.call, "--call", from_text=True)
        expected = check(Label, _verdict(args.expected), "--expected")
        feedback = check(Feedback, args.feedback, "--feedback")
    except WorkflowError as exc:
        return _usage(args, exc)
    from tools.workflows.label import label_call

    async def work(wf: Workflow) -> list[BaseModel]:
        return [await label_call(wf, metric_id, call_id, expected, feedback)]

    return anyio.run(_run, settings, args, work)


def _verdict(text: str) -> int | str:
    """'5' is the number 5 (binary verdicts are numbers); any other text is an enum value."""
    stripped = text.strip()
    return int(stripped) if stripped.lstrip("-").isdigit() else stripped


def _usage(args: argparse.Namespace, exc: Exception) -> int:
    say_error(args.command, exc)
    return USAGE_ERROR


async def _run(
    settings: Settings,
    args: argparse.Namespace,
    work: Callable[[Workflow], Awaitable[list[BaseModel]]],
) -> int:

    results = await with_workflow(settings, args.command, work)
    if results is None:
        return FAILED
    from server.report import for_surface

    for result in results:
        result = with_cli_steps(for_surface(result, "person"))
        if args.json:
            print(result.model_dump_json(indent=2))
            continue
        print(
            f"{getattr(result, 'metric_id', '')}\t{getattr(result, 'status', '')}\t"
            f"{for_cli(getattr(result, 'summary', ''))}"
        )
        for warning in getattr(result, "warnings", []):
            print(f"\twarning: {for_cli(warning)}")
        for step in getattr(result, "next_steps", []):
            print(f"\tnext: {step}")
    return 0
