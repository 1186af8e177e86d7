"""Cron expressions and firing times for optimiser schedules: refusals name the bad field, and the
next firings stay at 09:00 local across daylight-saving changes (so move in UTC)."""

from datetime import UTC, datetime

import pytest

from tools.errors import WorkflowError
from tools.inputs import CronExpression, TimeZone, check
from tools.schedules.cron import too_frequent
from tools.schedules.view import next_firings

MONDAYS_9AM = "0 9 * * 1"
LA = "America/Los_Angeles"


def _utc(*firings):
    return [f.utc for f in firings]


def test_mondays_9am_in_los_angeles_move_an_hour_earlier_in_utc_after_the_march_change():
    # DST starts on Sunday 14 March 2027: 09:00 PST is 17:00Z, 09:00 PDT is 16:00Z.
    shown = next_firings(MONDAYS_9AM, LA, datetime(2027, 3, 2, tzinfo=UTC))
    assert _utc(*shown) == ["2027-03-08T17:00:00Z", "2027-03-15T16:00:00Z", "2027-03-22T16:00:00Z"]
    assert [f.local for f in shown] == [
        "2027-03-08T09:00:00-08:00",
        "2027-03-15T09:00:00-07:00",
        "2027-03-22T09:00:00-07:00",
    ]


def test_mondays_9am_in_los_angeles_move_an_hour_later_in_utc_after_the_november_change():
    # DST ends on Sunday 1 November 2026: 09:00 PDT is 16:00Z, 09:00 PST is 17:00Z.
    shown = next_firings(MONDAYS_9AM, LA, datetime(2026, 10, 20, tzinfo=UTC))
    assert _utc(*shown) == ["2026-10-26T16:00:00Z", "2026-11-02T17:00:00Z", "2026-11-09T17:00:00Z"]
    assert shown[1].local == "2026-11-02T09:00:00-08:00"


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("* * *", "it has 3 field(s), not 5"),
        ("61 * * * *", "minute 61 is out of range 0–59"),
        ("@reboot", "@reboot is not allowed"),
        ("0 24 * * *", "hour 24 is out of range 0–23"),
        ("0 9 * 13 *", "month 13 is out of range 1–12"),
        ("*/0 * * * *", "minute step '0' must be a whole number above 0"),
        ("0 0 * * * *", "it has 6 field(s), not 5"),
        ("0 0 31 2 *", "it is not a valid cron expression"),
    ],
)
def test_a_bad_cron_expression_is_refused_naming_what_is_wrong(cron, words):
    with pytest.raises(WorkflowError) as refused:
        check(CronExpression, cron, "cron")
    assert str(refused.value).startswith("cron must be a 5-field cron expression")
    assert words in str(refused.value)


def test_a_good_cron_expression_comes_back_with_single_spaces():
    assert check(CronExpression, " 0  9 * * MON ", "cron") == "0 9 * * MON"


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(WorkflowError, match="timezone must be an IANA time zone name"):
        check(TimeZone, "Mars/Olympus_Mons", "timezone")
    assert check(TimeZone, LA, "timezone") == LA


@pytest.mark.parametrize(
    ("cron", "frequent"),
    [
        ("*/30 * * * *", True),
        ("0,30 9 * * 1", True),  # twice in one hour, once a week
        ("0 * * * *", False),
        ("0 9 * * 1", False),
    ],
)
def test_more_than_one_firing_an_hour_is_flagged(cron, frequent):
    assert (too_frequent(cron, "UTC", datetime(2027, 1, 1, tzinfo=UTC)) is not None) is frequent
