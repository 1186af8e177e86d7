"""`cekura-optimise schedules list|add|update|rm`: Cekura's in-product optimiser schedules from a
shell, with the same checks and results as the tools, errors that name flags, and exit codes
(0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.settings import Settings
    from tools.context import Workflow
    from tools.results import ScheduleToolResult

from server.cli_words import for_cli, say_error, with_cli_steps
from server.cli_workflow import FAILED, with_workflow

USAGE_ERROR = 2
NOTIFY = ("never", "success", "failure", "both")


def add_schedule_commands(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The `schedules` command and its list, add, update and rm subcommands."""
    schedules = sub.add_parser("schedules", help="Cekura's in-product optimiser schedules")
    actions = schedules.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="each schedule with its next three firing times")
    listing.add_argument("--project", help="only this project's schedules")
    add = actions.add_parser("add", help="schedule Cekura's optimiser for some metrics")
    add.add_argument("--metrics", required=True, help="comma-separated metric ids of one project")
    add.add_argument("--cron", required=True, help="5 fields, e.g. '0 9 * * 1' (Mondays 09:00)")
    add.add_argument("--timezone", default="UTC", help="IANA zone, e.g. America/Los_Angeles")
    add.add_argument("--auto-apply", action="store_true", help="let Cekura apply (weaker guard)")
    add.add_argument("--notify-on", default="both", help="never, success, failure or both")
    update = actions.add_parser("update", help="change only the flags given")
    update.add_argument("id", help="the schedule id")
    update.add_argument("--metrics", help="comma-separated metric ids of the schedule's project")
    update.add_argument("--cron", help="5 fields, e.g. '0 9 * * 1'")
    update.add_argument("--timezone", help="IANA zone, e.g. Europe/London")
    update.add_argument("--auto-apply", action=argparse.BooleanOptionalAction, default=None)
    update.add_argument("--notify-on", help="never, success, failure or both")
    update.add_argument("--active", action=argparse.BooleanOptionalAction, default=None)
    remove = actions.add_parser("rm", help="delete a schedule (past runs are kept)")
    remove.add_argument("id", help="the schedule id")
    for p in (add, update):
        p.add_argument("--name", help="display name")
        p.add_argument("--allow-frequent", action="store_true", help="allow over one an hour")
    for p in (listing, add, update, remove):
        common(p)
        p.add_argument("--json", action="store_true", help="print the result as JSON")


def schedules_command(settings: Settings, args: argparse.Namespace) -> int:
    """Check every flag, then run the one workflow the action names."""
    import anyio

    from tools.errors import WorkflowError

    try:
        work = _work(args)
    except WorkflowError as exc:
        say_error(f"schedules {args.action}", exc)
        return USAGE_ERROR
    return anyio.run(_run, settings, args, work)


def _work(args: argparse.Namespace) -> Callable[[Workflow], Awaitable[ScheduleToolResult]]:
    """The workflow call for this action, with its flags checked (a WorkflowError naming one)."""
    from tools.inputs import ProjectId, ScheduleId, check
    from tools.workflows import schedules as wfs

    if args.action == "list":
        project = (
            None
            if args.project is None
            else check(ProjectId, args.project, "--project", from_text=True)
        )
        return lambda wf: wfs.list_optimiser_schedules(wf, project)
    if args.action == "rm":
        schedule_id = check(ScheduleId, args.id, "schedule id", from_text=True)
        return lambda wf: wfs.delete_optimiser_schedule(wf, schedule_id)
    fields = _fields(args)
    if args.action == "add":
        return lambda wf: wfs.schedule_optimiser(wf, **fields)
    schedule_id = check(ScheduleId, args.id, "schedule id", from_text=True)
    return lambda wf: wfs.update_optimiser_schedule(wf, schedule_id, **fields)


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    """add/update flags, checked by the shared input types under the flags' names."""
    from datetime import UTC, datetime

    from tools.errors import WorkflowError
    from tools.inputs import CronExpression, MetricIds, NotifyOn, ScheduleName, TimeZone, check
    from tools.schedules.cron import too_frequent

    fields: dict[str, Any] = {"allow_frequent": args.allow_frequent}
    if args.metrics is not None:
        ids = args.metrics.replace(",", " ").split()
        fields["metric_ids"] = check(MetricIds, ids, "--metrics", from_text=True)
    checks = {
        "cron": (CronExpression, args.cron, "--cron"),
        "timezone": (TimeZone, args.timezone, "--timezone"),
        "notify_on": (NotifyOn, args.notify_on, "--notify-on"),
        "name": (ScheduleName, args.name, "--name"),
    }
    fields |= {k: check(t, v, flag) for k, (t, v, flag) in checks.items() if v is not None}
    if args.auto_apply is not None:
        fields["auto_apply"] = args.auto_apply
    if getattr(args, "active", None) is not None:
        fields["is_active"] = args.active
    if "cron" in fields and not args.allow_frequent:
        problem = too_frequent(fields["cron"], fields.get("timezone", "UTC"), datetime.now(UTC))
        if problem:
            raise WorkflowError(f"--cron {problem}; pass --allow-frequent to schedule it anyway.")
    return fields


async def _run(
    settings: Settings,
    args: argparse.Namespace,
    work: Callable[[Workflow], Awaitable[ScheduleToolResult]],
) -> int:

    result = await with_workflow(settings, f"schedules {args.action}", work)
    if result is None:
        return FAILED
    from server.report import for_surface

    result = with_cli_steps(for_surface(result, "person"))
    if args.json:
        print(result.model_dump_json(indent=2))
        return 0
    print(f"{getattr(result, 'status', 'ok')}\t{result.summary}")
    for view in getattr(result, "schedules", None) or [getattr(result, "schedule", None)]:
        if view is not None:
            metrics = ",".join(str(m.id) for m in view.metrics)
            firing = view.next_firings[0].utc if view.next_firings else "-"
            state = "active" if view.is_active else "paused"
            print(
                f"\t{view.schedule_id}\t{view.cron} {view.timezone}\tmetrics {metrics}\tnext {firing}\t{state}"
            )
    for warning in result.warnings:
        print(f"\twarning: {for_cli(warning)}")
    for step in result.next_steps:
        print(f"\tnext: {step}")
    return 0
