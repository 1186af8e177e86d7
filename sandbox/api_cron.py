"""Routes of `/schedules/v1/metric-optimiser-cron-jobs/`: in-product optimiser schedules (CRUD),
and the sandbox-only `/sandbox/cron_jobs/{id}/fire/` that fires one on demand."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import validation as v
from sandbox.contract import NOTIFY_ON
from sandbox.cron_fire import fire
from sandbox.seed import PROJECT_ID
from sandbox.shapes import cron_job, utc_now
from sandbox.state import SandboxState
from sandbox.web import not_found, ok, optional_int_query, read_object

REQUIRED = ("project", "metrics", "crontab_expression")
DEFAULTS: dict[str, Any] = {
    "name": "",
    "timezone": "UTC",
    "auto_apply": False,
    "skip_evaluation": False,
    "is_active": True,
    "notify_on": "failure",
}
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,\-?LW#]+")


def _crontab(value: Any) -> str:
    text = v.string(max_length=255, blank=False)(value)
    fields = text.split()
    if len(fields) != 5 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        raise v.Invalid("Enter a valid 5-field cron expression: minute hour day month weekday.")
    return text


def _timezone(value: Any) -> str:
    name = v.string(blank=False)(value)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise v.Invalid(f'"{name}" is not a valid choice.') from None
    return name


def _rules(state: SandboxState) -> dict[str, v.Rule]:
    def project(value: Any) -> int:
        pk = v.integer(value)
        if pk != PROJECT_ID:
            raise v.Invalid(f'Invalid pk "{pk}" - object does not exist.')
        return pk

    def metrics(value: Any) -> list[int]:
        ids = v.list_of(v.integer)(value)
        missing = [i for i in ids if i not in state.metrics]
        if missing:
            raise v.Invalid(f'Invalid pk "{missing[0]}" - object does not exist.')
        return ids

    return {
        "project": project,
        "name": v.string(max_length=255),
        "metrics": metrics,
        "crontab_expression": _crontab,
        "timezone": _timezone,
        "auto_apply": v.boolean,
        "skip_evaluation": v.boolean,
        "is_active": v.boolean,
        "notify_on": v.choice(NOTIFY_ON),
    }


async def cron_list(request: Request, state: SandboxState) -> Response:
    project_id = optional_int_query(request, "project_id")
    jobs = [
        cron_job(job)
        for _, job in sorted(state.cron_jobs.items())
        if project_id is None or job["project"] == project_id
    ]
    return ok(jobs)


async def cron_create(request: Request, state: SandboxState) -> Response:
    body = v.validate(await read_object(request), _rules(state), required=REQUIRED)
    now = utc_now()
    job = {
        **DEFAULTS,
        **body,
        "id": state.next_cron_id(),
        "created_by": 1,
        "created_via": "api",
        "created_at": now,
        "updated_at": now,
    }
    state.cron_jobs[job["id"]] = job
    return ok(cron_job(job), status=201)


async def cron_get(request: Request, state: SandboxState) -> Response:
    return ok(cron_job(_job(request, state)))


async def cron_update(request: Request, state: SandboxState) -> Response:
    job = _job(request, state)
    partial = request.method == "PATCH"
    body = v.validate(
        await read_object(request), _rules(state), required=() if partial else REQUIRED
    )
    job.update(body, updated_at=utc_now())
    return ok(cron_job(job))


async def cron_fire(request: Request, state: SandboxState) -> Response:
    """Sandbox only: fire the schedule now (see `sandbox.cron_fire`)."""
    return ok(fire(state, _job(request, state)))


async def cron_delete(request: Request, state: SandboxState) -> Response:
    job = _job(request, state)
    del state.cron_jobs[job["id"]]
    return Response(status_code=204)


def _job(request: Request, state: SandboxState) -> dict[str, Any]:
    key = str(request.path_params["id"])
    job = state.cron_jobs.get(int(key)) if key.isdigit() else None
    if job is None:
        raise not_found()
    return job
