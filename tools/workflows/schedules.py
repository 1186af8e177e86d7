"""Cekura's in-product optimiser schedules, managed from here: list them with their next firing
times, and create, change or delete one. Every write is checked before anything is sent (cron
expression, time zone, metrics in one project, at most one firing an hour) and sends nothing when
there is nothing to change."""

from __future__ import annotations

from typing import Any

from tools.cekura.errors import CekuraError
from tools.cekura.models import CronJob
from tools.context import Workflow, reports_retries
from tools.errors import WorkflowError, read_only_refusal
from tools.explain import explain
from tools.inputs import (
    CronExpression,
    Flag,
    MetricIds,
    NotifyOn,
    ProjectId,
    ScheduleId,
    ScheduleName,
    TimeZone,
    check,
)
from tools.results import ScheduleListResult, ScheduleResult
from tools.schedules.cron import too_frequent
from tools.schedules.view import (
    AUTO_APPLY_WARNING,
    all_jobs,
    metric_names,
    now,
    one_project,
    schedule_view,
)


@reports_retries
async def list_optimiser_schedules(
    wf: Workflow, project_id: int | None = None
) -> ScheduleListResult:
    """Every optimiser schedule (of one project, if given) with its metrics and next firings."""
    if project_id is not None:
        project_id = check(ProjectId, project_id, "project_id")
    jobs = await all_jobs(wf, project_id)
    names = await metric_names(wf, jobs)
    views = [schedule_view(job, names, now(wf)) for job in jobs]
    active = sum(view.is_active for view in views)
    where = f" in project {project_id}" if project_id is not None else ""
    return ScheduleListResult(
        schedules=views,
        summary=f"{len(views)} optimiser schedule(s){where}, {active} active.",
        next_steps=[] if views else ["schedule_optimiser(metric_ids=[...], cron='0 9 * * 1')"],
    )


@reports_retries
async def schedule_optimiser(
    wf: Workflow,
    metric_ids: list[int],
    cron: str,
    timezone: str = "UTC",
    auto_apply: bool = False,
    notify_on: str = "both",
    name: str | None = None,
    allow_frequent: bool = False,
) -> ScheduleResult:
    """Create a schedule, or report `already_exists` (sending nothing) for an active one with the
    same metrics, cron expression and time zone."""
    metric_ids = check(MetricIds, metric_ids, "metric_ids")
    cron = check(CronExpression, cron, "cron")
    timezone = check(TimeZone, timezone, "timezone")
    auto_apply = check(Flag, auto_apply, "auto_apply")
    notify_on = check(NotifyOn, notify_on, "notify_on")
    name = check(ScheduleName, name, "name") if name is not None else None
    _check_frequency(wf, cron, timezone, check(Flag, allow_frequent, "allow_frequent"))
    if wf.policy.read_only:
        raise read_only_refusal("schedule_optimiser")
    project, metrics = await one_project(wf, metric_ids)
    jobs = await all_jobs(wf, project)
    same = next((j for j in jobs if _same_schedule(j, metric_ids, cron, timezone)), None)
    names = {m.id: m.name for m in metrics}
    if same is not None:
        return ScheduleResult(
            status="already_exists",
            schedule_id=same.id,
            schedule=schedule_view(same, names, now(wf)),
            summary=f"Schedule {same.id} already runs these metrics on {cron!r} ({timezone}); "
            "nothing sent.",
        )
    try:
        job = await wf.client.create_cron_job(
            project=project,
            metrics=metric_ids,
            crontab_expression=cron,
            name=name,
            timezone=timezone,
            auto_apply=auto_apply,
            notify_on=notify_on,
        )
    except CekuraError as exc:
        raise WorkflowError(explain(exc, "creating the optimiser schedule")) from exc
    view = schedule_view(job, names, now(wf))
    first = view.next_firings[0].utc if view.next_firings else "unknown"
    return ScheduleResult(
        status="created",
        schedule_id=job.id,
        schedule=view,
        warnings=[AUTO_APPLY_WARNING] if auto_apply else [],
        summary=f"Schedule {job.id} created: metrics {metric_ids} on {cron!r} ({timezone}); "
        f"first firing {first}.",
        next_steps=["list_optimiser_schedules()"],
    )


