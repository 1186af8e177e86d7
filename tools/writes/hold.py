"""Holding a write. An apply or revert holds its metric through a ledger row it renews as it works
and confirms right before each write; `holder_gone` tells when a hold's call has stopped (its
process exited, or it stopped renewing), so that another call may settle it (tools/apply_settle.py)."""

from __future__ import annotations

import os
import socket
import uuid

from tools.context import Workflow
from tools.ledger.sqlite import ApplyRow
from tools.ledger.sqlite_applies import HoldLost

RENEW_EVERY_S = 30.0


def call_owner(wf: Workflow) -> str:
    """The holder name of one call: the process (`host:pid`) and a token of this call, so two
    calls of one server process never mistake each other's hold for their own."""
    return f"{wf.owner}#{uuid.uuid4().hex[:8]}"


class ApplyLease:
    """The holder's side: `renew()` at each step and progress report, at most every 30 s, until
    the holder settles the row itself; `confirm()` right before a write. Both stop the holder
    (HoldLost) if another call took the row over meanwhile."""

    def __init__(self, wf: Workflow, row: ApplyRow) -> None:
        self._wf = wf
        self._row = row
        self._renewed_at = row.updated_at
        self._released = False

    async def renew(self, *, force: bool = False) -> None:
        now = self._wf.clock.now()
        if self._released or (not force and now - self._renewed_at < RENEW_EVERY_S):
            return
        if not self._wf.ledger.renew_apply(self._row.id, self._row.owner, now=now):
            current = self._wf.ledger.apply(self._row.id)
            if current is None or current.owner != self._row.owner:
                raise HoldLost(self._row.metric_id)
            self._released = True
            return
        self._renewed_at = now

    async def confirm(self) -> None:
        """Renew now: called right before a write, so a hold taken over is never written under."""
        await self.renew(force=True)


def holder_gone(row: ApplyRow, now: float, lease_s: float) -> bool:
    """True when the row's holder stopped renewing it, or is a process on this host that has
    exited (owners are written `host:pid#call`)."""
    if now - row.updated_at > lease_s:
        return True
    host, _, pid = row.owner.split("#", 1)[0].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
