"""The schedule tools' workflows against the in-process sandbox: each status, request bodies that
match Cekura's published schema, and refusals that send nothing."""

import copy

import pytest

from openapi_schemas import request_errors
from support import sandbox_world
from tools.errors import WorkflowError
from tools.workflows.schedules import (
    delete_optimiser_schedule,
    list_optimiser_schedules,
    schedule_optimiser,
    update_optimiser_schedule,
)

pytestmark = pytest.mark.asyncio

JOBS = "/schedules/v1/metric-optimiser-cron-jobs/"
JOB = "/schedules/v1/metric-optimiser-cron-jobs/{id}/"
WRITES = ("cron_create", "cron_update", "cron_delete")
LA = "America/Los_Angeles"
MARCH_2_2027 = 1803945600.0  # 2027-03-02T00:00:00Z


def _writes(state) -> int:
    return sum(state.count(route) for route in WRITES)


def _bodies(state, route):
    return [r.body for r in state.requests if r.route == route]


async def test_a_schedule_is_created_with_a_body_cekura_accepts_then_listed(tmp_path):
    async with sandbox_world(tmp_path) as w:
        w.clock.t = MARCH_2_2027
        made = await schedule_optimiser(w.wf, [101, 102], "0 9 * * 1", LA, name="weekly")
        assert made.status == "created" and made.warnings == []
        (body,) = _bodies(w.state, "cron_create")
        assert body == {
            "project": 1,
            "metrics": [101, 102],
            "crontab_expression": "0 9 * * 1",
            "name": "weekly",
            "timezone": LA,
            "auto_apply": False,
            "skip_evaluation": False,
            "is_active": True,
            "notify_on": "both",
        }
        assert request_errors("POST", JOBS, body) == []
        listed = await list_optimiser_schedules(w.wf, project_id=1)
        (view,) = listed.schedules
        assert (view.schedule_id, view.cron, view.timezone, view.auto_apply) == (
            made.schedule_id,
            "0 9 * * 1",
            LA,
            False,
        )
        assert [(m.id, m.name) for m in view.metrics] == [
            (101, "Appointment Booked"),
            (102, "Recording Disclosure"),
        ]
        assert [f.utc for f in view.next_firings] == [
            "2027-03-08T17:00:00Z",
            "2027-03-15T16:00:00Z",
            "2027-03-22T16:00:00Z",
        ]
        assert view.next_firings[1].local == "2027-03-15T09:00:00-07:00"
        assert listed.summary == "1 optimiser schedule(s) in project 1, 1 active."


async def test_the_same_active_schedule_already_exists_and_nothing_is_sent(tmp_path):
    async with sandbox_world(tmp_path) as w:
        first = await schedule_optimiser(w.wf, [101, 102], "0 9 * * 1", LA)
        again = await schedule_optimiser(w.wf, [102, 101], " 0 9  * * 1", LA)
        assert again.status == "already_exists" and again.schedule_id == first.schedule_id
        assert w.state.count("cron_create") == 1
        other_zone = await schedule_optimiser(w.wf, [101, 102], "0 9 * * 1", "Europe/London")
        assert other_zone.status == "created" and w.state.count("cron_create") == 2


async def test_auto_apply_is_created_with_a_warning_about_cekuras_weaker_guard(tmp_path):
    async with sandbox_world(tmp_path) as w:
        made = await schedule_optimiser(
            w.wf, [101], "0 6 * * 1", auto_apply=True, notify_on="failure"
        )
        (warning,) = made.warnings
        assert "does not check per-review breakage or held-out calls" in warning
        assert "apply_if_not_regressed" in warning
        (body,) = _bodies(w.state, "cron_create")
        assert body["auto_apply"] is True and body["notify_on"] == "failure"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"cron": "* * *"}, "cron must be a 5-field cron expression: it has 3 field(s), not 5"),
        ({"cron": "61 * * * *"}, "minute 61 is out of range 0–59"),
        ({"cron": "@reboot"}, "@reboot is not allowed"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone must be an IANA time zone name"),
        ({"cron": "*/15 * * * *"}, "more than once an hour"),
        ({"notify_on": "always"}, "notify_on must be 'never', 'success', 'failure' or 'both'"),
    ],
)
async def test_bad_schedules_are_refused_before_anything_is_sent(tmp_path, args, words):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError) as refused:
            await schedule_optimiser(w.wf, [101], **{"cron": "0 9 * * 1", **args})
        assert words in str(refused.value)
        assert w.state.requests == []


async def test_a_frequent_schedule_goes_ahead_when_allowed(tmp_path):
    async with sandbox_world(tmp_path) as w:
        made = await schedule_optimiser(w.wf, [101], "*/15 * * * *", allow_frequent=True)
        assert made.status == "created"


