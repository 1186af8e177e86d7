"""Contract: writes. One write in progress per metric and one live apply per proposal; the holder
alone changes its write; a stopped holder's write is taken over only at the lease version seen."""

import pytest

from tools.ledger.models import WRITING, HoldLost

pytestmark = pytest.mark.asyncio


async def test_one_live_apply_per_proposal(ledger):
    first = await ledger.claim_apply("prop_1", 5, "a", now=1)
    again = await ledger.claim_apply("prop_1", 5, "b", now=2)
    assert first.won and not again.won and again.row.id == first.row.id
    await ledger.update_apply(first.row.id, holder="a", status="applied", now=3)
    after = await ledger.claim_apply("prop_1", 5, "c", now=4)
    assert not after.won and after.row.status == "applied"
    await ledger.mark_apply(first.row.id, expect=("applied",), status="superseded", now=5)
    assert (await ledger.claim_apply("prop_1", 5, "c", now=6)).won


async def test_one_write_per_metric_whatever_it_writes(ledger):
    apply = await ledger.claim_apply("prop_1", 5, "a", now=1)
    other = await ledger.claim_apply("prop_2", 5, "b", now=2)
    restore = await ledger.claim_restore(5, 77, "c", now=3)
    assert apply.won and not other.won and not restore.won
    assert other.row.id == restore.row.id == apply.row.id
    assert (await ledger.claim_apply("prop_3", 6, "d", now=4)).won  # another metric is free
    await ledger.update_apply(apply.row.id, holder="a", status="applied", now=5)
    revert = await ledger.claim_revert(apply.row.id, "e", now=6)
    assert revert.won and revert.row.status == "reverting" and revert.row.note("before_revert")
    blocked = await ledger.claim_apply("prop_2", 5, "b", now=7)
    assert not blocked.won and blocked.row.id == apply.row.id


async def test_a_revert_claim_names_what_is_in_the_way(ledger):
    applied = (await ledger.claim_apply("prop_1", 5, "a", now=1)).row
    await ledger.update_apply(applied.id, holder="a", status="applied", now=2)
    restoring = await ledger.claim_restore(5, 77, "b", now=3)
    assert restoring.won and restoring.row.proposal_id == "history:77"
    busy = await ledger.claim_revert(applied.id, "c", now=4)
    assert not busy.won and busy.row.id == restoring.row.id
    assert (await ledger.apply(applied.id)).status == "applied"
    await ledger.update_apply(restoring.row.id, holder="b", status="restored", now=5)
    await ledger.mark_apply(applied.id, expect=("applied",), status="superseded", now=6)
    gone = await ledger.claim_revert(applied.id, "c", now=7)
    assert not gone.won and gone.row.status == "superseded"


async def test_only_the_holder_changes_its_write(ledger):
    row = (await ledger.claim_apply("prop_1", 5, "a", now=1)).row
    with pytest.raises(HoldLost):
        await ledger.update_apply(row.id, holder="b", status="applied", now=2)
    assert not await ledger.renew_apply(row.id, "b", now=2)
    assert await ledger.renew_apply(row.id, "a", now=3)
    done = await ledger.update_apply(row.id, holder="a", status="applied", now=4)
    assert done.status == "applied"
    with pytest.raises(HoldLost):  # a write that is over holds nothing any more
        await ledger.update_apply(row.id, holder="a", status="failed", now=5)
    assert not await ledger.renew_apply(row.id, "a", now=5)


async def test_a_lease_is_taken_over_only_at_the_version_seen(ledger):
    row = (await ledger.claim_apply("prop_1", 5, "a", now=1)).row
    assert await ledger.renew_apply(row.id, "a", now=2)
    assert await ledger.take_over_apply(row.id, row.lease, "b", now=3) is None
    current = await ledger.apply(row.id)
    assert current.lease > row.lease and current.owner == "a"
    taken = await ledger.take_over_apply(row.id, current.lease, "b", now=4)
    assert taken is not None and taken.owner == "b" and taken.lease > current.lease
    assert await ledger.take_over_apply(row.id, current.lease, "c", now=5) is None
    with pytest.raises(HoldLost):
        await ledger.update_apply(row.id, holder="a", status="applied", now=6)
    assert (await ledger.update_apply(row.id, holder="b", status="failed", now=7)).owner == "b"


async def test_abandoning_a_write_that_sent_nothing_fails_it_else_expires_its_lease(ledger):
    unsent = (await ledger.claim_apply("prop_1", 5, "a", now=10)).row
    await ledger.abandon_apply(unsent.id, "a", now=11)
    assert (await ledger.apply(unsent.id)).status == "failed"
    sent = (await ledger.claim_apply("prop_2", 5, "b", now=12)).row
    await ledger.update_apply(sent.id, holder="b", replaced={"description": "x"}, now=13)
    await ledger.abandon_apply(sent.id, "b", now=14)
    left = await ledger.apply(sent.id)
    assert left.status == "applying" and left.updated_at == 0
    await ledger.abandon_apply(sent.id, "someone-else", now=15)
    assert (await ledger.apply(sent.id)).lease == left.lease


async def test_marks_and_notes_on_writes_nobody_holds(ledger):
    row = (await ledger.claim_apply("prop_1", 5, "a", now=1)).row
    await ledger.update_apply(row.id, holder="a", status="applied", body={"x": 1}, now=2)
    assert await ledger.mark_apply(row.id, expect=("reverted",), status="superseded", now=3) is None
    await ledger.add_apply_notes(row.id, {"regressed": True}, now=4)
    noted = await ledger.apply(row.id)
    assert noted.body == {"x": 1, "regressed": True} and noted.regressed


async def test_listing_writes_by_status_in_claim_order(ledger):
    ids = []
    for n in range(3):
        row = (await ledger.claim_apply(f"prop_{n}", 5, "a", now=10 - n)).row
        await ledger.update_apply(row.id, holder="a", status="applied", now=20)
        ids.append(row.id)
    assert [r.id for r in await ledger.applies_with_status(5, ("applied",))] == ids
    assert (await ledger.last_apply(5, ("applied",))).id == ids[-1]
    assert await ledger.applies_with_status(5, WRITING) == []
    assert await ledger.last_apply(6, ("applied",)) is None