@reports_retries
async def update_optimiser_schedule(
    wf: Workflow,
    schedule_id: int,
    *,
    metric_ids: list[int] | None = None,
    cron: str | None = None,
    timezone: str | None = None,
    auto_apply: bool | None = None,
    notify_on: str | None = None,
    name: str | None = None,
    is_active: bool | None = None,
    allow_frequent: bool = False,
) -> ScheduleResult:
    """Change only the fields given, with the same checks as creating; `unchanged` sends nothing."""
    schedule_id = check(ScheduleId, schedule_id, "schedule_id")
    wanted = _wanted(metric_ids, cron, timezone, auto_apply, notify_on, name, is_active)
    allow_frequent = check(Flag, allow_frequent, "allow_frequent")
    if wf.policy.read_only:
        raise read_only_refusal("update_optimiser_schedule")
    job = await _find(wf, schedule_id)
    if job is None:
        raise WorkflowError(
            f"Cekura has no optimiser schedule {schedule_id}; list_optimiser_schedules shows the "
            "ids. Nothing was sent."
        )
    if "crontab_expression" in wanted or "timezone" in wanted:
        cron_after = wanted.get("crontab_expression", job.crontab_expression)
        _check_frequency(
            wf, cron_after, wanted.get("timezone", job.timezone or "UTC"), allow_frequent
        )
    names: dict[int, str | None] = {}
    if metric_ids is not None:
        project, metrics = await one_project(wf, wanted["metrics"])
        if project != job.project:
            raise WorkflowError(
                f"Schedule {schedule_id} belongs to project {job.project}, but these metrics are "
                f"in project {project}. Nothing was written."
            )
        names = {m.id: m.name for m in metrics}
    changes = {k: v for k, v in wanted.items() if not _equal(job, k, v)}
    if not changes:
        return ScheduleResult(
            status="unchanged",
            schedule_id=schedule_id,
            schedule=schedule_view(job, names or await metric_names(wf, [job]), now(wf)),
            summary=f"Schedule {schedule_id} already has these settings; nothing sent.",
        )
    try:
        updated = await wf.client.update_cron_job(schedule_id, changes)
    except CekuraError as exc:
        raise WorkflowError(explain(exc, f"updating optimiser schedule {schedule_id}")) from exc
    return ScheduleResult(
        status="updated",
        schedule_id=schedule_id,
        schedule=schedule_view(updated, names or await metric_names(wf, [updated]), now(wf)),
        warnings=[AUTO_APPLY_WARNING] if updated.auto_apply else [],
        summary=f"Schedule {schedule_id} updated: {', '.join(sorted(changes))}.",
        next_steps=["list_optimiser_schedules()"],
    )


@reports_retries
async def delete_optimiser_schedule(wf: Workflow, schedule_id: int) -> ScheduleResult:
    """Delete a schedule (past optimiser runs are kept); `not_found` when there is none."""
    schedule_id = check(ScheduleId, schedule_id, "schedule_id")
    if wf.policy.read_only:
        raise read_only_refusal("delete_optimiser_schedule")
    job = await _find(wf, schedule_id)
    if job is None:
        return ScheduleResult(
            status="not_found",
            schedule_id=schedule_id,
            summary=f"Cekura has no optimiser schedule {schedule_id}; nothing sent.",
            next_steps=["list_optimiser_schedules()"],
        )
    try:
        await wf.client.delete_cron_job(schedule_id)
    except CekuraError as exc:
        raise WorkflowError(explain(exc, f"deleting optimiser schedule {schedule_id}")) from exc
    return ScheduleResult(
        status="deleted",
        schedule_id=schedule_id,
        summary=f"Schedule {schedule_id} deleted; its past optimiser runs are kept.",
    )


def _wanted(
    metric_ids: Any,
    cron: Any,
    timezone: Any,
    auto_apply: Any,
    notify_on: Any,
    name: Any,
    is_active: Any,
) -> dict[str, Any]:
    """The fields given, checked and under Cekura's names."""
    given = {
        "metrics": (MetricIds, metric_ids, "metric_ids"),
        "crontab_expression": (CronExpression, cron, "cron"),
        "timezone": (TimeZone, timezone, "timezone"),
        "auto_apply": (Flag, auto_apply, "auto_apply"),
        "notify_on": (NotifyOn, notify_on, "notify_on"),
        "name": (ScheduleName, name, "name"),
        "is_active": (Flag, is_active, "is_active"),
    }
    return {
        key: check(kind, value, arg)
        for key, (kind, value, arg) in given.items()
        if value is not None
    }


def _check_frequency(wf: Workflow, cron: str, timezone: str, allow_frequent: bool) -> None:
    """Refuse more than one firing an hour unless the caller allowed it."""
    problem = None if allow_frequent else too_frequent(cron, timezone, now(wf))
    if problem:
        raise WorkflowError(
            f"cron {problem}. Choose at most one firing an hour (weekly is recommended), or pass "
            "allow_frequent=True. Nothing was sent."
        )


def _same_schedule(job: CronJob, metric_ids: list[int], cron: str, timezone: str) -> bool:
    """An active schedule with the same metrics, cron expression and time zone."""
    return (
        job.is_active
        and set(job.metrics) == set(metric_ids)
        and " ".join(job.crontab_expression.split()) == cron
        and (job.timezone or "UTC") == timezone
    )


def _equal(job: CronJob, key: str, value: Any) -> bool:
    current = getattr(job, key)
    if key == "metrics":
        return set(current) == set(value)
    if key == "crontab_expression":
        return " ".join(current.split()) == value
    if key == "timezone":
        return (current or "UTC") == value
    return current == value


async def _find(wf: Workflow, schedule_id: int) -> CronJob | None:
    """The schedule with this id, from Cekura's list (sends nothing else)."""
    return next((j for j in await all_jobs(wf) if j.id == schedule_id), None)
