"""Lifetimes and rate limits, on servers configured to hit them quickly."""

import anyio
import httpx
import pytest
from e2e import OAuthUser, bearer_client, oauth_env, oauth_server

from sandbox import SandboxState, start_background

pytestmark = pytest.mark.anyio

KEY = "ck_limits_7d2e9f04ab"


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY])
    with start_background(state) as server:
        yield server


async def test_an_expired_access_token_is_refused_and_refresh_recovers(sandbox, tmp_path):
    env = oauth_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_OAUTH_ACCESS_TTL="1")
    with oauth_server(env, tmp_path / "stderr.log") as public:
        async with httpx.AsyncClient(timeout=20) as http:
            user = OAuthUser(http, public)
            tokens = await user.sign_in(KEY)
            assert tokens["expires_in"] == 1
            await anyio.sleep(1.2)
            expired = await http.post(
                f"{public}/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            assert expired.status_code == 401
            assert 'error="invalid_token"' in expired.headers["www-authenticate"]
            fresh = await user.refresh(tokens["refresh_token"])
            assert fresh.status_code == 200
        async with bearer_client(public, fresh.json()["access_token"]) as client:
            tools = (await client.list_tools()).tools
        assert len(tools) == 16


async def test_token_and_consent_endpoints_are_rate_limited(sandbox, tmp_path):
    env = oauth_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_OAUTH_RATE_LIMIT="3")
    with oauth_server(env, tmp_path / "stderr.log") as public:
        async with httpx.AsyncClient(timeout=20) as http:
            token = [
                await http.post(f"{public}/token", data={"grant_type": "refresh_token"})
                for _ in range(5)
            ]
            consent = [
                await http.get(f"{public}/oauth/consent", params={"request": "x"}) for _ in range(5)
            ]
            posted = await http.post(f"{public}/oauth/consent", data={"request": "x"})
            metadata = await http.get(f"{public}/.well-known/oauth-authorization-server")
    assert [r.status_code for r in token] == [401, 401, 401, 429, 429]
    assert int(token[-1].headers["retry-after"]) >= 1
    assert token[-1].json()["error"] == "rate_limited"
    assert [r.status_code for r in consent] == [400, 400, 400, 429, 429]
    assert posted.status_code == 429
    assert metadata.status_code == 200  # discovery is not limited
