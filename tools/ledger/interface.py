"""The operations workflows ask of the ledger, whatever stores it.

Every state change is a compare-and-set: a claim either wins or names the holder, and a change of
a run or a write names the state it expects, so a caller that lost a race learns what the other
caller did instead of overwriting it. Backends enforce one run in flight and one writer per metric
with database constraints.

Tenants (OAuth mode's people) share one store: the in-flight run and the write hold on a metric are
shared by all of them, while runs, proposals and writes are otherwise seen only by the tenant that
made them, or (a run and its proposal) by a tenant that joined the run by claiming the metric's
slot while it was held. `for_tenant` gives one tenant's view; a store opened plainly is the view
of the default tenant `""` (single-user mode)."""

from __future__ import annotations

from typing import Any, Protocol

from tools.clock import Clock
from tools.ledger.models import (
    INFLIGHT,
    ApplyRow,
    ProposalRow,
    RunChange,
    RunRow,
    RunStatus,
    WriteClaim,
    WriteStatus,
)


class Ledger(Protocol):
    """Runs, proposals and writes, shared by every call, process and replica of a deployment."""

    # the store ----------------------------------------------------------------------------

    def for_tenant(self, tenant: str) -> Ledger:
        """The same store as `tenant` sees it (shares its connections; closing either closes both)."""
        ...

    def clock(self) -> Clock:
        """The clock leases are measured on: the database server's for a shared database, this
        machine's for a local file. Every process stamping and judging leases with it agrees."""
        ...

    async def check(self) -> None:
        """Raise LedgerUnavailable unless the database answers and its schema is current."""
        ...

    async def aclose(self) -> None:
        """Release the store's connections (at shutdown)."""
        ...

    # runs: single flight ---------------------------------------------------------------------

    async def claim_run(
        self,
        metric_id: int,
        fingerprint: str,
        owner: str,
        test_set_ids: list[int] | None,
        metric_fingerprint: str | None,
        *,
        now: float,
    ) -> RunChange:
        """Take the metric's in-flight slot with a new `starting` run, or return the holder (this
        tenant joins it: it sees the run, its result and its proposal from then on)."""
        ...

    async def move_run(
        self,
        run_id: int,
        *,
        expect: tuple[RunStatus, ...],
        status: RunStatus,
        now: float,
        progress_id: str | None = None,
        note: str | None = None,
    ) -> RunChange:
        """Move an in-flight run to another in-flight status, only from one of `expect`."""
        ...

    async def close_run(
        self,
        run_id: int,
        status: RunStatus,
        *,
        now: float,
        expect: tuple[RunStatus, ...] = INFLIGHT,
        result: dict[str, Any] | None = None,
        proposal: ProposalRow | None = None,
        note: str | None = None,
    ) -> RunChange:
        """End a run exactly once, only from one of `expect` (any in-flight status by default),
        storing its result and proposal and freeing the slot."""
        ...

    async def run(self, run_id: int) -> RunRow | None: ...

    async def inflight_run(self, metric_id: int) -> RunRow | None:
        """The run holding the metric's slot, if this tenant started or joined it."""
        ...

    async def last_finished_run(self, metric_id: int) -> RunRow | None:
        """The newest run that ended with a result (`proposed` or `unchanged`)."""
        ...

    async def run_by_progress_id(self, progress_id: str) -> RunRow | None: ...

    async def recent_run_durations(self, limit: int = 50) -> list[float]:
        """How long the newest finished runs took (seconds), newest first, to seed polling."""
        ...

    # proposals -------------------------------------------------------------------------------

    async def proposal(self, proposal_id: str) -> ProposalRow | None: ...

    async def latest_proposal(self, metric_id: int) -> ProposalRow | None: ...

    async def add_proposal(self, proposal: ProposalRow) -> ProposalRow:
        """Store a proposal made outside our runs (Cekura's pending proposal) under its own id, and
        let this tenant see it; when a proposal with that id is stored already, that one stands
        and is returned."""
        ...

    # writes: one writer per metric -----------------------------------------------------------

    async def claim_apply(
        self, proposal_id: str, metric_id: int, owner: str, *, now: float
    ) -> WriteClaim:
        """Hold the metric to apply a proposal; or the row in the way (a write in progress on the
        metric, or this proposal's live apply)."""
        ...

    async def claim_revert(self, apply_id: int, owner: str, *, now: float) -> WriteClaim:
        """Hold the metric to undo a live apply (it goes `reverting`); or the row in the way."""
        ...

    async def claim_restore(
        self, metric_id: int, history_id: int, owner: str, *, now: float
    ) -> WriteClaim:
        """Hold the metric to restore a named history row; or the row in the way."""
        ...

    async def update_apply(
        self, apply_id: int, *, holder: str, now: float, **fields: Any
    ) -> ApplyRow:
        """The holder sets fields of its write (status, history_id_before, replaced, body);
        HoldLost if another call took it over."""
        ...

    async def mark_apply(
        self,
        apply_id: int,
        *,
        expect: tuple[WriteStatus, ...],
        status: WriteStatus,
        now: float,
    ) -> ApplyRow | None:
        """Change a write nobody holds (for example `superseded`), only from one of `expect`;
        None when it was no longer in one of those."""
        ...

    async def add_apply_notes(self, apply_id: int, notes: dict[str, Any], *, now: float) -> None:
        """Merge notes into a write's body, whoever holds it."""
        ...

    async def renew_apply(self, apply_id: int, owner: str, *, now: float) -> bool:
        """Heartbeat of a write in progress; False when `owner` no longer holds it."""
        ...

    async def take_over_apply(
        self, apply_id: int, seen_lease: int, owner: str, *, now: float
    ) -> ApplyRow | None:
        """Become the holder of a stopped write if its lease is still `seen_lease`; None when
        someone renewed or took it since."""
        ...

    async def abandon_apply(self, apply_id: int, owner: str, *, now: float) -> None:
        """The holder stops early: a write that sent nothing `failed`; otherwise the row stays
        with its lease expired, for the next call to settle from the live metric."""
        ...

    async def apply(self, apply_id: int) -> ApplyRow | None:
        """A write by id, whoever's (ids come from claims: a hold in the way is shared)."""
        ...

    async def applies_with_status(
        self, metric_id: int, statuses: tuple[WriteStatus, ...], *, every_tenant: bool = False
    ) -> list[ApplyRow]:
        """This tenant's writes of the metric whose status is one of `statuses`, oldest first
        (every tenant's with `every_tenant`, for rules that hold across tenants; a caller shows a
        tenant only rows of proposals it sees)."""
        ...

    async def last_apply(
        self, metric_id: int, statuses: tuple[WriteStatus, ...], *, every_tenant: bool = False
    ) -> ApplyRow | None:
        """This tenant's newest write of the metric whose status is one of `statuses`, by claim
        order (every tenant's with `every_tenant`, as for `applies_with_status`)."""
        ...

    async def write_patch(self, proposal_id: str) -> dict[str, Any] | None:
        """The PATCH an apply of `proposal_id` sends, whoever's proposal it is: to judge any
        tenant's write by the live metric (settling a stopped one, or superseding one a restore
        undid); nothing else of the proposal. None for a history restore or an unknown id."""
        ...
