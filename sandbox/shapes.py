"""Render stored records in Cekura's published shapes (detail, list item, history row, cron job)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from sandbox.contract import (
    CRON_FIELDS,
    DETAIL_FIELDS,
    HISTORY_SNAPSHOT_FIELDS,
    LIST_FIELDS,
)
from sandbox.seed import AGENT_NAME

_HISTORY_META = (
    "history_id",
    "history_date",
    "history_type",
    "history_change_reason",
    "history_user",
    "version_id",
    "version_name",
    "agents_snapshot",
)


def utc_now() -> str:
    """The current time as Cekura writes it (ISO 8601, UTC, `Z`)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def metric_detail(metric: dict[str, Any]) -> dict[str, Any]:
    """MetricDetailSerializerV2 (also the MetricDetailV2 body that restore returns)."""
    return {name: copy.deepcopy(metric.get(name)) for name in DETAIL_FIELDS}


def metric_list_item(metric: dict[str, Any]) -> dict[str, Any]:
    """MetricListSerializerV2: no Lab rows, no proposal, plus list-only fields."""
    derived = {
        "agent_names": AGENT_NAME,
        "kb_file_ids": [],
        "knowledge_base_files": [],
        "metric_cost": 0.2,
        "uses_llm_judge": "true" if metric.get("type") != "custom_code" else "false",
    }
    return {
        name: copy.deepcopy(derived[name] if name in derived else metric.get(name))
        for name in LIST_FIELDS
    }


def history_snapshot(
    metric: dict[str, Any],
    *,
    history_id: int,
    history_type: str,
    reason: str | None,
    user: dict[str, Any] | None,
    at: str,
) -> dict[str, Any]:
    """A MetricHistory row: history metadata plus the metric's snapshot fields (no `*_program`)."""
    row: dict[str, Any] = {
        "history_id": history_id,
        "history_date": at,
        "history_type": history_type,
        "history_change_reason": reason,
        "history_user": user,
        "version_id": f"v{history_id}",
        "version_name": None,
        "agents_snapshot": list(metric.get("agents") or []),
    }
    snapshot = {**metric, "agent": None}
    row.update({name: copy.deepcopy(snapshot.get(name)) for name in HISTORY_SNAPSHOT_FIELDS})
    return row


def history_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored history row as the API returns it."""
    return {
        name: copy.deepcopy(row.get(name)) for name in (*_HISTORY_META, *HISTORY_SNAPSHOT_FIELDS)
    }


def cron_job(job: dict[str, Any]) -> dict[str, Any]:
    return {name: copy.deepcopy(job.get(name)) for name in CRON_FIELDS}