async def test_metrics_of_two_projects_are_refused_and_no_schedule_is_written(tmp_path):
    async with sandbox_world(tmp_path) as w:
        elsewhere = copy.deepcopy(w.state.metrics[102])
        w.state.metrics[902] = {**elsewhere, "id": 902, "project": 2}
        with pytest.raises(WorkflowError) as refused:
            await schedule_optimiser(w.wf, [101, 902], "0 9 * * 1")
        text = str(refused.value)
        assert "metric 101 in project 1" in text and "metric 902 in project 2" in text
        assert "Nothing was written" in text and _writes(w.state) == 0


async def test_a_missing_metric_is_refused_and_no_schedule_is_written(tmp_path):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError, match="Cekura has no metric 999"):
            await schedule_optimiser(w.wf, [101, 999], "0 9 * * 1")
        assert _writes(w.state) == 0


async def test_an_update_sends_only_the_changed_fields_and_an_unchanged_one_sends_nothing(tmp_path):
    async with sandbox_world(tmp_path) as w:
        made = await schedule_optimiser(w.wf, [101], "0 9 * * 1", LA)
        same = await update_optimiser_schedule(
            w.wf, made.schedule_id, cron="0 9 * * 1", timezone=LA
        )
        assert same.status == "unchanged" and w.state.count("cron_update") == 0
        changed = await update_optimiser_schedule(
            w.wf, made.schedule_id, cron="30 7 * * 1", is_active=False, metric_ids=[101]
        )
        assert changed.status == "updated"
        (body,) = _bodies(w.state, "cron_update")
        assert body == {"crontab_expression": "30 7 * * 1", "is_active": False}
        assert request_errors("PATCH", JOB, body) == []
        assert changed.schedule.is_active is False and changed.schedule.cron == "30 7 * * 1"
        assert changed.warnings == []
        auto = await update_optimiser_schedule(w.wf, made.schedule_id, auto_apply=True)
        assert auto.status == "updated" and "apply_if_not_regressed" in auto.warnings[0]


async def test_an_update_is_checked_like_a_new_schedule(tmp_path):
    async with sandbox_world(tmp_path) as w:
        made = await schedule_optimiser(w.wf, [101], "0 9 * * 1")
        w.state.metrics[902] = {**copy.deepcopy(w.state.metrics[102]), "id": 902, "project": 2}
        for fields, words in [
            ({"cron": "61 * * * *"}, "minute 61 is out of range 0–59"),
            ({"timezone": "Nowhere/Town"}, "timezone must be an IANA time zone name"),
            ({"cron": "*/5 * * * *"}, "more than once an hour"),
            ({"metric_ids": [902]}, "belongs to project 1, but these metrics are in project 2"),
        ]:
            with pytest.raises(WorkflowError) as refused:
                await update_optimiser_schedule(w.wf, made.schedule_id, **fields)
            assert words in str(refused.value)
        assert w.state.count("cron_update") == 0


async def test_updating_a_schedule_that_does_not_exist_is_refused(tmp_path):
    async with sandbox_world(tmp_path) as w:
        with pytest.raises(WorkflowError, match="Cekura has no optimiser schedule 77"):
            await update_optimiser_schedule(w.wf, 77, name="x")
        assert _writes(w.state) == 0


async def test_delete_then_delete_again_is_deleted_then_not_found(tmp_path):
    async with sandbox_world(tmp_path) as w:
        made = await schedule_optimiser(w.wf, [101], "0 9 * * 1")
        gone = await delete_optimiser_schedule(w.wf, made.schedule_id)
        assert gone.status == "deleted" and w.state.cron_jobs == {}
        again = await delete_optimiser_schedule(w.wf, made.schedule_id)
        assert again.status == "not_found" and w.state.count("cron_delete") == 1
        assert (await list_optimiser_schedules(w.wf)).schedules == []


async def test_every_write_is_refused_in_read_only_mode_and_listing_still_works(tmp_path):
    async with sandbox_world(tmp_path, read_only=True) as w:
        w.state.cron_jobs[5] = {
            "id": 5,
            "project": 1,
            "name": "",
            "metrics": [101],
            "crontab_expression": "0 9 * * 1",
            "timezone": "UTC",
            "auto_apply": False,
            "skip_evaluation": False,
            "is_active": True,
            "notify_on": "both",
            "created_by": 1,
            "created_via": "user",
            "created_at": "2026-11-01T00:00:00Z",
            "updated_at": "2026-11-01T00:00:00Z",
        }
        for write in (
            schedule_optimiser(w.wf, [101], "0 9 * * 2"),
            update_optimiser_schedule(w.wf, 5, name="x"),
            delete_optimiser_schedule(w.wf, 5),
        ):
            with pytest.raises(WorkflowError, match="read-only mode"):
                await write
        assert w.state.requests == []
        assert [s.schedule_id for s in (await list_optimiser_schedules(w.wf)).schedules] == [5]
