"""Two people with different Cekura keys use the same OAuth-mode server: each call runs with its
caller's key, their rows in the one shared ledger carry their tenant, and neither can see or act on
the other's proposals."""

import sqlite3

import httpx
import pytest
from e2e import OAuthUser, bearer_client, oauth_env, oauth_server

from sandbox import SandboxState, start_background

pytestmark = pytest.mark.anyio

KEY_A = "ck_tenant_alice_61f0e2d9"
KEY_B = "ck_tenant_bob_9c4b7a13"


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY_A, KEY_B])
    with start_background(state) as server:
        yield server


def _runs(ledger) -> dict[str, list[int]]:
    """Each tenant's runs (metric ids) in the shared ledger."""
    db = sqlite3.connect(ledger)
    try:
        runs: dict[str, list[int]] = {}
        for tenant, metric_id in db.execute("SELECT tenant, metric_id FROM runs ORDER BY 2"):
            runs.setdefault(tenant, []).append(metric_id)
        return runs
    finally:
        db.close()


def _proposal_tenant(ledger, proposal_id: str) -> str:
    """The tenant whose run made a proposal."""
    db = sqlite3.connect(ledger)
    try:
        return db.execute(
            "SELECT r.tenant FROM proposals p JOIN runs r ON r.id = p.run_id WHERE p.id = ?",
            (proposal_id,),
        ).fetchone()[0]
    finally:
        db.close()


async def test_two_people_see_only_their_own_data(sandbox, tmp_path):
    env = oauth_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_OAUTH_RATE_LIMIT="1000")
    with oauth_server(env, tmp_path / "stderr.log") as public:
        async with httpx.AsyncClient(timeout=20) as http_a, httpx.AsyncClient(timeout=20) as http_b:
            alice = await OAuthUser(http_a, public).sign_in(KEY_A)
            bob = await OAuthUser(http_b, public).sign_in(KEY_B)

        # both run the routine's one call through the same server
        async with bearer_client(public, alice["access_token"]) as client:
            a_run = await client.call_tool("optimise_metrics", {"metric_ids": [101, 102]})
        async with bearer_client(public, bob["access_token"]) as client:
            b_run = await client.call_tool("optimise_metrics", {"metric_ids": [104, 106]})
        assert [m["status"] for m in a_run.structured_content["metrics"]] == ["proposed"] * 2
        assert [m["status"] for m in b_run.structured_content["metrics"]] == ["proposed"] * 2

        # one shared ledger, each run under its tenant (no per-tenant files any more)
        ledger = tmp_path / "ledger.sqlite3"
        by_tenant = _runs(ledger)
        assert sorted(by_tenant.values()) == [[101, 102], [104, 106]]
        assert "" not in by_tenant and not (tmp_path / "tenants").exists()
        bob_tenant = next(t for t, metrics in by_tenant.items() if metrics == [104, 106])
        b_proposal = b_run.structured_content["metrics"][0]["optimise"]["proposal_id"]
        assert _proposal_tenant(ledger, b_proposal) == bob_tenant

        # Alice cannot see or apply Bob's proposal: unknown to her, and nothing is written
        writes_before = _writes(sandbox)
        history_before = len(sandbox.state.history.get(104, []))
        async with bearer_client(public, alice["access_token"]) as client:
            diff = await client.call_tool(
                "diff_proposal", {"metric_id": 104, "proposal_id": b_proposal}
            )
            applied = await client.call_tool(
                "apply_if_not_regressed", {"metric_id": 104, "proposal_id": b_proposal}
            )
            own_latest = await client.call_tool("diff_proposal", {"metric_id": 104})
        assert diff.structured_content["status"] == "not_found"
        assert applied.is_error and f"No proposal '{b_proposal}'" in applied.content[0].text
        assert own_latest.structured_content["status"] in ("not_found", "ok")
        assert own_latest.structured_content.get("proposal_id") != b_proposal
        assert _writes(sandbox) == writes_before
        assert len(sandbox.state.history.get(104, [])) == history_before

        # Bob can apply his own proposal
        async with bearer_client(public, bob["access_token"]) as client:
            mine = await client.call_tool(
                "apply_if_not_regressed", {"metric_id": 104, "proposal_id": b_proposal}
            )
        assert not mine.is_error
        assert mine.structured_content["proposal_id"] == b_proposal

        # each call carries its caller's key: once Cekura stops accepting Bob's, only he is refused
        sandbox.state.api_keys = frozenset({KEY_A})
        async with bearer_client(public, bob["access_token"]) as client:
            refused = await client.call_tool("diff_proposal", {"metric_id": 104})
        async with bearer_client(public, alice["access_token"]) as client:
            fine = await client.call_tool("diff_proposal", {"metric_id": 101})
        assert refused.is_error
        assert "Cekura refused the API key you connected with (401)" in refused.content[0].text
        assert not fine.is_error and fine.structured_content["status"] == "ok"


def _writes(sandbox) -> int:
    return sum(1 for r in sandbox.state.requests if r.method in ("PATCH", "POST", "DELETE"))
