"""Turning database rows (any mapping of column to value) into the ledger's row models, and values
into SQL parameters; shared by the SQLite and PostgreSQL backends."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tools.ledger.models import ApplyRow, ProposalRow, RunRow


def marks(values: tuple[Any, ...]) -> str:
    """One `?` per value, for an `IN (…)` list."""
    return ", ".join("?" for _ in values)


def dump(value: Any) -> str | None:
    """A JSON column's text (None stays NULL)."""
    return None if value is None else json.dumps(value, sort_keys=True)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def run_row(row: Mapping[str, Any]) -> RunRow:
    data = dict(row)
    data["test_set_ids"] = _load(data["test_set_ids"])
    data["result"] = _load(data["result"])
    return RunRow(**data)


def proposal_row(row: Mapping[str, Any]) -> ProposalRow:
    data = dict(row)
    data["body"] = _load(data["body"])
    return ProposalRow(**data)


def apply_row(row: Mapping[str, Any]) -> ApplyRow:
    data = dict(row)
    data["replaced"] = _load(data["replaced"])
    data["body"] = _load(data["body"])
    return ApplyRow(**data)
