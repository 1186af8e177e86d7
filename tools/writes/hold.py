"""The hold on a metric. A call holds a metric while it has an optimiser run in flight (single
flight: the ledger's `starting`/`running`/`paused`/`unknown` run) or while it writes the metric
(one writer: an `applying`/`reverting` row). The ledger's constraints make each claim atomic; this
module names holders, keeps a write's hold alive, tells when a holder is gone, and decides what
to do about a run slot another call holds."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable

from tools.context import Workflow
from tools.errors import WorkflowError
from tools.ledger.models import ApplyRow, HoldLost, RunRow

RENEW_EVERY_S = 30.0
STARTING_WAIT_S = 30.0


def call_owner(wf: Workflow) -> str:
    """The holder name of one call: the process (`host:pid`) and a token of this call, so two
    calls of one server process never mistake each other's hold for their own."""
    return f"{wf.owner}#{uuid.uuid4().hex[:8]}"


class WriteHold:
    """The holder's side of a write: `renew()` at each step and progress report, at most every
    30 s (a quarter of the lease when that is shorter), until the holder settles the row itself;
    `confirm()` right before a write. Both stop the holder (HoldLost) if another call took the
    row over meanwhile."""

    def __init__(self, wf: Workflow, row: ApplyRow) -> None:
        self._wf = wf
        self._row = row
        self._renewed_at = row.updated_at
        self._released = False

    async def renew(self, *, force: bool = False) -> None:
        now = self._wf.clock.now()
        every = min(RENEW_EVERY_S, self._wf.policy.write_lease_s / 4)
        if self._released or (not force and now - self._renewed_at < every):
            return
        if not await self._wf.ledger.renew_apply(self._row.id, self._row.owner, now=now):
            current = await self._wf.ledger.apply(self._row.id)
            if current is None or current.owner != self._row.owner:
                raise HoldLost(self._row.metric_id)
            self._released = True
            return
        self._renewed_at = now

    async def confirm(self) -> None:
        """Renew now: called right before a write, so a hold taken over is never written under."""
        await self.renew(force=True)


def local_process_exited(owner: str) -> bool:
    """The local-only probe: True when `owner` (`host:pid#call`) names a process on this host
    that has exited. Holders on other hosts are judged by their lease alone."""
    host, _, pid = owner.split("#", 1)[0].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def holder_gone(
    row: ApplyRow,
    now: float,
    lease_s: float,
    exited: Callable[[str], bool] = local_process_exited,
) -> bool:
    """True when the row's holder stopped renewing it, or its process has exited."""
    return now - row.updated_at > lease_s or exited(row.owner)


async def resolve_held_run(wf: Workflow, run: RunRow, force: bool) -> RunRow | None:
    """Another call holds the metric's run slot: the run to follow, or None once the slot is free
    to claim. Waits a little for a run being started; a start whose outcome is unknown is
    released only with `force` or after the unknown-start window, and only while it is still
    unknown (a start that answered meanwhile is followed instead)."""
    waited = 0.0
    while run.status == "starting":
        now = wf.clock.now()
        if now - run.started_at >= wf.policy.starting_grace_s:
            moved = await wf.ledger.move_run(
                run.id,
                expect=("starting",),
                status="unknown",
                note="the process starting this run stopped answering",
                now=now,
            )
            run = moved.run
            break
        if waited >= STARTING_WAIT_S:
            return None
        await wf.clock.sleep(0.2)
        waited += 0.2
        run = await wf.ledger.run(run.id) or run
    if run.status == "unknown":
        age = wf.clock.now() - run.updated_at
        if not force and age < wf.policy.unknown_start_window_s:
            raise WorkflowError(unknown_start_message(run, wf.policy.unknown_start_window_s - age))
        released = await wf.ledger.close_run(
            run.id,
            "abandoned",
            expect=("unknown",),
            note="released after an unknown start",
            now=wf.clock.now(),
        )
        if released.won:
            return None
        run = released.run
    if run.inflight and run.progress_id:
        return run
    return None


def unknown_start_message(run: RunRow, remaining_s: float) -> str:
    """Why no second run was started while an earlier start's outcome is unknown."""
    return (
        f"An optimisation start for metric {run.metric_id} may have reached Cekura but no answer "
        "came back, so a second run was not started (it would run concurrently and cost credits). "
        "Check the metric's Lab in Cekura; if no run is going, call optimise_metric again with "
        f"force=True, or wait {remaining_s / 60:.0f} more minutes."
    )
