"""Turning settings into a live Workflow: one shared Cekura client, the ledger and the policy.

The client is made at first use, so a missing key is a clear error on the first tool call rather
than a crash at start-up; `--sandbox` swaps the network for the in-process sandbox.

The process opens ONE ledger store, at first use: the PostgreSQL database when
`CEKURA_OPTIMISE_DATABASE_URL` is set (shared by every replica), else the SQLite file under the
state directory; workflows use its clock, so leases are stamped and judged on the database's clock.

In OAuth mode (`tenants` given) there is no shared key: each tool call names its caller's access
token, and the Runtime keeps a Workflow per tenant (their own client with their own key, and the
tenant's view of the one store: the run in flight and the write hold on a metric are shared with
every tenant, their proposals and history are their own), made at the tenant's first call and
closed when idle or when too many are open (see `TenantPool`), or at shutdown. Without a token in
that mode there is no workflow at all.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from server.settings import Settings
from server.tenant_pool import TenantPool
from tools.errors import WorkflowError

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

    from server.oauth.tenancy import Tenant, TenantKeys
    from tools.cekura.client import CekuraClient
    from tools.clock import Clock
    from tools.context import Policy, Workflow
    from tools.ledger import Ledger
    from tools.polling.schedule import PollPolicy

SANDBOX_KEY = "sandbox-key"
SANDBOX_URL = "http://sandbox.cekura.invalid"


class Runtime:
    """Holds what the server's tools share for the life of the process."""

    def __init__(
        self, settings: Settings, tenants: TenantKeys | None = None, *, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.tenants = tenants
        self._client: CekuraClient | None = None
        self._workflow: Workflow | None = None
        self._tenant_pool = TenantPool(
            self._tenant_workflow,
            max_open=settings.tenant_clients,
            idle_s=settings.tenant_idle_s,
            clock=clock,
        )
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self.sandbox_state = None
        self._building = anyio.Lock()
        self._store: Ledger | None = None
        self._opening = anyio.Lock()
        if tenants is not None:
            tenants.on_forget(self._tenant_pool.forget)

    @property
    def multi_tenant(self) -> bool:
        """True in OAuth mode: every call runs with its caller's own key."""
        return self.tenants is not None

    async def check_ledger(self) -> None:
        """Raise `LedgerUnavailable` unless the ledger store opens and its schema is current."""
        await (await self.store()).check()

    async def workflow(self, access_token: AccessToken | None = None) -> Workflow:
        """The Workflow for this call: the shared one, or in OAuth mode the token owner's (which
        may be closed once idle: a tool call holds it through `using`)."""
        if self.tenants is not None:
            return await self._tenant_pool.get(await self._tenant(self.tenants, access_token))
        async with self._building:
            if self._workflow is None:
                self._workflow = await self._build()
        return self._workflow

    @asynccontextmanager
    async def using(self, access_token: AccessToken | None = None) -> AsyncIterator[Workflow]:
        """The Workflow for one tool call, kept open until the call ends."""
        if self.tenants is None:
            yield await self.workflow()
            return
        tenant = await self._tenant(self.tenants, access_token)
        async with self._tenant_pool.using(tenant) as workflow:
            yield workflow

    @staticmethod
    async def _tenant(tenants: TenantKeys, access_token: AccessToken | None) -> Tenant:
        """Whose key this call runs with; OAuth mode never falls back to a shared key."""
        if access_token is None:
            raise WorkflowError(
                "This server runs each call with the caller's own Cekura key, and this call "
                "carries no OAuth access token. Connect through OAuth (claude.ai connector or "
                "`claude mcp add --transport http`) and sign in."
            )
        return await tenants.tenant(access_token)

    async def store(self) -> Ledger:
        """The process's one ledger store, opened (and its schema brought up to date) at first
        use; `check()` on it tells whether the database answers with the current schema."""
        async with self._opening:
            if self._store is None:
                from tools.ledger import open_ledger

                store = await anyio.to_thread.run_sync(open_ledger, self._store_location())
                try:
                    await store.check()
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await store.aclose()  # the next call opens it afresh
                    raise
                self._store = store
        return self._store

    async def _tenant_workflow(self, tenant: Tenant) -> Workflow:
        """A new Workflow for a tenant: their key, their view of the shared ledger."""
        from tools.cekura.client import CekuraClient
        from tools.context import Workflow

        client = CekuraClient(tenant.api_key.get_secret_value(), self.settings.base_url)
        store = await self.store()
        ledger = store.for_tenant(tenant.id)
        policy = await self._policy(ledger)
        return Workflow(client=client, ledger=ledger, clock=store.clock(), policy=policy)

    async def _policy(self, ledger: Ledger, **overrides: object) -> Policy:
        """The settings' policy; optimiser polling starts from the run times the ledger saw, so a
        new process does not poll as if it had never watched a run finish."""
        from tools.context import Policy

        policy = Policy(
            read_only=self.settings.read_only,
            eval_budget=self.settings.eval_budget,
            min_feedback=self.settings.min_feedback,
            unknown_start_window_s=self.settings.unknown_start_window_s,
            write_lease_s=self.settings.write_lease_s,
            **overrides,
        )
        for seconds in reversed(await ledger.recent_run_durations()):
            policy.poll.run_times.record(seconds)
        return policy

    async def _build(self) -> Workflow:
        from tools.cekura.client import CekuraClient
        from tools.context import Workflow

        settings = self.settings
        ledger = await self.store()
        if settings.sandbox:
            from sandbox import SandboxState, sandbox_transport

            self.sandbox_state = SandboxState.seeded()
            client = CekuraClient(
                SANDBOX_KEY, SANDBOX_URL, transport=sandbox_transport(self.sandbox_state)
            )
            policy = await self._policy(
                ledger, poll=_fast_polling(), run_reviews_poll=_fast_polling()
            )
        else:
            if settings.api_key is None:
                raise WorkflowError(
                    "CEKURA_API_KEY is not set. Create a project API key in Cekura (Settings → API "
                    "Keys) and set it in the server's environment, or start with --sandbox to try "
                    "the built-in sandbox."
                )
            client = CekuraClient(settings.api_key.get_secret_value(), settings.base_url)
            policy = await self._policy(ledger)
        self._client = client
        return Workflow(client=client, ledger=ledger, clock=ledger.clock(), policy=policy)

    def _store_location(self) -> Path | str:
        """The configured database, else: the sandbox gets a fresh ledger per process (its world
        is fresh too) unless a state directory was given; real use shares the user's ledger."""
        settings = self.settings
        if settings.sandbox and settings.state_dir is None and settings.database_url is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="cekura-optimise-sandbox-")
            return Path(self._tempdir.name) / "ledger.sqlite3"
        return settings.store_location()

    async def aclose(self) -> None:
        """Close the HTTP clients, the ledger store and any temporary state."""
        if self._client is not None:
            await self._client.aclose()
        await self._tenant_pool.aclose()
        if self._store is not None:
            await self._store.aclose()
        if self._tempdir is not None:
            self._tempdir.cleanup()


def _fast_polling() -> PollPolicy:
    """The sandbox answers at once, so poll it quickly (one instance per job kind: each learns
    its own run times)."""
    from tools.polling.schedule import PollPolicy

    return PollPolicy(initial_s=0.05, factor=1.5, max_s=0.5, heartbeat_s=15.0)
