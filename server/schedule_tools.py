"""The schedule tools: list, create, change and delete Cekura's in-product optimiser schedules.
Each only adapts its inputs to one workflow in `tools/workflows/schedules.py`."""

from __future__ import annotations

from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from server.tooling import call, hints, tool, writes
from tools.inputs import (
    METRIC_IDS_MAX,
    CronExpression,
    MetricIds,
    NotifyOn,
    ProjectId,
    ScheduleId,
    ScheduleName,
    TimeZone,
)
from tools.results import ScheduleListResult, ScheduleResult

Cron = Annotated[CronExpression, Field(description="5 fields: minute hour day month weekday")]
Zone = Annotated[TimeZone, Field(description="IANA time zone the cron expression is read in")]
AutoApply = Annotated[
    bool,
    Field(description="Let Cekura overwrite the metric when not below baseline (weaker guard)"),
]
Notify = Annotated[NotifyOn, Field(description="When Cekura emails the project's members")]
Frequent = Annotated[bool, Field(description="Allow more than one firing an hour (spends credits)")]
Id = Annotated[ScheduleId, Field(description="The schedule's id from list_optimiser_schedules")]
Ids = Annotated[
    MetricIds, Field(description=f"Metric ids of one project, at most {METRIC_IDS_MAX}")
]


def register_schedule_tools(mcp: MCPServer, read_only: bool) -> None:
    """list_optimiser_schedules (read-only) and the three writes, refused in read-only mode."""
    _list_and_create(mcp, read_only)
    _change_and_delete(mcp, read_only)


def _list_and_create(mcp: MCPServer, read_only: bool) -> None:
    @tool(
        mcp,
        title="List Cekura's optimiser schedules",
        annotations=hints(read_only=True, idempotent=True),
    )
    async def list_optimiser_schedules(
        ctx: Context,
        project_id: Annotated[ProjectId | None, Field(description="Default: every project")] = None,
    ) -> ScheduleListResult:
        """Cekura's in-product optimiser schedules: metrics (ids and names), cron expression, time
        zone, the next three firing times in that zone and in UTC, auto-apply, notify-on, active."""
        from tools.workflows.schedules import list_optimiser_schedules as run

        return await call(ctx, lambda wf, _p: run(wf, project_id))

    @tool(
        mcp,
        title="Schedule Cekura's optimiser (spends credits at each firing)",
        annotations=hints(read_only=read_only, idempotent=True),
    )
    async def schedule_optimiser(
        metric_ids: Ids,
        cron: Cron,
        ctx: Context,
        timezone: Zone = "UTC",
        auto_apply: AutoApply = False,
        notify_on: Notify = "both",
        name: Annotated[ScheduleName | None, Field(description="Display name")] = None,
        allow_frequent: Frequent = False,
    ) -> ScheduleResult:
        """Create an in-product optimiser schedule after checking the cron expression, time zone,
        that every metric exists in one project and that it fires at most once an hour. Sends
        nothing if an active schedule has the same metrics, cron and zone (already_exists)."""
        from tools.workflows.schedules import schedule_optimiser as run

        return await call(
            ctx,
            lambda wf, _p: run(
                wf,
                metric_ids,
                cron,
                timezone=timezone,
                auto_apply=auto_apply,
                notify_on=notify_on,
                name=name,
                allow_frequent=allow_frequent,
            ),
        )


def _change_and_delete(mcp: MCPServer, read_only: bool) -> None:
    @tool(mcp, title="Change an optimiser schedule", annotations=writes(read_only))
    async def update_optimiser_schedule(
        schedule_id: Id,
        ctx: Context,
        metric_ids: Ids | None = None,
        cron: Cron | None = None,
        timezone: Zone | None = None,
        auto_apply: AutoApply | None = None,
        notify_on: Notify | None = None,
        name: Annotated[ScheduleName | None, Field(description="Display name")] = None,
        is_active: Annotated[bool | None, Field(description="False pauses the schedule")] = None,
        allow_frequent: Frequent = False,
    ) -> ScheduleResult:
        """Change only the fields given, with the same checks as schedule_optimiser; sends nothing
        when they already have these values (unchanged)."""
        from tools.workflows.schedules import update_optimiser_schedule as run

        return await call(
            ctx,
            lambda wf, _p: run(
                wf,
                schedule_id,
                metric_ids=metric_ids,
                cron=cron,
                timezone=timezone,
                auto_apply=auto_apply,
                notify_on=notify_on,
                name=name,
                is_active=is_active,
                allow_frequent=allow_frequent,
            ),
        )

    @tool(mcp, title="Delete an optimiser schedule", annotations=writes(read_only))
    async def delete_optimiser_schedule(schedule_id: Id, ctx: Context) -> ScheduleResult:
        """Delete the schedule for good (past optimiser runs are kept); not_found if none."""
        from tools.workflows.schedules import delete_optimiser_schedule as run

        return await call(ctx, lambda wf, _p: run(wf, schedule_id))
