"""Metric preview (contract §12.8): judge a draft configuration on up to 10 call logs without
saving it, and follow the job."""

from __future__ import annotations

from typing import Any

from .call_log_models import PreviewProgress
from .endpoints import METRIC_PREVIEW, METRIC_PREVIEW_PROGRESS
from .inputs import distinct_ids, positive_int, token
from .optimiser import METRIC_TYPES
from .preview_progress import parse_preview_progress
from .transport import Transport

MAX_PREVIEW_CALLS = 10

# MetricPreviewData's fields. Cekura would silently ignore any other key (a `*_program` field,
# `llm_provider`), so the preview would judge a different configuration from the one asked for.
PREVIEW_FIELDS = frozenset(
    {
        "name",
        "type",
        "eval_type",
        "description",
        "prompt",
        "custom_code",
        "evaluation_trigger",
        "trigger_type",
        "evaluation_trigger_prompt",
        "evaluation_trigger_custom_code",
        "enum_values",
        "audio_enabled",
    }
)


def _metric_data(metric_data: Any) -> dict[str, Any]:
    """The draft as `MetricPreviewData`: a None field is left out (Cekura's default applies),
    an unknown field or a missing name, type or eval_type is refused."""
    if not isinstance(metric_data, dict) or not metric_data:
        raise ValueError("metric_data must be a non-empty dict of MetricPreviewData fields")
    data = {k: v for k, v in metric_data.items() if v is not None}
    unknown = sorted(str(k) for k in set(data) - PREVIEW_FIELDS)
    if unknown:
        raise ValueError(
            f"a preview cannot use {', '.join(unknown)}; allowed: {', '.join(sorted(PREVIEW_FIELDS))}"
        )
    for field in ("name", "type", "eval_type"):
        data[field] = token(f"metric_data {field}", data.get(field))
    if len(data["name"]) > 255:
        raise ValueError("metric_data name must be at most 255 characters")
    if data["type"] not in METRIC_TYPES:
        raise ValueError(f"metric_data type must be one of {sorted(METRIC_TYPES)}")
    return data


class PreviewCalls:
    """The metric preview endpoints, mixed into `CekuraClient`."""

    _transport: Transport

    async def preview_metric(
        self,
        metric_data: dict[str, Any],
        call_log_ids: list[int],
        *,
        agent_id: int | None = None,
        project_id: int | None = None,
    ) -> str:
        """POST a preview of a draft metric on 1 to 10 call logs (it starts a job and saves
        nothing); returns the progress id."""
        body: dict[str, Any] = {
            "metric_data": _metric_data(metric_data),
            "call_log_ids": distinct_ids("call_log_ids", call_log_ids, at_most=MAX_PREVIEW_CALLS),
        }
        if agent_id is not None:
            body["agent_id"] = positive_int("agent_id", agent_id)
        if project_id is not None:
            body["project_id"] = positive_int("project_id", project_id)
        reply = await self._transport.send("POST", METRIC_PREVIEW, body=body)
        return reply.progress_id()

    async def get_preview_progress(self, progress_id: str) -> PreviewProgress:
        """GET preview-progress, parsed by `parse_preview_progress`."""
        params = {"progress_id": token("progress_id", progress_id)}
        reply = await self._transport.send("GET", METRIC_PREVIEW_PROGRESS, params=params)
        return reply.progress(parse_preview_progress)
