"""The sandbox's in-memory world: metrics with Lab rows and history, production call logs, jobs,
cron jobs, request log.

Tests and the demo drive and inspect it directly (`state.metric(101)`, `state.call_log(id)`,
`state.credits_used`, `state.count("metric_patch")`, `state.faults.add(...)`); the HTTP routes
call its operations. `now` is the sandbox's wall clock (the call-log list's default window);
`clock` times the jobs.
"""

from __future__ import annotations

import ast
import copy
import itertools
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.call_logs import CallLogStore
from sandbox.contract import JUDGE_FIELDS, RESTORE_SKIP_FIELDS
from sandbox.faults import FaultPlan, RunFault
from sandbox.jobs import OptimiserJob, ProgressShape, RunReviewsJob, Timer, as_progress_shape
from sandbox.judge import evaluate, lab_score
from sandbox.lab_rows import LabBook
from sandbox.optimiser import transcript
from sandbox.preview import PreviewJob
from sandbox.seed import SEEDED_AT, seed_metrics
from sandbox.seed_calls import seed_call_logs
from sandbox.shapes import history_snapshot, metric_detail, utc_now

FIRST_HISTORY_ID = 900_001
SEED_USER = {"id": 1, "name": "Sandbox Admin", "email": "admin@example.com"}


@dataclass
class RequestRecord:
    """One request the sandbox received, and what became of it."""

    method: str
    path: str
    route: str | None
    metric_id: int | None
    body: Any
    query: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    fault: str | None = None
    effective: bool = False


