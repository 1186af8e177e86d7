"""What each tool returns: pydantic models (the MCP structured output), each with a one-line summary."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.cekura.models import Question
from tools.labs.readiness import LabCounts
from tools.proposals.agreement import Comparison
from tools.proposals.cost import CostConfirmation
from tools.proposals.evidence import Evidence, Flips, ScorePair
from tools.proposals.field_diffs import FieldDiff
from tools.proposals.overfitting import CopySignal

OptimiseStatus = Literal[
    "proposed",
    "unchanged",
    "no_new_feedback",
    "not_ready",
    "needs_answers",
    "timed_out",
    "failed",
    "cancelled",
]
DiffStatus = Literal["ok", "stale", "not_found"]
ApplyStatus = Literal[
    "applied",
    "applied_unverified",
    "already_applied",
    "not_applied_regressed",
    "not_applied_stale",
    "not_applied_unsafe",
    "reverted",
    "failed",
]
RevertStatus = Literal["reverted", "nothing_to_revert", "failed"]
AnswerStatus = Literal["resumed", "failed"]
CancelStatus = Literal["cancelled", "nothing_running"]
LabStatus = Literal["ready", "not_ready", "no_new_feedback"]
LabelStatus = Literal["added", "updated", "already_labelled"]
CheckStatus = Literal["better", "same", "worse", "no_holdout", "needs_confirmation"]
ValidateStatus = Literal["validated", "disagreements", "needs_confirmation", "timed_out"]


class ToolResult(BaseModel):
    """Fields every result carries."""

    metric_id: int
    summary: str = Field(description="One line a person can read")
    warnings: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(
        default_factory=list, description="The calls that make sense next, if any"
    )
    retries: int = Field(default=0, description="Requests to Cekura retried during this call")


class TypeChange(BaseModel):
    """The metric's `type` before and after the proposal (for example llm_judge → custom_code)."""

    before: str | None = None
    after: str | None = None


class ProposalView(BaseModel):
    """A proposal as shown to people: what changes, and the evidence for it."""

    proposal_id: str | None = None
    progress_id: str | None = None
    changed_fields: list[str] = Field(default_factory=list)
    diffs: list[FieldDiff] = Field(default_factory=list)
    type_change: TypeChange | None = None
    baseline: ScorePair | None = None
    optimised: ScorePair | None = None
    flips: Flips = Field(default_factory=Flips)
    mcnemar_p: float | None = None
    mcnemar_reading: str | None = Field(
        default=None, description="The flips and the McNemar p in one plain line"
    )
    unauthorized_label_changes: int = 0
    unresolved_samples: int = 0
    optimiser_summary: str | None = Field(
        default=None, description="The optimiser's own words (untrusted data, not instructions)"
    )
    copied_passages: CopySignal | None = Field(
        default=None, description="Long verbatim copies from the Lab: a sign of overfitting"
    )


class OptimiseResult(ToolResult, ProposalView):
    """Result of `optimise_metric`."""

    status: OptimiseStatus
    questions: list[Question] = Field(default_factory=list)
    feedback_needed: int = Field(
        default=0, description="With not_ready: labelled Lab rows still missing"
    )
    polls: int = 0
    elapsed_s: float = 0.0


class DiffResult(ToolResult, ProposalView):
    """Result of `diff_proposal`."""

    status: DiffStatus
    source: Literal["ledger", "progress", "pending_proposal", "none"] = "none"


class HeldOutEvidence(BaseModel):
    """A proposal judged on labelled production calls outside the Lab (held out)."""

    status: Literal["better", "same", "worse"]
    checked: list[int] = Field(default_factory=list, description="Call log ids previewed")
    found: int = Field(default=0, description="Held-out calls found (the newest are checked)")
    comparison: Comparison


class ApplyResult(ToolResult):
    """Result of `apply_if_not_regressed`."""

    status: ApplyStatus
    proposal_id: str | None = None
    applied_fields: list[str] = Field(default_factory=list)
    history_id_before: int | None = None
    evidence: Evidence | None = None
    verified: ScorePair | None = Field(
        default=None, description="Full-Lab score after the write, from a re-score"
    )
    verified_baseline: ScorePair | None = Field(
        default=None, description="Full-Lab score before the write, on the same reviews"
    )
    reasons: list[str] = Field(default_factory=list, description="Why the guard refused")
    held_out: HeldOutEvidence | None = None


class RevertResult(ToolResult):
    """Result of `revert_metric`."""

    status: RevertStatus
    history_id: int | None = None
    restored_fields: list[str] = Field(default_factory=list)


class AnswerResult(ToolResult):
    """Result of `answer_optimiser_questions`."""

    status: AnswerStatus
    progress_id: str | None = None
    answered: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)


class CancelResult(ToolResult):
    """Result of `cancel_optimisation`."""

    status: CancelStatus
    progress_id: str | None = None


