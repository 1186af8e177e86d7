"""Cekura's in-product optimiser schedules (metric-optimiser cron jobs, contract §6)."""

from __future__ import annotations

from typing import Any

from .endpoints import CRON_JOB, CRON_JOBS
from .inputs import id_list, patch_fields, positive_int, token
from .models import CronJob
from .transport import Transport

NOTIFY_ON = frozenset({"never", "success", "failure", "both"})


def _cron_job_body(
    *,
    project: int,
    metrics: list[int],
    crontab_expression: str,
    name: str | None,
    timezone: str | None,
    auto_apply: bool,
    skip_evaluation: bool,
    is_active: bool,
    notify_on: str | None,
) -> dict[str, Any]:
    """A new schedule's body, refusing what Cekura would reject."""
    cron = token("crontab_expression", crontab_expression)
    if len(cron.split()) != 5:
        raise ValueError("crontab_expression must have 5 fields: minute hour dom month dow")
    body: dict[str, Any] = {
        "project": positive_int("project", project),
        "metrics": id_list("metrics", metrics),
        "crontab_expression": cron,
        "auto_apply": bool(auto_apply),
        "skip_evaluation": bool(skip_evaluation),
        "is_active": bool(is_active),
    }
    if name is not None:
        body["name"] = token("name", name)
        if len(body["name"]) > 255:
            raise ValueError("name must be at most 255 characters")
    if timezone is not None:
        body["timezone"] = token("timezone", timezone)
    if notify_on is not None:
        if notify_on not in NOTIFY_ON:
            raise ValueError(f"notify_on must be one of {sorted(NOTIFY_ON)}")
        body["notify_on"] = notify_on
    return body


class ScheduleCalls:
    """The optimiser-schedule endpoints, mixed into `CekuraClient`."""

    _transport: Transport

    async def list_cron_jobs(self, *, project_id: int | None = None) -> list[CronJob]:
        """GET Cekura's optimiser schedules (a bare array)."""
        params = None
        if project_id is not None:
            params = {"project_id": positive_int("project_id", project_id)}
        reply = await self._transport.send("GET", CRON_JOBS, params=params)
        return reply.models(CronJob)

    async def create_cron_job(
        self,
        *,
        project: int,
        metrics: list[int],
        crontab_expression: str,
        name: str | None = None,
        timezone: str | None = None,
        auto_apply: bool = False,
        skip_evaluation: bool = False,
        is_active: bool = True,
        notify_on: str | None = None,
    ) -> CronJob:
        """POST a new optimiser schedule (a repeat would create a duplicate)."""
        body = _cron_job_body(
            project=project,
            metrics=metrics,
            crontab_expression=crontab_expression,
            name=name,
            timezone=timezone,
            auto_apply=auto_apply,
            skip_evaluation=skip_evaluation,
            is_active=is_active,
            notify_on=notify_on,
        )
        reply = await self._transport.send("POST", CRON_JOBS, body=body)
        return reply.model(CronJob)

    async def update_cron_job(self, job_id: int, fields: dict[str, Any]) -> CronJob:
        """PATCH an optimiser schedule with only the given fields."""
        path_args = {"job_id": positive_int("job_id", job_id)}
        body = patch_fields("fields", fields)
        reply = await self._transport.send("PATCH", CRON_JOB, path_args=path_args, body=body)
        return reply.model(CronJob)

    async def delete_cron_job(self, job_id: int) -> None:
        """DELETE an optimiser schedule; one a lost earlier attempt already deleted counts."""
        path_args = {"job_id": positive_int("job_id", job_id)}
        await self._transport.send("DELETE", CRON_JOB, path_args=path_args)
