"""The secret scan, extended to OAuth mode: with a distinctive Cekura key and server secret, nothing
in the stores (raw database bytes), pages, debug logs or responses contains the key or the secret,
and no store or log contains a raw token, code, client secret or consent-request id."""

import json
import sqlite3

import httpx
import pytest
from e2e import SERVER_SECRET, OAuthUser, bearer_client, oauth_env, oauth_server, pkce_pair

from sandbox import SandboxState, start_background

pytestmark = pytest.mark.anyio

KEY = "ck_live_OAUTHSCAN_5e4d3c2b1a09"
WRONG_KEY = "ck_live_OAUTHSCAN_wrong_77a1b2"


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY])
    with start_background(state) as server:
        yield server


async def test_nothing_stored_logged_or_answered_holds_a_secret(sandbox, tmp_path):
    state_dir = tmp_path / "state"
    log = tmp_path / "stderr.log"
    env = oauth_env(sandbox.url, state_dir, CEKURA_OPTIMISE_OAUTH_RATE_LIMIT="1000")
    raw: list[str] = []  # raw tokens, codes, ids: must never be stored or logged
    seen: list[str] = []  # everything the server answered: must hold neither key nor secret
    with oauth_server(env, log, verbose=True) as public:
        async with httpx.AsyncClient(timeout=20) as http:
            user = OAuthUser(http, public)
            await user.discover()
            client = await user.register()
            raw.append(client["client_secret"])

            # a rejected key, then the accepted one
            verifier, challenge = pkce_pair()
            request_id, csrf, _ = await user.consent_page(await user.authorize(challenge))
            raw.append(request_id)
            await user.submit(request_id, csrf, WRONG_KEY)
            done = await user.submit(request_id, csrf, KEY)
            code = done.headers["location"].split("code=")[1].split("&")[0]
            raw.append(code)
            tokens = (await user.token(code, verifier)).json()
            raw += [tokens["access_token"], tokens["refresh_token"]]
            await user.token(code, verifier)  # a replay, logged as such

            # a second grant to use, refresh and revoke
            second = await user.sign_in(KEY)
            refreshed = (await user.refresh(second["refresh_token"])).json()
            raw += [second["access_token"], second["refresh_token"]]
            raw += [refreshed["access_token"], refreshed["refresh_token"]]
            async with bearer_client(public, refreshed["access_token"]) as mcp:
                results = [
                    await mcp.call_tool("optimise_metrics", {"metric_ids": [101, 104]}),
                    await mcp.call_tool("apply_if_not_regressed", {"metric_id": 101}),
                    await mcp.call_tool("diff_proposal", {"metric_id": 999}),
                ]
            await user.revoke(refreshed["access_token"])
            denied = await http.post(
                f"{public}/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Authorization": f"Bearer {refreshed['access_token']}"},
            )
            alive = await user.sign_in(KEY)  # a grant still live when the stores are scanned
            raw += [alive["access_token"], alive["refresh_token"]]
            seen += [r.text + str(r.headers) for r in [*user.responses, denied]]
            seen += [json.dumps(r.model_dump(mode="json")) for r in results]

    stores = b"".join(p.read_bytes() for p in state_dir.rglob("*") if p.is_file())
    logs = log.read_text()
    assert "DEBUG" in logs
    assert b"oauth_grants" in stores and b"runs" in stores  # the scan covers both kinds of store
    for secret in (KEY, WRONG_KEY, SERVER_SECRET):
        assert secret.encode() not in stores, secret
        assert secret not in logs, secret
        for text in seen:
            assert secret not in text, secret
    for value in raw:
        assert value.encode() not in stores
        assert value not in logs

    # what the shared database does hold: hashes and ciphertext, nothing readable
    db = sqlite3.connect(state_dir / "ledger.sqlite3")
    try:
        grants = db.execute("SELECT key_enc FROM oauth_grants").fetchall()
        tokens_stored = db.execute("SELECT token_hash FROM oauth_tokens").fetchall()
        clients = db.execute("SELECT metadata, secret_enc FROM oauth_clients").fetchall()
    finally:
        db.close()
    assert grants and all(row[0].startswith("gAAAA") for row in grants)  # Fernet tokens
    assert tokens_stored and all(len(row[0]) == 64 for row in tokens_stored)  # sha256 hex
    assert all("client_secret" not in json.loads(meta) for meta, _ in clients)
