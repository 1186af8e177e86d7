"""Checks on the client's arguments, so that a bad call is refused before anything is sent."""

from __future__ import annotations

from typing import Any


def positive_int(name: str, value: Any) -> int:
    """`value` if it is a positive integer (not a bool), else a ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r:.60}")
    return value


def id_list(name: str, values: Any) -> list[int]:
    """A non-empty list of positive integer ids, else a ValueError naming `name`."""
    if not isinstance(values, list | tuple) or not values:
        raise ValueError(f"{name} must be a non-empty list of positive integers")
    return [positive_int(f"each of {name}", v) for v in values]


def distinct_ids(name: str, values: Any, *, at_most: int | None = None) -> list[int]:
    """A non-empty list of distinct positive integer ids, at most `at_most` of them, else a
    ValueError (a repeated id would be evaluated, and billed, twice)."""
    ids = id_list(name, values)
    if len(set(ids)) != len(ids):
        raise ValueError(f"{name} must not repeat an id")
    if at_most is not None and len(ids) > at_most:
        raise ValueError(f"{name} must hold at most {at_most} ids, got {len(ids)}")
    return ids


def token(name: str, value: Any) -> str:
    """Non-blank text, stripped, else a ValueError naming `name`."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r:.60}")
    return value.strip()


def patch_fields(name: str, value: Any) -> dict[str, Any]:
    """A non-empty dict of field names to values (a PATCH body), else a ValueError."""
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{name} must be a non-empty dict of field names to values")
    if not all(isinstance(k, str) and k for k in value):
        raise ValueError(f"{name} keys must be non-empty field names")
    return dict(value)
