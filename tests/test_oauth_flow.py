"""OAuth mode end to end: the full dance against the running server on loopback with a real HTTP
client, then each way the authorization server must say no.

One server (module fixture) talks to the loopback sandbox, which accepts only KEY_A and KEY_B.
"""

import sqlite3

import httpx
import pytest
from e2e import (
    CALLBACK,
    OAuthUser,
    bearer_client,
    form_field,
    oauth_env,
    oauth_server,
    pkce_pair,
    redirect_params,
)

from sandbox import SandboxState, start_background

pytestmark = pytest.mark.anyio

KEY_A = "ck_e2e_alice_8b1f2c9d4e"
KEY_B = "ck_e2e_bob_3a7e6d5c1f"


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY_A, KEY_B])
    with start_background(state) as server:
        yield server


@pytest.fixture(scope="module")
def server(sandbox, tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("oauth-state")
    env = oauth_env(sandbox.url, state_dir, CEKURA_OPTIMISE_OAUTH_RATE_LIMIT="1000")
    with oauth_server(env, state_dir / "stderr.log") as public:
        yield public, state_dir


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=20) as client:
        yield client


async def test_the_full_dance(server, http):
    public, _ = server
    user = OAuthUser(http, public)

    # discovery: the 401 names the protected-resource metadata, which names the issuer
    meta = await user.discover()
    assert user.resource_meta["resource"] == f"{public}/mcp"
    assert meta["issuer"] == public
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token"} <= set(meta["grant_types_supported"])
    assert meta["registration_endpoint"] and meta["revocation_endpoint"]

    # dynamic registration, authorize → consent page → code, token with PKCE
    await user.register()
    tokens = await user.sign_in(KEY_A)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    assert tokens["scope"] == "optimise"

    async with bearer_client(public, tokens["access_token"]) as client:
        result = await client.call_tool("optimise_metrics", {"metric_ids": [101]})
    assert result.structured_content["metrics"][0]["status"] == "proposed", result

    # refresh rotates both tokens; the new access token works, the old one no longer does
    refreshed = await user.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["access_token"] != tokens["access_token"]
    assert new["refresh_token"] != tokens["refresh_token"]
    async with bearer_client(public, new["access_token"]) as client:
        diff = await client.call_tool("diff_proposal", {"metric_id": 101})
    assert diff.structured_content["status"] == "ok"
    old = await _mcp_status(http, public, tokens["access_token"])
    assert old == 401

    # revoke → 401, and the rotated-out refresh token does not work either
    revoked = await user.revoke(new["refresh_token"])
    assert revoked.status_code == 200
    assert await _mcp_status(http, public, new["access_token"]) == 401
    again = await user.refresh(tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    again = await user.refresh(new["refresh_token"])
    assert again.status_code == 400


async def test_a_replayed_refresh_token_revokes_the_grant(server, http):
    public, _ = server
    user = OAuthUser(http, public)
    tokens = await user.sign_in(KEY_A)
    first = (await user.refresh(tokens["refresh_token"])).json()
    replay = await user.refresh(tokens["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # the replay ended the whole grant: the tokens from the honest refresh are dead too
    assert await _mcp_status(http, public, first["access_token"]) == 401
    assert (await user.refresh(first["refresh_token"])).status_code == 400


async def test_wrong_pkce_verifier(server, http):
    user = OAuthUser(http, server[0])
    await user.discover()
    await user.register()
    code, verifier = await user.code_for(KEY_A)
    wrong, _ = pkce_pair()
    refused = await user.token(code, wrong)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "code_verifier" in refused.json()["error_description"]
    missing = await user.token(code, "")
    assert missing.status_code == 400
    # only the verifier the challenge was made from redeems the code
    assert (await user.token(code, verifier)).status_code == 200


async def test_a_code_works_once(server, http):
    public = server[0]
    user = OAuthUser(http, public)
    await user.discover()
    await user.register()
    code, verifier = await user.code_for(KEY_A)
    first = await user.token(code, verifier)
    assert first.status_code == 200
    second = await user.token(code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    # and replaying it revoked what the first exchange issued
    assert await _mcp_status(http, public, first.json()["access_token"]) == 401


async def test_redirect_uri_must_match_exactly(server, http):
    user = OAuthUser(http, server[0])
    await user.discover()
    await user.register()
    _, challenge = pkce_pair()
    for other in (CALLBACK + "/", CALLBACK + "x", "http://127.0.0.1:53683/callback"):
        refused = await user.authorize(challenge, redirect_uri=other)
        assert refused.status_code == 400, other
        assert "location" not in refused.headers
        assert refused.json()["error"] == "invalid_request"
    # and at the token endpoint: the code was issued for CALLBACK
    code, verifier = await user.code_for(KEY_A)
    refused = await user.token(code, verifier, redirect_uri="http://127.0.0.1:53683/callback")
    assert refused.status_code == 400 and "redirect_uri" in refused.json()["error_description"]


async def test_registration_refuses_unsafe_redirect_uris(server, http):
    user = OAuthUser(http, server[0])
    await user.discover()
    for uri in ("http://evil.example/cb", "javascript:alert(1)", "https://ok.example/cb#frag"):
        response = await http.post(
            user.meta["registration_endpoint"], json={"redirect_uris": [uri]}
        )
        assert response.status_code == 400, uri
        assert response.json()["error"] in ("invalid_redirect_uri", "invalid_client_metadata")


async def test_state_and_pkce_are_required(server, http):
    user = OAuthUser(http, server[0])
    await user.discover()
    await user.register()
    _, challenge = pkce_pair()
    no_state = await user.authorize(challenge, state=None)
    assert no_state.status_code == 302
    assert redirect_params(no_state)["error"] == "invalid_request"
    assert no_state.headers["location"].startswith(CALLBACK)
    plain = await user.authorize(challenge, code_challenge_method="plain")
    assert redirect_params(plain)["error"] == "invalid_request"
    missing = await user.authorize(challenge, code_challenge=None)
    assert redirect_params(missing)["error"] == "invalid_request"
    short = await user.authorize("too-short")
    assert redirect_params(short)["error"] == "invalid_request"
    elsewhere = await user.authorize(challenge, resource="https://other.example/mcp")
    assert redirect_params(elsewhere)["error"] == "invalid_target"


async def test_a_rejected_cekura_key_gets_a_clear_error_and_no_code(server, http):
    user = OAuthUser(http, server[0])
    await user.discover()
    await user.register()
    _, challenge = pkce_pair()
    request_id, csrf, _ = await user.consent_page(await user.authorize(challenge))
    refused = await user.submit(request_id, csrf, "ck_not_a_key_cekura_knows")
    assert refused.status_code == 400
    assert "location" not in refused.headers
    assert "Cekura rejected this API key (401)" in refused.text
    assert "ck_not_a_key_cekura_knows" not in refused.text
    # the same request can still be completed with a good key
    done = await user.submit(request_id, csrf, KEY_A)
    assert done.status_code == 303 and "code" in redirect_params(done)
    # and then it is used up
    gone = await user.submit(request_id, csrf, KEY_A)
    assert gone.status_code == 400 and "expired or was already used" in gone.text


async def test_the_consent_page_cannot_be_framed(server, http):
    user = OAuthUser(http, server[0])
    await user.discover()
    await user.register()
    _, challenge = pkce_pair()
    _, _, page = await user.consent_page(await user.authorize(challenge))
    assert page.headers["x-frame-options"] == "DENY"
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    # the SDK's endpoints refuse framing too
    meta = await http.get(f"{server[0]}/.well-known/oauth-authorization-server")
    assert meta.headers["x-frame-options"] == "DENY"


async def test_csrf_token_missing_or_wrong_is_refused(server, http):
    user = OAuthUser(http, server[0])
    await user.discover()
    await user.register()
    _, challenge = pkce_pair()
    request_id, csrf, _ = await user.consent_page(await user.authorize(challenge))
    for bad in ("", "0" * 64, csrf[:-1] + ("0" if csrf[-1] != "0" else "1")):
        refused = await user.submit(request_id, bad, KEY_A)
        assert refused.status_code == 403 and "Security check failed" in refused.text
        assert "location" not in refused.headers
    # a token from another pending request does not fit this one
    _, other_csrf, _ = await user.consent_page(await user.authorize(pkce_pair()[1]))
    assert (await user.submit(request_id, other_csrf, KEY_A)).status_code == 403
    # nor does the right token from a browser without the page's cookie
    async with httpx.AsyncClient() as stranger:
        form = {"request": request_id, "csrf_token": csrf, "api_key": KEY_A, "decision": "allow"}
        cross = await stranger.post(f"{server[0]}/oauth/consent", data=form)
    assert cross.status_code == 403
    # the genuine form still works
    assert (await user.submit(request_id, csrf, KEY_A)).status_code == 303


async def test_deny_returns_access_denied_to_the_client(server, http):
    user = OAuthUser(http, server[0])
    await user.discover()
    await user.register()
    _, challenge = pkce_pair()
    request_id, csrf, _ = await user.consent_page(await user.authorize(challenge, state="s-9"))
    denied = await user.submit(request_id, csrf, "", decision="deny")
    assert denied.status_code == 303
    assert redirect_params(denied) == {
        "error": "access_denied",
        "error_description": "The person declined to connect.",
        "state": "s-9",
    }


async def test_tampered_encrypted_key_is_a_clear_error_and_reaches_nobody(server, sandbox, http):
    public, state_dir = server
    user = OAuthUser(http, public)
    tokens = await user.sign_in(KEY_B)
    db = sqlite3.connect(state_dir / "ledger.sqlite3")
    with db:
        (grant_id, key_enc), *_ = db.execute(
            "SELECT id, key_enc FROM oauth_grants ORDER BY created_at DESC LIMIT 1"
        ).fetchall()
        flipped = key_enc[:40] + ("A" if key_enc[40] != "A" else "B") + key_enc[41:]
        db.execute("UPDATE oauth_grants SET key_enc = ? WHERE id = ?", (flipped, grant_id))
    db.close()
    before = len(sandbox.state.requests)
    async with bearer_client(public, tokens["access_token"]) as client:
        result = await client.call_tool("optimise_metric", {"metric_id": 102})
    assert result.is_error
    text = result.content[0].text
    assert "cannot be decrypted" in text and "Nothing was sent to Cekura" in text
    assert len(sandbox.state.requests) == before


async def test_mcp_without_a_token_names_the_metadata(server, http):
    response = await http.post(
        f"{server[0]}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    )
    assert response.status_code == 401
    assert "resource_metadata=" in response.headers["www-authenticate"]
    forged = await _mcp_status(http, server[0], "coa_" + "x" * 43)
    assert forged == 401


async def test_consent_page_for_an_unknown_request(server, http):
    page = await http.get(f"{server[0]}/oauth/consent", params={"request": "nope"})
    assert page.status_code == 400 and "expired" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert form_field(page.text, "csrf_token") == ""


async def _mcp_status(http, public: str, token: str) -> int:
    response = await http.post(
        f"{public}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
        },
    )
    return response.status_code


async def test_a_public_client_registering_like_claude_ai(server, http):
    """claude.ai registers a public client (no secret) and has sent a scope of its own."""
    public = server[0]
    user = OAuthUser(http, public, redirect_uri="https://claude.ai/api/mcp/auth_callback")
    await user.discover()
    client = await user.register(
        name="claudeai",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
        scope="claudeai",
    )
    assert "client_secret" not in client
    assert set(client["scope"].split()) == {"claudeai", "optimise"}
    verifier, challenge = pkce_pair()
    request_id, csrf, page = await user.consent_page(
        await user.authorize(challenge, scope="claudeai")
    )
    assert "claudeai" in page.text and "claude.ai" in page.text  # who is asking, and where to
    assert "form-action 'self' https://claude.ai" in page.headers["content-security-policy"]
    done = await user.submit(request_id, csrf, KEY_B)
    assert done.headers["location"].startswith("https://claude.ai/api/mcp/auth_callback?code=")
    tokens = (await user.token(redirect_params(done)["code"], verifier)).json()
    assert set(tokens["scope"].split()) == {"claudeai", "optimise"}
    async with bearer_client(public, tokens["access_token"]) as mcp:
        assert len((await mcp.list_tools()).tools) == 16
    assert (await user.refresh(tokens["refresh_token"])).status_code == 200
