"""Cron expressions and time zones for optimiser schedules: checked field by field (so a refusal
names the bad field), and the firing times they give, daylight-saving changes included."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise

from cronsim import CronSim, CronSimError

FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
GAP_SAMPLE = 200
GAP_HORIZON = timedelta(days=366)
FIELD_NAMES = "minute hour day-of-month month day-of-week"


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a 5-field cron expression Cekura's scheduler accepts, or None."""
    text = expression.strip()
    if text.startswith("@"):
        return f"{text.split()[0]} is not allowed; write the 5 fields ({FIELD_NAMES})"
    fields = text.split()
    if len(fields) != 5:
        return f"it has {len(fields)} field(s), not 5 ({FIELD_NAMES})"
    for text_field, (name, low, high) in zip(fields, FIELDS, strict=True):
        problem = _field_problem(text_field, name, low, high)
        if problem:
            return problem
    try:
        CronSim(" ".join(fields), datetime(2000, 1, 1))
    except CronSimError as exc:
        return f"it is not a valid cron expression ({exc})"
    return None


def _field_problem(text: str, name: str, low: int, high: int) -> str | None:
    """A number out of range (or a bad step) in one field; names and specials go to cronsim."""
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isdigit() and int(step) > 0):
            return f"{name} step {step!r} must be a whole number above 0"
        for bound in base.split("-"):
            if bound.isdigit() and not low <= int(bound) <= high:
                return f"{name} {int(bound)} is out of range {low}–{high}"
    return None


def timezone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone this machine knows, or None."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"the time zone database has no {name!r}"
    return None


def firings(expression: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` firing times after `after`, in the schedule's time zone."""
    start = after.astimezone(zoneinfo.ZoneInfo(timezone))
    return list(islice(CronSim(expression, start), count))


def shortest_gap(expression: str, timezone: str, after: datetime) -> timedelta | None:
    """The shortest time between firings over the next GAP_SAMPLE firings (or a year)."""
    times: list[datetime] = []
    start = after.astimezone(zoneinfo.ZoneInfo(timezone))
    for when in islice(CronSim(expression, start), GAP_SAMPLE):
        if times and when - start > GAP_HORIZON:
            break
        times.append(when.astimezone(UTC))
    gaps = [b - a for a, b in pairwise(times)]
    return min(gaps) if gaps else None


def too_frequent(expression: str, timezone: str, after: datetime) -> str | None:
    """Why the schedule fires more than once an hour, or None."""
    gap = shortest_gap(expression, timezone, after)
    if gap is None or gap >= timedelta(hours=1):
        return None
    minutes = int(gap.total_seconds() // 60)
    return (
        f"{expression!r} fires as often as every {minutes} minute(s), more than once an hour, "
        "and each firing runs the optimiser and spends credits"
    )
