"""Typed views of Cekura's response bodies: tolerant of extra fields, strict about the ones we use."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TriggerKind = Literal["always", "llm_judge", "custom_code"]
MetricType = Literal["basic", "custom_prompt", "custom_code", "llm_judge"]
OptimiserState = Literal["running", "paused", "succeeded", "failed", "cancelled"]
RunReviewsState = Literal["running", "completed", "failed"]


class _Body(BaseModel):
    """Base for API bodies: unknown fields are kept (Cekura adds fields often), never rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TestSet(_Body):
    """A snapshot of one call or run transcript in a metric's Lab."""

    __test__ = False
    id: int
    agent: int | None = None
    name: str | None = None
    transcript: str | None = None
    call_end_reason: str | None = None
    duration: str | None = None
    source_model: str | None = None
    source_id: str | None = None

    @field_validator("source_id", mode="before")
    @classmethod
    def _read_source_id(cls, value: Any) -> Any:
        """The call log's id as text, as the schema types it, even when sent as a number."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class MetricReview(_Body):
    """One Lab row: a test set, the human label (`expected_value`) and the metric's last output."""

    id: int
    test_set: TestSet | None = None
    metric: int | None = None
    expected_value: Any = None
    actual_value: Any = None
    explanation: Any = None
    feedback: str | None = ""
    created_at: str | None = None
    updated_at: str | None = None


class PendingProposal(_Body):
    """An unsaved proposal left on the metric by Cekura's own optimiser cron (read-only mode)."""

    description: str | None = None
    evaluation_trigger: str | None = None
    type: str | None = None
    custom_code: str | None = None
    score: float | None = None
    baseline_score: float | None = None
    cron_job_id: int | None = None
    cron_job_name: str | None = None
    proposed_at: str | None = None


class Metric(_Body):
    """`MetricDetailSerializerV2`: the live metric, including its Lab rows."""

    id: int
    name: str
    slug: str | None = None
    project: int | None = None
    agents: list[int] = Field(default_factory=list)
    description: str | None = ""
    prompt: str | None = ""
    type: str | None = None
    eval_type: str | None = None
    enum_values: Any = None
    evaluation_trigger: str | None = None
    trigger_type: str | None = None
    evaluation_trigger_prompt: str | None = ""
    evaluation_trigger_custom_code: str | None = ""
    custom_code: str | None = ""
    overall_score: str | None = None
    reviews: list[MetricReview] = Field(default_factory=list)
    pending_optimisation_proposal: PendingProposal | None = None


class MetricSummary(_Body):
    """`MetricListSerializerV2`: one item of the (bare-array) metrics list."""

    id: int
    name: str
    type: str | None = None
    project: int | None = None


class HistoryEntry(_Body):
    """`MetricHistory`: one saved version of a metric. `id` is the metric's id; `history_id` the row's."""

    history_id: int
    history_date: str
    history_type: str
    history_change_reason: str | None = None
    version_name: str | None = None
    id: int | None = None
    description: str | None = None
    type: str | None = None
    evaluation_trigger: str | None = None
    trigger_type: str | None = None
    evaluation_trigger_prompt: str | None = None
    evaluation_trigger_custom_code: str | None = None
    custom_code: str | None = None


class HistoryPage(_Body):
    """`PaginatedMetricHistoryList`, newest first."""

    count: int = 0
    next: str | None = None
    previous: str | None = None
    results: list[HistoryEntry] = Field(default_factory=list)


class Score(_Body):
    """Accuracy on a set of labelled samples."""

    num_correct: int
    num_total: int
    score: float | None = None


class ReviewResult(_Body):
    """The optimised configuration's output on one Lab row. `success` means it ran, not that it matched."""

    review_id: int
    test_set_id: int | None = None
    actual_value: Any = None
    explanation: Any = None
    success: bool = True
    error: str | None = None


class Question(_Body):
    """A question a paused optimiser run asks before it can go on."""

    id: str
    question: str
    kind: str | None = None
    options: list[str] = Field(default_factory=list)
    review_id: int | None = None
    test_set_id: int | None = None
    context: str | None = None


class OptimiserOutput(_Body):
    """A finished run's proposal, normalised from either progress shape and from `meta_harness`.

    `custom_code` is `output.custom_code` or else `meta_harness.optimized_code`; `type` likewise;
    `new_score` falls back to the `meta_harness` score fields. `improved_trigger_kind` is resolved
    per contract §4.4 (kind, else `trigger_type`, else `llm_judge` for non-empty non-"always" text).
    """

    improved_metric_description: str = ""
    improved_evaluation_trigger: str = ""
    improved_trigger_kind: TriggerKind = "always"
    trigger_type: str | None = None
    metric_description_program: Any = None
    metric_description_variables: list[Any] | None = None
    evaluation_trigger_program: Any = None
    evaluation_trigger_variables: list[Any] | None = None
    review_results: list[ReviewResult] = Field(default_factory=list)
    custom_code: str = ""
    type: str | None = None
    feedback_edits: list[Any] = Field(default_factory=list)
    unauthorized_label_changes: list[Any] = Field(default_factory=list)
    unresolved_samples: list[Any] = Field(default_factory=list)
    optimization_summary: str = ""
    old_score: Score | None = None
    new_score: Score | None = None


class OptimiserProgress(BaseModel):
    """The state of a `process_feedbacks` run, whatever shape and status spelling Cekura used."""

    state: OptimiserState
    raw_status: str | None = None
    questions: list[Question] = Field(default_factory=list)
    output: OptimiserOutput | None = None
    error: str | None = None
    step: str | None = None


class RunReviewsProgress(BaseModel):
    """The state of a `run_reviews` re-score; `metric` (and, when sent, `review_results`) are
    filled once it completes."""

    state: RunReviewsState
    raw_status: str | None = None
    total: int | None = None
    completed: int | None = None
    failed: int | None = None
    error: str | None = None
    metric: Metric | None = None
    review_results: list[ReviewResult] = Field(
        default_factory=list, description="Per-row results, when the body carries them"
    )


class CronJob(_Body):
    """`MetricOptimiserCronJob`: Cekura's in-product optimiser schedule."""

    id: int
    project: int
    name: str | None = None
    metrics: list[int] = Field(default_factory=list)
    crontab_expression: str
    timezone: str | None = None
    auto_apply: bool = False
    skip_evaluation: bool = False
    is_active: bool = True
    notify_on: str | None = None