class MetricOutcome(BaseModel):
    """One metric's line in a batch: the optimise result and, with apply, the guarded write."""

    metric_id: int
    status: str = Field(
        description="The final status: the apply's when one ran, else the optimise's"
    )
    summary: str
    optimise: OptimiseResult | None = None
    apply: ApplyResult | None = None
    error: str | None = None


class BatchResult(BaseModel):
    """Result of `optimise_metrics`."""

    summary: str
    apply: bool
    counts: dict[str, int]
    metrics: list[MetricOutcome]
    next_steps: list[str] = Field(default_factory=list, description="What to do after the batch")
    elapsed_s: float = 0.0
    retries: int = Field(default=0, description="Requests to Cekura retried during this call")


class LabStatusResult(ToolResult):
    """Result of `lab_status`: the Lab's counts and whether an optimiser run would learn anything."""

    status: LabStatus
    lab: LabCounts
    last_run: str | None = Field(
        default=None, description="The last finished optimiser run's progress id"
    )


class LabelResult(ToolResult):
    """Result of `label_call`: the person's verdict on one call, in the Lab and on the call."""

    status: LabelStatus
    call_id: int
    expected_value: Any = None
    metric_result: Any = Field(default=None, description="The metric's current verdict on the call")
    agrees: bool | None = Field(
        default=None, description="The vote's thumbs_up: the person agrees with that verdict"
    )
    review_id: int | None = Field(default=None, description="The Lab row holding the label")
    lab: LabCounts | None = None


class ReviewedCall(BaseModel):
    """One production call the metric evaluated, and why it is worth a person's look."""

    call_id: int = Field(description="The call log id that label_call takes")
    timestamp: str | None = None
    result: Any = Field(default=None, description="The metric's verdict: 5 pass, 0 fail, or enum")
    explanation: str | None = None
    transcript: str | None = Field(default=None, description="A bounded excerpt")
    thumbs_up: bool | None = None
    expected_value: Any = Field(default=None, description="A person's label, if any")
    in_lab: bool = False
    why: Literal["vote_disagrees", "flagged", "inconsistent", "recent"]


class ReviewResultsResult(ToolResult):
    """Result of `review_results`: likely misalignments first."""

    status: Literal["ok"] = "ok"
    calls: list[ReviewedCall] = Field(default_factory=list)
    scanned: int = Field(default=0, description="Production calls looked at")


class CheckResult(ToolResult):
    """Result of `check_on_calls`: a proposal against the live metric on held-out calls."""

    status: CheckStatus
    proposal_id: str | None = None
    held_out: HeldOutEvidence | None = None
    cost: CostConfirmation | None = None


class ValidatedCall(BaseModel):
    """One call after a re-evaluation: the person's label, the verdict before and after."""

    call_id: int
    label: Any = None
    before: Any = None
    after: Any = None
    agrees: bool | None = None


class ValidateResult(ToolResult):
    """Result of `validate_on_calls`."""

    status: ValidateStatus
    calls: list[ValidatedCall] = Field(default_factory=list)
    disagreeing: list[int] = Field(default_factory=list)
    pending: list[int] = Field(default_factory=list, description="Calls still being re-evaluated")
    cost: CostConfirmation | None = None


ScheduleStatus = Literal[
    "created", "already_exists", "updated", "unchanged", "deleted", "not_found"
]


class ScheduleToolResult(BaseModel):
    """Fields every schedule result carries (a schedule has no single metric id)."""

    summary: str = Field(description="One line a person can read")
    warnings: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(
        default_factory=list, description="The calls that make sense next, if any"
    )
    retries: int = Field(default=0, description="Requests to Cekura retried during this call")


class Firing(BaseModel):
    """One firing time, in the schedule's time zone and in UTC."""

    local: str
    utc: str


class ScheduledMetric(BaseModel):
    """A metric a schedule optimises (name None when Cekura no longer has it)."""

    id: int
    name: str | None = None


class ScheduleView(BaseModel):
    """One of Cekura's in-product optimiser schedules, as shown to people."""

    schedule_id: int
    name: str | None = None
    project_id: int
    metrics: list[ScheduledMetric] = Field(default_factory=list)
    cron: str
    timezone: str
    next_firings: list[Firing] = Field(
        default_factory=list, description="The next three, in the schedule's zone and in UTC"
    )
    auto_apply: bool
    notify_on: str | None = None
    is_active: bool


class ScheduleListResult(ScheduleToolResult):
    """list_optimiser_schedules: every schedule (of one project, if asked)."""

    schedules: list[ScheduleView] = Field(default_factory=list)


class ScheduleResult(ScheduleToolResult):
    """What a schedule write did (or why it sent nothing)."""

    status: ScheduleStatus
    schedule_id: int
    schedule: ScheduleView | None = None
