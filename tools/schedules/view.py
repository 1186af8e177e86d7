"""What people see of a schedule: its metrics by name and its next three firing times, and the
reads and checks the schedule tools share (every metric read, all in one project)."""

from __future__ import annotations

from datetime import UTC, datetime

from tools.cekura.errors import CekuraError, CekuraNotFound
from tools.cekura.models import CronJob, Metric
from tools.context import Workflow
from tools.errors import WorkflowError
from tools.explain import explain
from tools.live_metric import read_metric
from tools.results import Firing, ScheduledMetric, ScheduleView
from tools.schedules.cron import cron_problem, firings

SHOWN_FIRINGS = 3
AUTO_APPLY_WARNING = (
    "auto_apply=True lets Cekura overwrite the live metric whenever the optimised score is not "
    "below the baseline; its guard does not check per-review breakage or held-out calls and does "
    "not re-score and revert. Consider keeping the schedule read-only and applying its pending "
    "proposals with apply_if_not_regressed."
)


def now(wf: Workflow) -> datetime:
    """The workflow clock's time, as an aware UTC datetime."""
    return datetime.fromtimestamp(wf.clock.now(), UTC)


def next_firings(cron: str, timezone: str, after: datetime) -> list[Firing]:
    """The next three firing times, each in the schedule's zone and in UTC."""
    return [
        Firing(local=when.isoformat(), utc=when.astimezone(UTC).isoformat().replace("+00:00", "Z"))
        for when in firings(cron, timezone, after, SHOWN_FIRINGS)
    ]


def schedule_view(job: CronJob, names: dict[int, str | None], after: datetime) -> ScheduleView:
    """A schedule with metric names and, when its expression is one we can read, next firings."""
    timezone = job.timezone or "UTC"
    readable = cron_problem(job.crontab_expression) is None
    return ScheduleView(
        schedule_id=job.id,
        name=job.name or None,
        project_id=job.project,
        metrics=[ScheduledMetric(id=i, name=names.get(i)) for i in job.metrics],
        cron=job.crontab_expression,
        timezone=timezone,
        next_firings=next_firings(job.crontab_expression, timezone, after) if readable else [],
        auto_apply=job.auto_apply,
        notify_on=job.notify_on,
        is_active=job.is_active,
    )


async def metric_names(wf: Workflow, jobs: list[CronJob]) -> dict[int, str | None]:
    """Each scheduled metric's name, read once (None for one Cekura no longer has)."""
    names: dict[int, str | None] = {}
    for metric_id in sorted({i for job in jobs for i in job.metrics}):
        try:
            names[metric_id] = (await wf.client.get_metric(metric_id)).name
        except CekuraNotFound:
            names[metric_id] = None
        except CekuraError as exc:
            raise WorkflowError(explain(exc, f"reading metric {metric_id}")) from exc
    return names


async def one_project(wf: Workflow, metric_ids: list[int]) -> tuple[int, list[Metric]]:
    """Read every metric; refuse unless all exist and belong to one project."""
    metrics = [await read_metric(wf, i, before_write=True) for i in metric_ids]
    projects = sorted({m.project for m in metrics if m.project is not None})
    if len(projects) != 1 or any(m.project is None for m in metrics):
        where = ", ".join(f"metric {m.id} in project {m.project}" for m in metrics)
        raise WorkflowError(
            f"A schedule covers one project, but these metrics are in more than one ({where}). "
            "Schedule each project's metrics separately. Nothing was written."
        )
    return projects[0], metrics


async def all_jobs(wf: Workflow, project_id: int | None = None) -> list[CronJob]:
    """Cekura's optimiser schedules (of one project, if given)."""
    try:
        return await wf.client.list_cron_jobs(project_id=project_id)
    except CekuraError as exc:
        raise WorkflowError(explain(exc, "listing optimiser schedules")) from exc
