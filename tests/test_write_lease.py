"""The write lease is a setting (`CEKURA_OPTIMISE_WRITE_LEASE_S`), and a live holder keeps even a
short lease: it renews often enough that nobody takes its write over while it works."""

import pytest

from support import sandbox_world
from tools.workflows.optimise import optimise_metric
from tools.writes.hold import WriteHold, call_owner, holder_gone

pytestmark = pytest.mark.anyio


async def test_the_write_lease_is_a_setting(monkeypatch, tmp_path):
    from server.runtime import Runtime
    from server.settings import Settings, SettingsError

    monkeypatch.setenv("CEKURA_OPTIMISE_WRITE_LEASE_S", "45")
    runtime = Runtime(Settings.from_env(sandbox=True, state_dir=tmp_path))
    assert (await runtime.workflow()).policy.write_lease_s == 45
    await runtime.aclose()
    for bad in ("0.5", "soon"):
        monkeypatch.setenv("CEKURA_OPTIMISE_WRITE_LEASE_S", bad)
        with pytest.raises(SettingsError, match="CEKURA_OPTIMISE_WRITE_LEASE_S"):
            Settings.from_env()


async def test_a_holder_that_keeps_working_keeps_a_short_lease(tmp_path):
    async with sandbox_world(tmp_path, write_lease_s=8) as w:
        await optimise_metric(w.wf, 101)
        proposal = await w.wf.ledger.latest_proposal(101)
        owner = call_owner(w.wf)
        claim = await w.wf.ledger.claim_apply(proposal.id, 101, owner, now=w.clock.now())
        hold = WriteHold(w.wf, claim.row)
        for _step in range(10):  # a step every 3 s for 30 s, as a re-score's polls would be
            w.clock.t += 3
            await hold.renew()
            row = await w.wf.ledger.apply(claim.row.id)
            assert not holder_gone(row, w.clock.now(), 8, exited=lambda _owner: False)
