"""Contract: tenants of one store. The in-flight run and the write hold on a metric are shared by
every tenant; runs, proposals and writes are otherwise seen only by the tenant that made them, or
(a run and its proposal) by a tenant that joined the run by claiming the metric while it was held."""

import pytest

from tools.ledger.models import REVERTIBLE, WRITING, new_proposal

pytestmark = pytest.mark.asyncio


async def _finish(ledger, metric_id: int, *, fp: str, now: float, patch: str):
    """A run of `metric_id` claimed and closed with a proposal by `ledger`'s tenant."""
    run = (await ledger.claim_run(metric_id, fp, "x", None, None, now=now)).run
    proposal = new_proposal(metric_id, progress_id=None, metric_fingerprint="m", body={"p": patch})
    await ledger.close_run(run.id, "proposed", result={"s": patch}, proposal=proposal, now=now + 5)
    return run, proposal


async def test_one_run_in_flight_per_metric_whichever_tenant_claims(ledger):
    alice, bob, carol = (ledger.for_tenant(t) for t in ("alice", "bob", "carol"))
    mine = await alice.claim_run(7, "fp", "a", None, None, now=1)
    theirs = await bob.claim_run(7, "fp", "b", None, None, now=2)
    assert mine.won and not theirs.won and theirs.run.id == mine.run.id
    assert (await bob.inflight_run(7)).id == mine.run.id  # bob joined the run by claiming
    assert (await bob.run(mine.run.id)).owner == "a"
    assert await carol.inflight_run(7) is None  # carol never claimed: she sees nothing of it
    assert await carol.run(mine.run.id) is None
    assert not (await carol.claim_run(7, "fp", "c", None, None, now=3)).won  # yet it holds


async def test_a_joined_run_shares_its_result_and_proposal_and_nothing_earlier(ledger):
    alice, bob, carol = (ledger.for_tenant(t) for t in ("alice", "bob", "carol"))
    _, earlier = await _finish(alice, 7, fp="fp1", now=10, patch="alice-only")
    assert await bob.latest_proposal(7) is None and await bob.proposal(earlier.id) is None
    assert await bob.last_finished_run(7) is None
    shared = (await alice.claim_run(7, "fp2", "a", None, None, now=20)).run
    await bob.claim_run(7, "fp2", "b", None, None, now=21)
    proposal = new_proposal(7, progress_id="p", metric_fingerprint="m", body={"p": "shared"})
    closed = await bob.close_run(shared.id, "proposed", result={"s": 1}, proposal=proposal, now=30)
    assert closed.won
    for tenant in (alice, bob):
        assert (await tenant.latest_proposal(7)).id == proposal.id
        assert (await tenant.last_finished_run(7)).result == {"s": 1}
        assert (await tenant.proposal(proposal.id)).body == {"p": "shared"}
    assert await bob.proposal(earlier.id) is None  # still not alice's earlier one
    assert await carol.latest_proposal(7) is None and await carol.proposal(proposal.id) is None
    assert await carol.recent_run_durations() == []
    assert await bob.recent_run_durations() == [10]


async def test_one_writer_per_metric_across_tenants_with_each_ones_history_apart(ledger):
    alice, bob = ledger.for_tenant("alice"), ledger.for_tenant("bob")
    held = await alice.claim_apply("prop_a", 5, "a", now=1)
    blocked = await bob.claim_apply("prop_b", 5, "b", now=2)
    restore = await bob.claim_restore(5, 77, "b", now=3)
    assert held.won and not blocked.won and not restore.won
    assert blocked.row.id == restore.row.id == held.row.id
    assert (await bob.apply(held.row.id)).owner == "a"  # the hold in the way is shared
    assert await bob.applies_with_status(5, WRITING) == []  # alice's writes are her history
    await alice.update_apply(held.row.id, holder="a", status="applied", now=4)
    assert (await bob.claim_apply("prop_b", 5, "b", now=5)).won
    assert await bob.last_apply(5, REVERTIBLE) is None
    assert (await alice.last_apply(5, REVERTIBLE)).id == held.row.id


async def test_the_plain_store_is_the_default_tenant(ledger):
    run, proposal = await _finish(ledger, 3, fp="fp", now=1, patch="x")
    assert (await ledger.for_tenant("").latest_proposal(3)).id == proposal.id
    assert await ledger.for_tenant("alice").latest_proposal(3) is None
    assert (await ledger.last_finished_run(3)).id == run.id


async def test_a_proposal_added_outside_our_runs_is_seen_only_by_tenants_that_added_it(ledger):
    alice, bob = ledger.for_tenant("alice"), ledger.for_tenant("bob")
    pending = new_proposal(5, progress_id=None, metric_fingerprint="m1", body={"patch": {"a": 1}})
    pending = pending.model_copy(update={"id": "pending_def", "created_at": 5.0})
    await alice.add_proposal(pending)
    assert (await alice.latest_proposal(5)).id == "pending_def"
    assert await bob.proposal("pending_def") is None and await bob.latest_proposal(5) is None
    assert (await bob.add_proposal(pending)).id == "pending_def"
    assert (await bob.latest_proposal(5)).id == "pending_def"


async def test_checks_across_tenants_see_every_tenants_writes_and_of_a_proposal_its_patch(ledger):
    alice, bob = ledger.for_tenant("alice"), ledger.for_tenant("bob")
    run = (await alice.claim_run(5, "fp", "a", None, None, now=1)).run
    body = {"patch": {"description": "new"}, "evidence": "alice-only"}
    proposal = new_proposal(5, progress_id=None, metric_fingerprint="m", body=body)
    await alice.close_run(run.id, "proposed", result={}, proposal=proposal, now=2)
    hers = (await alice.claim_apply(proposal.id, 5, "a", now=3)).row
    await alice.update_apply(hers.id, holder="a", status="applied", now=4)
    assert await bob.proposal(proposal.id) is None  # still hers to read
    assert await bob.write_patch(proposal.id) == {"description": "new"}
    assert await bob.write_patch("history:77") is None
    assert await bob.applies_with_status(5, REVERTIBLE) == []
    every = await bob.applies_with_status(5, REVERTIBLE, every_tenant=True)
    assert [row.id for row in every] == [hers.id]
    his = (await bob.claim_apply("prop_b", 5, "b", now=5)).row
    await bob.update_apply(his.id, holder="b", status="reverted", now=6)
    done = (*REVERTIBLE, "reverted")
    assert (await alice.last_apply(5, done)).id == hers.id
    assert (await alice.last_apply(5, done, every_tenant=True)).id == his.id
    assert await ledger.for_tenant("carol").last_apply(5, done) is None
