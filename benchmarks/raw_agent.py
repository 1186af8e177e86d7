"""A scripted agent (no LLM) that does what Cekura's documented routine asks of a model with the
raw tools: per metric, start process_feedbacks, poll its progress every 30 s until it settles,
retrieve the metric and diff it; with auto-apply, patch the changed fields when the optimised
score is not below the baseline, start run_reviews and poll it every 30 s.

It is generous to the raw chain: it reads nothing it does not need, stops at a paused run (the
official tools cannot answer questions) instead of polling it for ever, and never retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from benchmarks.mcp_session import ModelSide

DONE = frozenset({"success", "error", "failed", "cancelled", "completed"})
PAUSED = "paused"


@dataclass
class RawOutcome:
    metric_id: int
    status: str


def proposal_fields(output: dict[str, Any], metric: dict[str, Any]) -> dict[str, Any]:
    """The PATCH the routine describes: every field the optimiser changed, trigger text put in the
    field its kind names, `custom_code` with `type`."""
    fields: dict[str, Any] = {}
    description = output.get("improved_metric_description") or ""
    if description.strip() and description != metric.get("description"):
        fields["description"] = description
    trigger = output.get("improved_evaluation_trigger") or ""
    kind = output.get("improved_trigger_kind") or output.get("trigger_type")
    if kind == "always" or trigger.strip() == "always":
        if metric.get("evaluation_trigger") != "always":
            fields["evaluation_trigger"] = "always"
    elif trigger.strip():
        target = (
            "evaluation_trigger_custom_code"
            if kind == "custom_code"
            else "evaluation_trigger_prompt"
        )
        if trigger != metric.get(target):
            fields.update(
                {
                    "evaluation_trigger": "custom",
                    "trigger_type": "custom_code" if kind == "custom_code" else "llm_judge",
                    target: trigger,
                }
            )
    code = output.get("custom_code") or (output.get("meta_harness") or {}).get("optimized_code")
    if code and code != metric.get("custom_code"):
        fields.update(custom_code=code, type="custom_code")
    return fields


def _not_worse(output: dict[str, Any]) -> bool:
    old, new = output.get("old_score") or {}, output.get("new_score") or {}
    return (new.get("num_correct") or 0) >= (old.get("num_correct") or 0)


async def _poll(
    model: ModelSide, tool: str, progress_id: str, poll_real_s: float
) -> dict[str, Any]:
    while True:
        await anyio.sleep(poll_real_s)
        body = await model.call_json(tool, {"progress_id": progress_id})
        status = (body or {}).get("status") if isinstance(body, dict) else None
        if body is None or status in DONE or status == PAUSED:
            return body or {}
        if status is None and "improved_metric_description" in body:
            return {"status": "success", "output": body}


async def raw_metric(
    model: ModelSide, metric_id: int, *, apply: bool, poll_real_s: float
) -> RawOutcome:
    """The documented routine for one metric."""
    started = await model.call_json("metric_reviews_process_feedbacks", {"metric_id": metric_id})
    progress_id = (started or {}).get("progress_id") or (started or {}).get("job_id")
    if not progress_id:
        return RawOutcome(metric_id, "failed")
    state = await _poll(
        model, "metric_reviews_process_feedbacks_progress", progress_id, poll_real_s
    )
    if state.get("status") == PAUSED:
        return RawOutcome(metric_id, "paused")
    if state.get("status") != "success":
        return RawOutcome(metric_id, "failed")
    output = state.get("output") or {}
    metric = await model.call_json("metrics_retrieve", {"id": metric_id}) or {}
    fields = proposal_fields(output, metric)
    if not fields:
        return RawOutcome(metric_id, "unchanged")
    if not apply:
        return RawOutcome(metric_id, "proposed")
    if not _not_worse(output):
        return RawOutcome(metric_id, "not_applied")
    await model.call_json("metrics_partial_update", {"id": metric_id, **fields})
    run = await model.call_json("metrics_run_reviews_create", {"id": metric_id}) or {}
    if not run.get("progress_id"):
        return RawOutcome(metric_id, "applied_unverified")
    done = await _poll(model, "metrics_run_reviews_progress", run["progress_id"], poll_real_s)
    return RawOutcome(metric_id, "applied" if done.get("status") == "completed" else "failed")


async def raw_routine(
    model: ModelSide, metric_ids: list[int], *, apply: bool, poll_real_s: float
) -> list[RawOutcome]:
    """The routine over every metric, one after another, as a model calling one tool at a time."""
    return [
        await raw_metric(model, metric_id, apply=apply, poll_real_s=poll_real_s)
        for metric_id in metric_ids
    ]
