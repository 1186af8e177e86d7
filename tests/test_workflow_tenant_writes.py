"""Teammates' writes of one metric (SQLite and PostgreSQL): a write is judged by the live metric
whoever made it, so a teammate's call settling my stopped apply or revert, or restoring a history
row over my apply, records what the metric really holds; and a shared proposal that one tenant
applied and that was reverted is never written again by another."""

import pytest
import test_tenants_single_flight as tenants

from sandbox import SandboxState
from tools.ledger.models import REVERTIBLE
from tools.workflows.apply import apply_if_not_regressed
from tools.workflows.optimise import optimise_metric
from tools.workflows.revert import revert_metric

pytestmark = pytest.mark.anyio
location = tenants.location  # the fixture: each test on SQLite and on PostgreSQL
KEY_A, KEY_B, _two_tenants = tenants.KEY_A, tenants.KEY_B, tenants._two_tenants

DEAD = "alice-process#dead"


async def _proposals(alice, bob, metric_id: int) -> tuple[str, str]:
    """Alice's and Bob's own proposals for the metric, each unseen by the other."""
    mine, theirs = await optimise_metric(alice, metric_id), await optimise_metric(bob, metric_id)
    assert mine.proposal_id != theirs.proposal_id
    assert await bob.ledger.proposal(mine.proposal_id) is None
    return mine.proposal_id, theirs.proposal_id


async def test_a_shared_proposal_reverted_after_one_tenant_applied_it_is_not_written_again(
    location,
):
    state = SandboxState.seeded(api_keys=[KEY_A, KEY_B])
    async with _two_tenants(location, state) as (alice, bob):
        made = await optimise_metric(alice, 106)
        shared = await alice.ledger.proposal(made.proposal_id)
        await bob.ledger.add_proposal(shared)  # bob sees it too, as a run he joined
        first = await apply_if_not_regressed(alice, 106, proposal_id=shared.id)
        assert first.status == "reverted"  # its whole-Lab re-score fell
        patches = state.count("metric_patch", metric_id=106)
        again = await apply_if_not_regressed(bob, 106, proposal_id=shared.id)
        assert again.status == "not_applied_regressed"
        assert "reverted once already" in again.summary
        assert state.count("metric_patch", metric_id=106) == patches


async def test_a_teammate_settles_my_stopped_apply_as_live_and_i_can_still_revert_it(location):
    state = SandboxState.seeded(api_keys=[KEY_A, KEY_B])
    async with _two_tenants(location, state) as (alice, bob):
        mine, theirs = await _proposals(alice, bob, 101)
        original = dict(state.metric(101))
        patch = (await alice.ledger.proposal(mine)).body["patch"]
        claim = await alice.ledger.claim_apply(mine, 101, DEAD, now=alice.clock.now())
        live = await alice.client.get_metric(101)
        await alice.ledger.update_apply(
            claim.row.id,
            holder=DEAD,
            now=alice.clock.now(),
            history_id_before=await alice.client.latest_history_id(101),
            replaced={k: getattr(live, k, None) for k in patch},
        )
        await alice.client.patch_metric(101, patch)  # then her process dies
        alice.clock.t += 10_000
        await apply_if_not_regressed(bob, 101, proposal_id=theirs)
        assert (await alice.ledger.apply(claim.row.id)).status == "applied_unverified"
        undone = await revert_metric(alice, 101)
        assert undone.status == "reverted"
        assert {k: state.metric(101)[k] for k in patch} == {k: original[k] for k in patch}


async def test_a_teammate_settles_my_stopped_revert_as_not_done_while_my_change_is_live(location):
    state = SandboxState.seeded(api_keys=[KEY_A, KEY_B])
    async with _two_tenants(location, state) as (alice, bob):
        mine, theirs = await _proposals(alice, bob, 101)
        assert (await apply_if_not_regressed(alice, 101, proposal_id=mine)).status == "applied"
        row = await alice.ledger.last_apply(101, REVERTIBLE)
        assert (await alice.ledger.claim_revert(row.id, DEAD, now=alice.clock.now())).won
        alice.clock.t += 10_000  # her revert stopped before sending the restore
        await apply_if_not_regressed(bob, 101, proposal_id=theirs)
        assert (await alice.ledger.apply(row.id)).status == "applied"
        assert (await revert_metric(alice, 101)).status == "reverted"


async def test_a_teammates_history_restore_supersedes_my_apply_it_undid(location):
    state = SandboxState.seeded(api_keys=[KEY_A, KEY_B])
    async with _two_tenants(location, state) as (alice, bob):
        mine, _ = await _proposals(alice, bob, 101)
        assert (await apply_if_not_regressed(alice, 101, proposal_id=mine)).status == "applied"
        row = await alice.ledger.last_apply(101, REVERTIBLE)
        restored = await revert_metric(bob, 101, history_id=row.history_id_before)
        assert restored.status == "reverted"  # the result names a restore "reverted"
        assert (await alice.ledger.apply(row.id)).status == "superseded"
        assert (await revert_metric(alice, 101)).status == "nothing_to_revert"
