"""The ledger's rows and states: optimiser runs, their proposals, and the writes (applies, reverts,
restores) that hold a metric while they change it."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel

from tools.errors import WorkflowError

RunStatus = Literal[
    "starting",
    "running",
    "paused",
    "unknown",
    "proposed",
    "unchanged",
    "failed",
    "cancelled",
    "abandoned",
]
# A run in one of these holds its metric's slot: at most one per metric (single flight).
INFLIGHT: tuple[RunStatus, ...] = ("starting", "running", "paused", "unknown")
FINISHED_WITH_RESULT: tuple[RunStatus, ...] = ("proposed", "unchanged")

WriteStatus = Literal[
    "applying",
    "reverting",
    "applied",
    "applied_unverified",
    "reverted",
    "restored",
    "failed",
    "refused",
    "superseded",
]
# A write in one of these holds its metric: at most one per metric (one writer).
WRITING: tuple[WriteStatus, ...] = ("applying", "reverting")
# An apply in one of these is (or is becoming) the metric's live version: one per proposal.
LIVE_APPLY: tuple[WriteStatus, ...] = ("applying", "applied", "applied_unverified")
REVERTIBLE: tuple[WriteStatus, ...] = ("applied", "applied_unverified")
HISTORY_PREFIX = "history:"


class HoldLost(WorkflowError):
    """Another call took over a write this call held, after this one stopped renewing it."""

    def __init__(self, metric_id: int) -> None:
        super().__init__(
            f"Another call took over this write to metric {metric_id} after this call stopped "
            "renewing it; that call finishes the job. Call again to see the outcome."
        )


class RunRow(BaseModel):
    """One optimisation run as the ledger knows it."""

    id: int
    metric_id: int
    status: RunStatus
    progress_id: str | None
    fingerprint: str
    owner: str
    test_set_ids: list[int] | None
    started_at: float
    updated_at: float
    finished_at: float | None
    proposal_id: str | None
    metric_fingerprint: str | None
    result: dict[str, Any] | None
    note: str | None

    @property
    def inflight(self) -> bool:
        return self.status in INFLIGHT


class RunChange(BaseModel):
    """The answer to a compare-and-set on a run: `won`, and the run as it now stands (the other
    caller's state when `won` is False)."""

    won: bool
    run: RunRow


class ProposalRow(BaseModel):
    """A stored proposal: the PATCH it implies, the metric fingerprint it was made against, the
    evidence shown to the user (`body`, a JSON object)."""

    id: str
    metric_id: int
    run_id: int | None
    progress_id: str | None
    created_at: float
    metric_fingerprint: str
    body: dict[str, Any]


def new_proposal(
    metric_id: int,
    *,
    progress_id: str | None,
    metric_fingerprint: str,
    body: dict[str, Any],
    now: float | None = None,
) -> ProposalRow:
    """A proposal under a fresh id (`prop_<hex>`), stored when its run is closed."""
    return ProposalRow(
        id=f"prop_{uuid.uuid4().hex[:12]}",
        metric_id=metric_id,
        run_id=None,
        progress_id=progress_id,
        created_at=time.time() if now is None else now,
        metric_fingerprint=metric_fingerprint,
        body=body,
    )


class ApplyRow(BaseModel):
    """One write of a metric: a guarded apply of a proposal, or (`proposal_id` "history:<id>") a
    restore of a named history row, with what it replaced so it can be undone. `lease` counts the
    holder's renewals and take-overs; a take-over names the lease it saw. `body` holds notes:
    `regressed` (its re-score fell), `restoring` (its automatic restore was sent),
    `before_revert` (status to go back to if a revert does not happen)."""

    id: int
    proposal_id: str
    metric_id: int
    status: WriteStatus
    owner: str
    lease: int
    history_id_before: int | None
    replaced: dict[str, Any] | None
    started_at: float
    updated_at: float
    body: dict[str, Any] | None

    @property
    def regressed(self) -> bool:
        return bool(self.body and self.body.get("regressed"))

    @property
    def history_restore(self) -> bool:
        return self.proposal_id.startswith(HISTORY_PREFIX)

    def note(self, name: str) -> Any:
        return (self.body or {}).get(name)


class WriteClaim(BaseModel):
    """The answer to "may I write this metric?": `won` with our row, or the row in the way."""

    won: bool
    row: ApplyRow