class SandboxState:
    """Everything one sandbox instance knows; build it with `SandboxState.seeded(...)`."""

    def __init__(
        self,
        metrics: dict[int, dict[str, Any]],
        *,
        progress_shape: ProgressShape = "envelope",
        optimiser_polls: int = 2,
        run_reviews_polls: int = 1,
        optimiser_seconds: float | None = None,
        run_reviews_seconds: float | None = None,
        clock: Callable[[], float] | None = None,
        api_keys: Iterable[str] | None = None,
        call_logs: dict[int, dict[str, Any]] | None = None,
        preview_polls: int = 1,
        preview_seconds: float | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.metrics = metrics
        self.progress_shape = as_progress_shape(progress_shape)
        self.optimiser_polls = optimiser_polls
        self.run_reviews_polls = run_reviews_polls
        self.optimiser_seconds = optimiser_seconds
        self.run_reviews_seconds = run_reviews_seconds
        self.preview_polls = preview_polls
        self.preview_seconds = preview_seconds
        self.clock = clock or time.monotonic
        self.now = now or _utc_now
        self.calls = CallLogStore(call_logs or {}, metrics, self.now)
        self.lab = LabBook(metrics, self.now)
        self.preview_jobs: dict[str, PreviewJob] = {}
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        self.faults = FaultPlan()
        # Reads a run stays `paused` after its last answer, as a worker that resumes later would.
        self.answer_lag_polls = 0
        self.requests: list[RequestRecord] = []
        self.history: dict[int, list[dict[str, Any]]] = {}
        self.optimiser_jobs: dict[str, OptimiserJob] = {}
        self.run_jobs: dict[str, RunReviewsJob] = {}
        self.cron_jobs: dict[int, dict[str, Any]] = {}
        self._history_ids = itertools.count(FIRST_HISTORY_ID)
        self._cron_ids = itertools.count(1)
        for metric_id in sorted(metrics):
            self._append_history(metric_id, "+", None, user=SEED_USER, at=SEEDED_AT)

    @classmethod
    def seeded(
        cls,
        *,
        progress_shape: ProgressShape = "envelope",
        optimiser_polls: int = 2,
        run_reviews_polls: int = 1,
        optimiser_seconds: float | None = None,
        run_reviews_seconds: float | None = None,
        clock: Callable[[], float] | None = None,
        api_keys: Iterable[str] | None = None,
        preview_polls: int = 1,
        preview_seconds: float | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> SandboxState:
        """A fresh copy of the seeded world: metrics 101–111 and the call logs of agents 11 and 12,
        the recent ones dated from `now` at seeding."""
        now = now or _utc_now
        seeded_at = now()
        metrics = seed_metrics(seeded_at)
        return cls(
            metrics,
            progress_shape=progress_shape,
            optimiser_polls=optimiser_polls,
            run_reviews_polls=run_reviews_polls,
            optimiser_seconds=optimiser_seconds,
            run_reviews_seconds=run_reviews_seconds,
            clock=clock,
            api_keys=api_keys,
            call_logs=seed_call_logs(metrics, seeded_at),
            preview_polls=preview_polls,
            preview_seconds=preview_seconds,
            now=now,
        )

    # Inspection -----------------------------------------------------------------------------

    def metric(self, metric_id: int) -> dict[str, Any]:
        """The live metric record (mutable; KeyError when unknown)."""
        return self.metrics[metric_id]

    def find_metric(self, key: str | int) -> dict[str, Any] | None:
        """A metric by integer id or slug."""
        text = str(key)
        if text.isdigit():
            return self.metrics.get(int(text))
        return next((m for m in self.metrics.values() if m.get("slug") == text), None)

    def call_log(self, call_log_id: int) -> dict[str, Any]:
        """The stored call log (mutable; KeyError when unknown)."""
        return self.calls.calls[call_log_id]

    @property
    def credits_used(self) -> int:
        """Metric evaluations billed so far: one per metric per call re-evaluated."""
        return self.calls.evaluations

    def lab_score(self, metric_id: int) -> tuple[int, int]:
        """(correct, labelled) over the metric's stored Lab rows, as `overall_score` reports it."""
        return lab_score(self.metrics[metric_id]["reviews"])

    def history_rows(self, metric_id: int) -> list[dict[str, Any]]:
        """The metric's history rows, newest first."""
        return list(reversed(self.history.get(metric_id, [])))

    def count(
        self,
        route: str,
        *,
        method: str | None = None,
        metric_id: int | None = None,
        effective: bool = False,
    ) -> int:
        """Requests received for a route; `effective=True`: only those handled with a 2xx."""
        return sum(
            1
            for r in list(self.requests)
            if r.route == route
            and (method is None or r.method == method.upper())
            and (metric_id is None or r.metric_id == metric_id)
            and (not effective or r.effective)
        )

    def accepts_key(self, key: str) -> bool:
        return bool(key) and (self.api_keys is None or key in self.api_keys)

    # Metric changes -------------------------------------------------------------------------

    def set_pending_proposal(self, metric_id: int, proposal: dict[str, Any] | None) -> None:
        """Leave (or clear, with None) a proposal as Cekura's read-only optimiser cron would."""
        if proposal is None:
            self.metrics[metric_id]["pending_optimisation_proposal"] = None
            return
        defaults = {
            "description": self.metrics[metric_id]["description"],
            "evaluation_trigger": "always",
            "type": self.metrics[metric_id]["type"],
            "custom_code": "",
            "score": None,
            "baseline_score": None,
            "cron_job_id": None,
            "cron_job_name": None,
            "proposed_at": utc_now(),
        }
        self.metrics[metric_id]["pending_optimisation_proposal"] = {**defaults, **proposal}

    def update_metric(
        self, metric_id: int, changes: dict[str, Any], reason: str | None = None
    ) -> dict[str, Any]:
        """Write validated fields, then append a `~` history row (as every save does)."""
        metric = self.metrics[metric_id]
        metric.update(copy.deepcopy(changes))
        self._append_history(metric_id, "~", reason)
        return metric

    def restore(self, metric_id: int, history_id: int) -> dict[str, Any] | None:
        """Copy a history row's snapshot back (not `*_program`); None when the row is unknown."""
        row = next(
            (h for h in self.history.get(metric_id, []) if h["history_id"] == history_id), None
        )
        if row is None:
            return None
        metric = self.metrics[metric_id]
        changes = {
            name: row[name] for name in row if name in metric and name not in RESTORE_SKIP_FIELDS
        }
        return self.update_metric(metric_id, changes, f"Restored history {history_id}")

    def apply_pending_proposal(self, metric_id: int) -> dict[str, Any]:
        """Write the pending proposal's description, trigger, type and code, then clear it."""
        proposal = self.metrics[metric_id]["pending_optimisation_proposal"] or {}
        changes: dict[str, Any] = {"pending_optimisation_proposal": None}
        if proposal.get("description"):
            changes["description"] = proposal["description"]
        changes.update(_trigger_fields(str(proposal.get("evaluation_trigger") or "")))
        if proposal.get("type") in ("llm_judge", "custom_code"):
            changes["type"] = proposal["type"]
        if proposal.get("custom_code"):
            changes.update(custom_code=proposal["custom_code"], type="custom_code")
        return self.update_metric(metric_id, changes, "Applied optimisation proposal")

    # Jobs -----------------------------------------------------------------------------------

    def start_optimisation(
        self,
        metric_id: int,
        *,
        test_set_ids: list[int] | None = None,
        simplified_prompt: str | None = None,
        skip_evaluation: bool = False,
    ) -> OptimiserJob:
        """Start a process_feedbacks run on a snapshot of the metric and its (selected) Lab rows."""
        metric = self.metrics[metric_id]
        rows = [
            r
            for r in metric["reviews"]
            if test_set_ids is None or r["test_set"]["id"] in test_set_ids
        ]
        fault = self.faults.run_fault(metric_id, "process_feedbacks")
        job = OptimiserJob(
            progress_id=str(uuid.uuid4()),
            metric_id=metric_id,
            metric=copy.deepcopy({k: v for k, v in metric.items() if k != "reviews"}),
            rows=copy.deepcopy(rows),
            timer=self._timer(fault, self.optimiser_polls, self.optimiser_seconds),
            fault=fault,
            answer_lag_polls=self.answer_lag_polls,
            simplified_prompt=simplified_prompt,
            skip_evaluation=skip_evaluation,
        )
        self.optimiser_jobs[job.progress_id] = job
        return job

    def optimiser_progress(self, progress_id: str) -> dict[str, Any]:
        """Advance the run by one read and return its progress body."""
        job = self.optimiser_jobs[progress_id]
        job.advance()
        return job.body(self.progress_shape)

    def start_run_reviews(
        self, metric_id: int, overrides: dict[str, Any], skip_save: bool
    ) -> RunReviewsJob:
        """Start re-scoring the whole Lab with the metric's configuration plus unsaved overrides."""
        metric = self.metrics[metric_id]
        config = {name: metric.get(name) for name in JUDGE_FIELDS}
        config.update({k: v for k, v in overrides.items() if k in JUDGE_FIELDS})
        fault = self.faults.run_fault(metric_id, "run_reviews")
        job = RunReviewsJob(
            progress_id=str(uuid.uuid4()),
            metric_id=metric_id,
            config=config,
            skip_save=skip_save,
            total=len(metric["reviews"]),
            timer=self._timer(fault, self.run_reviews_polls, self.run_reviews_seconds),
            fault=fault,
        )
        self.run_jobs[job.progress_id] = job
        return job

    def run_reviews_progress(self, progress_id: str) -> dict[str, Any]:
        """Advance the re-score by one read; when it completes, save results unless skip_save.

        With skip_save the completed body still carries `metric` as it would look with the
        overrides' results (nothing persisted) and `review_results`, so previews can be scored.
        """
        job = self.run_jobs[progress_id]
        if job.result is None and job.due():
            job.result = self._finish_run(job)
        return copy.deepcopy(job.result) if job.result is not None else job.running_body()

    def _finish_run(self, job: RunReviewsJob) -> dict[str, Any]:
        metric = self.metrics[job.metric_id]
        total = len(metric["reviews"])
        if job.fault and job.fault.kind == "fail":
            return _run_failed(total, job.fault.error)
        target = copy.deepcopy(metric) if job.skip_save else metric
        if job.skip_save:
            target.update({k: v for k, v in job.config.items() if v is not None})
        results = []
        for review in target["reviews"]:
            verdict = evaluate(job.config, transcript(review))
            review.update(
                actual_value=verdict.actual_value,
                explanation=verdict.explanation if verdict.error is None else [verdict.error],
                updated_at=utc_now(),
            )
            results.append(
                {
                    "review_id": review["id"],
                    "test_set_id": review["test_set"]["id"],
                    "actual_value": verdict.actual_value,
                    "explanation": review["explanation"],
                    "success": verdict.error is None,
                    "error": verdict.error,
                }
            )
        failed = sum(not r["success"] for r in results)
        if total and failed == total:
            return _run_failed(total, "Evaluation failed for all test sets")
        correct, labelled = lab_score(target["reviews"])
        target["overall_score"] = target["total_score"] = f"{correct}/{labelled}"
        return {
            "status": "completed",
            "total": total,
            "completed": total - failed,
            "failed": failed,
            "error": None,
            "metric": metric_detail(target),
            "review_results": results,
        }

    def start_preview(self, config: dict[str, Any], call_log_ids: list[int]) -> PreviewJob:
        """Start judging a draft configuration on these call logs; nothing will be saved."""
        job = PreviewJob(
            progress_id=str(uuid.uuid4()),
            config=config,
            calls=[(i, self.call_log(i)["transcript"]) for i in call_log_ids],
            timer=Timer(self.preview_polls, self.preview_seconds, self.clock),
        )
        self.preview_jobs[job.progress_id] = job
        return job

    def _timer(self, fault: RunFault | None, polls: int, seconds: float | None) -> Timer:
        if fault and fault.kind == "slow":
            return Timer(fault.polls or 0, fault.seconds, self.clock)
        return Timer(polls, seconds, self.clock)

    def _append_history(
        self,
        metric_id: int,
        history_type: str,
        reason: str | None,
        *,
        user: dict[str, Any] | None = None,
        at: str | None = None,
    ) -> dict[str, Any]:
        row = history_snapshot(
            self.metrics[metric_id],
            history_id=next(self._history_ids),
            history_type=history_type,
            reason=reason,
            user=user,
            at=at or utc_now(),
        )
        self.history.setdefault(metric_id, []).append(row)
        return row

    def next_cron_id(self) -> int:
        return next(self._cron_ids)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _run_failed(total: int, error: str) -> dict[str, Any]:
    return {
        "status": "failed",
        "total": total,
        "completed": 0,
        "failed": total,
        "error": error,
        "metric": None,
    }


def _trigger_fields(text: str) -> dict[str, Any]:
    """Map a proposal's free-text trigger onto the metric's trigger fields (contract §4.4)."""
    if not text.strip():
        return {}
    if text.strip() == "always":
        return {"evaluation_trigger": "always"}
    try:
        ast.parse(text)
        is_code = "_result" in text
    except SyntaxError:
        is_code = False
    if is_code:
        return {
            "evaluation_trigger": "custom",
            "trigger_type": "custom_code",
            "evaluation_trigger_custom_code": text,
        }
    return {
        "evaluation_trigger": "custom",
        "trigger_type": "llm_judge",
        "evaluation_trigger_prompt": text,
    }
