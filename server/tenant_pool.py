"""OAuth mode's per-person Workflows, bounded: each holds an HTTP connection pool to Cekura, so the
pool keeps at most `max_open` of them and closes one idle for `idle_s`, never while a call uses it.

Eviction runs as calls start and end (no background task): the least recently used idle tenants
go first when there are too many, and a tenant idle past the timeout goes at anyone's next call.
A tenant with a call running is never evicted, so while more than `max_open` tenants have calls
in flight the pool holds them all, and shrinks as those calls end. A returning tenant gets a new
Workflow over the same ledger.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from tools.clock import Clock, SystemClock

if TYPE_CHECKING:
    from server.oauth.tenancy import Tenant
    from tools.context import Workflow


@dataclass
class _Entry:
    """One tenant's Workflow, how many calls are using it, and when the last one ended."""

    workflow: Workflow
    last_used: float
    in_use: int = 0
    forgotten: bool = False


class TenantPool:
    """Per-tenant Workflows, made on first use by `make`, at most `max_open` kept open."""

    def __init__(
        self,
        make: Callable[[Tenant], Awaitable[Workflow]],
        *,
        max_open: int,
        idle_s: float,
        clock: Clock | None = None,
    ) -> None:
        self._make = make
        self._max_open = max_open
        self._idle_s = idle_s
        self._clock = clock or SystemClock()
        self._open: OrderedDict[str, _Entry] = OrderedDict()
        self._making = anyio.Lock()

    async def get(self, tenant: Tenant) -> Workflow:
        """The tenant's Workflow, made if needed; the caller holds no claim on it."""
        return (await self._entry(tenant)).workflow

    @asynccontextmanager
    async def using(self, tenant: Tenant) -> AsyncIterator[Workflow]:
        """The tenant's Workflow for one call: it stays open until the call ends."""
        entry = await self._entry(tenant)
        entry.in_use += 1
        try:
            await self._evict()
            yield entry.workflow
        finally:
            entry.in_use -= 1
            entry.last_used = self._clock.now()
            with anyio.CancelScope(shield=True):
                if entry.forgotten and not entry.in_use:
                    await entry.workflow.client.aclose()
                await self._evict()

    async def forget(self, tenant_id: str) -> None:
        """Drop a tenant's Workflow (and with it their key) now, or as its last call ends; their
        next call makes a new one."""
        entry = self._open.pop(tenant_id, None)
        if entry is None:
            return
        entry.forgotten = True
        if not entry.in_use:
            await entry.workflow.client.aclose()

    async def aclose(self) -> None:
        """Close every tenant's HTTP pool (at shutdown, when no call is running)."""
        entries = list(self._open.values())
        self._open.clear()
        for entry in entries:
            await entry.workflow.client.aclose()

    async def _entry(self, tenant: Tenant) -> _Entry:
        """The tenant's entry, made once even when several of their first calls arrive at once."""
        if tenant.id not in self._open:
            async with self._making:
                if tenant.id not in self._open:
                    workflow = await self._make(tenant)
                    self._open[tenant.id] = _Entry(workflow, last_used=self._clock.now())
        entry = self._open[tenant.id]
        self._open.move_to_end(tenant.id)
        return entry

    async def _evict(self) -> None:
        """Close the tenants no call is using that are idle too long or, least recently used
        first, beyond `max_open`."""
        now = self._clock.now()
        closing: list[_Entry] = []
        for tenant_id, entry in list(self._open.items()):
            if entry.in_use:
                continue
            if now - entry.last_used >= self._idle_s or len(self._open) > self._max_open:
                del self._open[tenant_id]
                closing.append(entry)
        for entry in closing:
            await entry.workflow.client.aclose()
