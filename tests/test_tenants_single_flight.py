"""Teammates share single flight (issue 11): two tenants with different keys on one store (SQLite
or PostgreSQL) racing to optimise one metric start ONE run on Cekura and both get its result and
proposal; neither sees the other's earlier proposals, and the shared proposal is written once."""

from contextlib import asynccontextmanager

import anyio
import pytest

from sandbox import SandboxState, sandbox_transport
from support import FakeClock
from tools.cekura.client import CekuraClient
from tools.context import Policy, Workflow
from tools.ledger import open_ledger
from tools.polling.schedule import PollPolicy
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.diff import diff_proposal
from tools.workflows.optimise import optimise_metric

pytestmark = pytest.mark.anyio

KEY_A, KEY_B = "ck_alice_7d01", "ck_bob_55e2"


@pytest.fixture(params=["sqlite", "postgres"])
def location(request, tmp_path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("pg_database")
    return str(tmp_path / "ledger.sqlite3")


@asynccontextmanager
async def _two_tenants(location: str, state: SandboxState):
    """Alice's and Bob's Workflows: their own keys, their views of one store, one clock."""
    clock, store = FakeClock(), open_ledger(location)
    transport = sandbox_transport(state)
    async with (
        CekuraClient(KEY_A, "http://sandbox.test", transport=transport, sleep=clock.sleep) as a,
        CekuraClient(KEY_B, "http://sandbox.test", transport=transport, sleep=clock.sleep) as b,
    ):
        yield tuple(
            Workflow(
                client=client,
                ledger=store.for_tenant(tenant),
                clock=clock,
                policy=Policy(poll=PollPolicy()),
                owner=f"{tenant}-process",
            )
            for client, tenant in ((a, "alice"), (b, "bob"))
        )
    await store.aclose()


async def test_two_tenants_racing_on_one_metric_start_one_run_and_both_get_it(location):
    # a run of 25 polls: the race is decided while it is in flight, not after it has finished
    state = SandboxState.seeded(api_keys=[KEY_A, KEY_B], optimiser_polls=25)
    async with _two_tenants(location, state) as (alice, bob):
        earlier = await optimise_metric(alice, 101)
        assert earlier.status == "proposed"
        assert (await diff_proposal(bob, 101)).status == "not_found"  # alice's, not bob's
        assert state.count("process_feedbacks", metric_id=101) == 1

        results = {}

        async def call(name: str, wf: Workflow, force: bool) -> None:
            results[name] = await optimise_metric(wf, 101, force=force)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call, "alice", alice, True)  # forced: her labels did not change
            tg.start_soon(call, "bob", bob, False)
        assert state.count("process_feedbacks", metric_id=101) == 2  # the race started one
        assert results["alice"].status == results["bob"].status == "proposed"
        shared = results["bob"].proposal_id
        assert shared and results["alice"].proposal_id == shared != earlier.proposal_id

        assert (await diff_proposal(bob, 101, proposal_id=shared)).status == "ok"
        assert (await diff_proposal(bob, 101, proposal_id=earlier.proposal_id)).status == (
            "not_found"
        )
        applied = await apply_if_not_regressed(bob, 101, proposal_id=shared)
        again = await apply_if_not_regressed(alice, 101, proposal_id=shared)
        assert applied.status == "applied" and again.status == "already_applied"
        assert state.count("metric_patch", metric_id=101) == 1
