"""The metric preview: a draft configuration judged on up to 10 call logs, saving nothing.

Contract §12.8 publishes no progress body; the sandbox answers with the shape its [I] notes
suggest: `{status: in_progress|completed|failed, total, completed, failed, error, results}`,
each result `{call_log_id, score, explanation, extra, error}` like a call's evaluation item.
A job finishes after a number of progress reads (or seconds), as the other jobs do. Nothing is
written: not the metric, not the call logs' evaluations.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.jobs import Timer
from sandbox.judge import evaluate

# MetricPreviewData's defaults for the fields the judge reads.
PREVIEW_DEFAULTS: dict[str, Any] = {
    "description": "",
    "prompt": "",
    "custom_code": "",
    "evaluation_trigger": "always",
    "trigger_type": "llm_judge",
    "evaluation_trigger_prompt": "",
    "evaluation_trigger_custom_code": "",
}


def preview_config(metric_data: Mapping[str, Any]) -> dict[str, Any]:
    """The judge configuration a validated `metric_data` describes."""
    config = dict(PREVIEW_DEFAULTS)
    config.update({k: v for k, v in metric_data.items() if k in PREVIEW_DEFAULTS})
    config["type"] = metric_data["type"]
    return config


@dataclass
class PreviewJob:
    """A preview run: in_progress → completed (or failed when every item errored)."""

    progress_id: str
    config: dict[str, Any]
    calls: list[tuple[int, str]]  # (call log id, transcript as it was when the job started)
    timer: Timer
    result: dict[str, Any] | None = None

    def progress(self) -> dict[str, Any]:
        """One progress read: the job may finish on it."""
        if self.result is None and self.timer.due():
            self.result = self._finish()
        if self.result is not None:
            return copy.deepcopy(self.result)
        return self._body("in_progress", [], None)

    def _finish(self) -> dict[str, Any]:
        results = [self._item(call_log_id, transcript) for call_log_id, transcript in self.calls]
        failed = sum(r["error"] is not None for r in results)
        if results and failed == len(results):
            return self._body("failed", results, "Evaluation failed for all call logs")
        return self._body("completed", results, None)

    def _item(self, call_log_id: int, transcript: str) -> dict[str, Any]:
        verdict = evaluate(self.config, transcript)
        extra = {} if verdict.triggered else {"trigger_failed": True}
        return {
            "call_log_id": call_log_id,
            "score": verdict.actual_value,
            "explanation": verdict.explanation or [],
            "extra": extra,
            "error": verdict.error,
        }

    def _body(
        self, status: str, results: list[dict[str, Any]], error: str | None
    ) -> dict[str, Any]:
        failed = sum(r["error"] is not None for r in results)
        return {
            "status": status,
            "total": len(self.calls),
            "completed": len(results) - failed,
            "failed": failed,
            "error": error,
            "results": results,
        }
