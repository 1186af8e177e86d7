"""Metrics (contract §4, §5.1-§5.2): list, read and change them, re-score the Lab, and act on
a pending proposal left by Cekura's in-product schedule."""

from __future__ import annotations

from typing import Any

from .endpoints import (
    APPLY_PROPOSAL,
    DISMISS_PROPOSAL,
    METRIC,
    METRICS,
    RUN_REVIEWS,
    RUN_REVIEWS_PROGRESS,
)
from .inputs import patch_fields, positive_int, token
from .models import Metric, MetricSummary, RunReviewsProgress
from .progress import parse_run_reviews_progress
from .transport import Transport

# RunReviewsRequest's override fields (skip_save has its own parameter). An unknown key would be
# silently ignored by Cekura, so the re-score would quietly use the live config instead.
RUN_REVIEWS_OVERRIDES = frozenset(
    {
        "llm_provider",
        "evaluation_trigger",
        "evaluation_trigger_prompt",
        "trigger_type",
        "evaluation_trigger_custom_code",
        "description",
        "type",
        "custom_code",
        "prompt",
        "metric_description_program",
        "metric_description_variables",
        "evaluation_trigger_program",
        "evaluation_trigger_variables",
    }
)


def _run_reviews_body(overrides: dict[str, Any] | None, skip_save: bool) -> dict[str, Any]:
    """The run_reviews body, refusing override keys Cekura would silently ignore."""
    body: dict[str, Any] = {}
    if overrides:
        unknown = sorted(set(overrides) - RUN_REVIEWS_OVERRIDES)
        if unknown:
            raise ValueError(
                f"run_reviews cannot override {', '.join(map(str, unknown))}; allowed: "
                f"{', '.join(sorted(RUN_REVIEWS_OVERRIDES))} (use skip_save= for skip_save)"
            )
        body.update(overrides)
    if skip_save:
        body["skip_save"] = True
    return body


class MetricCalls:
    """The metric endpoints, mixed into `CekuraClient`."""

    _transport: Transport

    async def list_metrics(
        self, *, project_id: int | None = None, agent_id: int | None = None
    ) -> list[MetricSummary]:
        """GET the metrics list (a bare array). Pass a scope: unscoped lists can be huge."""
        params: dict[str, Any] = {}
        if project_id is not None:
            params["project_id"] = positive_int("project_id", project_id)
        if agent_id is not None:
            params["agent_id"] = positive_int("agent_id", agent_id)
        reply = await self._transport.send("GET", METRICS, params=params or None)
        return reply.models(MetricSummary)

    async def get_metric(self, metric_id: int | str) -> Metric:
        """GET one metric with its Lab rows, by integer id or slug."""
        if isinstance(metric_id, str):
            ref: int | str = token("metric slug", metric_id)
        else:
            ref = positive_int("metric_id", metric_id)
        reply = await self._transport.send("GET", METRIC, path_args={"metric": ref})
        return reply.model(Metric)

    async def patch_metric(self, metric_id: int, fields: dict[str, Any]) -> Metric:
        """PATCH the live metric (this changes what production evaluates)."""
        path_args = {"metric": positive_int("metric_id", metric_id)}
        body = patch_fields("fields", fields)
        reply = await self._transport.send("PATCH", METRIC, path_args=path_args, body=body)
        return reply.model(Metric)

    async def run_reviews(
        self, metric_id: int, *, overrides: dict[str, Any] | None = None, skip_save: bool = False
    ) -> str:
        """POST run_reviews: re-score the Lab, optionally with an unsaved config (`overrides`)
        and without saving results (`skip_save`). Returns the progress id."""
        path_args = {"metric_id": positive_int("metric_id", metric_id)}
        body = _run_reviews_body(overrides, skip_save)
        reply = await self._transport.send("POST", RUN_REVIEWS, path_args=path_args, body=body)
        return reply.progress_id()

    async def get_run_reviews_progress(self, progress_id: str) -> RunReviewsProgress:
        """GET run_reviews_progress, parsed by `parse_run_reviews_progress`."""
        params = {"progress_id": token("progress_id", progress_id)}
        reply = await self._transport.send("GET", RUN_REVIEWS_PROGRESS, params=params)
        return reply.progress(parse_run_reviews_progress)

    async def apply_pending_proposal(self, metric_id: int) -> Metric | None:
        """POST apply_optimisation_proposal. Returns the updated metric when Cekura sends it
        (the response body is undocumented), else None."""
        path_args = {"metric_id": positive_int("metric_id", metric_id)}
        reply = await self._transport.send("POST", APPLY_PROPOSAL, path_args=path_args)
        data = reply.optional_json()
        if isinstance(data, dict) and isinstance(data.get("metric"), dict):
            data = data["metric"]
        if isinstance(data, dict) and "id" in data and "name" in data:
            return reply.parse(Metric, data)
        return None

    async def dismiss_pending_proposal(self, metric_id: int) -> None:
        """POST dismiss_optimisation_proposal."""
        path_args = {"metric_id": positive_int("metric_id", metric_id)}
        reply = await self._transport.send("POST", DISMISS_PROPOSAL, path_args=path_args)
        reply.optional_json()
