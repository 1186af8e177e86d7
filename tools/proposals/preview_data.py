"""A configuration as Cekura's metric preview takes it (§12.8, `MetricPreviewData`): the live
metric with a proposal's PATCH laid over it, so the draft can be judged on calls without saving."""

from __future__ import annotations

from typing import Any

from tools.cekura.models import Metric
from tools.cekura.preview import PREVIEW_FIELDS
from tools.proposals.mapping import DEPRECATED_TYPES, live_value

DESCRIBED_BY_THE_METRIC = frozenset({"name", "type", "eval_type", "enum_values", "audio_enabled"})
# The fields a proposal may set that the preview takes; the rest describe the metric itself.
OVERLAID = tuple(sorted(PREVIEW_FIELDS - DESCRIBED_BY_THE_METRIC))


def preview_data(metric: Metric, patch: dict[str, Any] | None = None) -> dict[str, Any]:
    """`metric_data` for the live metric, or for the live metric with `patch` applied."""
    patch = patch or {}
    kind = patch.get("type") or metric.type or "llm_judge"
    data: dict[str, Any] = {
        "name": metric.name[:255],
        "type": "llm_judge" if kind in DEPRECATED_TYPES else kind,
        "eval_type": _eval_type(metric.eval_type),
    }
    for field in OVERLAID:
        value = patch.get(field, live_value(metric, field))
        if value not in (None, ""):
            data[field] = value
    if isinstance(metric.enum_values, list) and data["eval_type"] == "enum":
        data["enum_values"] = metric.enum_values
    audio = getattr(metric, "audio_enabled", None)
    if isinstance(audio, bool):
        data["audio_enabled"] = audio
    return data


def _eval_type(value: str | None) -> str:
    """The preview's eval type: legacy `binary_*` values are plain `binary`."""
    if not value or value.startswith("binary"):
        return "binary"
    return value


def unpreviewable(patch: dict[str, Any]) -> list[str]:
    """Fields of a patch the preview cannot take, so its verdicts may differ from the live ones."""
    return sorted(k for k in patch if k not in PREVIEW_FIELDS)
