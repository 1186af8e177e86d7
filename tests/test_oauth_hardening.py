"""OAuth hardening against the running server: registrations that cannot fill the disk or close
registration, the redirect-host allow-list, revocation by every kind of client, a foreign
`resource`, and a changed or rotated server secret (on SQLite and on PostgreSQL)."""

import base64
import stat
import subprocess
import sys

import httpx
import pytest
from e2e import (
    CALLBACK,
    ROOT,
    SERVER_SECRET,
    OAuthUser,
    bearer_client,
    free_port,
    oauth_env,
    oauth_server,
    pkce_pair,
)

from sandbox import SandboxState, start_background

pytestmark = pytest.mark.anyio

KEY = "ck_hardening_4f1e2d3c"
QUOTA = 30  # MAX_UNUSED_PER_ADDRESS
FAST = {"CEKURA_OPTIMISE_OAUTH_RATE_LIMIT": "1000"}


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY])
    with start_background(state) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request) -> dict[str, str]:
    """The environment that puts the server's state in each backend: the state directory's SQLite
    file, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        return {"CEKURA_OPTIMISE_DATABASE_URL": request.getfixturevalue("pg_database")}
    return {}


def _db_bytes(state_dir) -> int:
    return sum(
        (state_dir / name).stat().st_size
        for name in ("ledger.sqlite3", "ledger.sqlite3-wal")
        if (state_dir / name).exists()
    )


def _register(http, public, uri=CALLBACK, **extra):
    return http.post(f"{public}/register", json={"redirect_uris": [uri], **extra})


async def test_oversized_registrations_are_refused_or_trimmed_and_the_database_stays_small(
    sandbox, tmp_path
):
    big = "x" * 1_000_000
    with oauth_server(oauth_env(sandbox.url, tmp_path, **FAST), tmp_path / "log") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            assert (await _register(http, public)).status_code == 201
            before = _db_bytes(tmp_path)
            trimmed = [
                await _register(http, public, jwks={"keys": [{"kty": "oct", "k": big}]}),
                await _register(http, public, contacts=[big]),
                await _register(http, public, software_id=big, software_version=big),
                await _register(http, public, grant_types=["authorization_code", big]),
                await _register(http, public, response_types=["code", big]),
                await _register(http, public, unknown_field=big),
            ]
            refused = [
                await _register(http, public, client_name=big),
                await _register(http, public, scope=big),
                await _register(http, public, uri="https://claude.ai/" + big),
                await _register(http, public, client_uri="https://a.example/" + big),
            ]
            after = _db_bytes(tmp_path)
    assert [r.status_code for r in trimmed] == [201] * 6
    for response in trimmed:
        assert len(response.content) < 2000 and "x" * 100 not in response.text
    assert [r.status_code for r in refused[:3]] == [400] * 3
    assert refused[3].status_code in (201, 400) and "x" * 100 not in refused[3].text
    assert after - before <= 16_384, after - before  # six registrations: a few KB, not 6 MB


async def test_a_flood_from_one_address_cannot_close_registration_for_another(sandbox, tmp_path):
    with oauth_server(oauth_env(sandbox.url, tmp_path, **FAST), tmp_path / "log") as public:
        async with (
            httpx.AsyncClient(timeout=30) as flood,
            httpx.AsyncClient(
                timeout=30, transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2")
            ) as other,
        ):
            answers = [
                await flood.post(
                    f"{public}/register",
                    json={"redirect_uris": [CALLBACK]},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},  # ignored: no trusted proxy
                )
                for n in range(QUOTA + 5)
            ]
            newcomer = await _register(other, public)
    assert [r.status_code for r in answers] == [201] * QUOTA + [400] * 5
    assert "too many registrations from your address" in answers[-1].json()["error_description"]
    assert newcomer.status_code == 201


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_quota(sandbox, tmp_path):
    env = oauth_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_TRUSTED_PROXIES="127.0.0.1", **FAST)
    with oauth_server(env, tmp_path / "log") as public:
        async with (
            httpx.AsyncClient(timeout=30) as proxy,
            httpx.AsyncClient(
                timeout=30, transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2")
            ) as stranger,
        ):

            async def via_proxy(client_ip: str):
                return await proxy.post(
                    f"{public}/register",
                    json={"redirect_uris": [CALLBACK]},
                    headers={"X-Forwarded-For": f"{client_ip}, 127.0.0.1"},
                )

            flood = [await via_proxy("203.0.113.5") for _ in range(QUOTA + 1)]
            someone_else = await via_proxy("198.51.100.7")
            spoofing = [
                await stranger.post(
                    f"{public}/register",
                    json={"redirect_uris": [CALLBACK]},
                    headers={"X-Forwarded-For": f"192.0.2.{n}"},  # not from the proxy: ignored
                )
                for n in range(QUOTA + 1)
            ]
    assert [r.status_code for r in flood] == [201] * QUOTA + [400]
    assert someone_else.status_code == 201
    assert [r.status_code for r in spoofing] == [201] * QUOTA + [400]


async def test_the_redirect_allow_list_refuses_look_alike_hosts(sandbox, tmp_path):
    env = oauth_env(
        sandbox.url, tmp_path, CEKURA_OPTIMISE_OAUTH_REDIRECT_HOSTS="claude.ai,127.0.0.1", **FAST
    )
    with oauth_server(env, tmp_path / "log") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            phish = await _register(
                http, public, uri="https://claude.ai.attacker.example/api/mcp/auth_callback"
            )
            claude = await _register(http, public, uri="https://claude.ai/api/mcp/auth_callback")
            user = OAuthUser(http, public)
            tokens = await user.sign_in(KEY)  # loopback callback, allowed by the list
    assert phish.status_code == 400 and phish.json()["error"] == "invalid_redirect_uri"
    assert "claude.ai.attacker.example" in phish.json()["error_description"]
    assert claude.status_code == 201
    assert tokens["access_token"]


async def test_the_allow_list_also_holds_clients_registered_before_it(sandbox, tmp_path):
    env = oauth_env(sandbox.url, tmp_path, **FAST)
    elsewhere = "https://elsewhere.example/cb"
    with oauth_server(env, tmp_path / "log") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            early = OAuthUser(http, public, redirect_uri=elsewhere)
            await early.discover()
            await early.register()
    listed = {**env, "CEKURA_OPTIMISE_OAUTH_REDIRECT_HOSTS": "claude.ai"}
    with oauth_server(listed, tmp_path / "log2") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            early.http, early.public_url = http, public
            await early.discover()
            refused = await early.authorize(pkce_pair()[1])
    assert refused.status_code == 400 and "location" not in refused.headers  # not sent there


async def test_registration_off_leaves_no_registration_endpoint(sandbox, tmp_path):
    env = oauth_env(sandbox.url, tmp_path, CEKURA_OPTIMISE_OAUTH_REGISTRATION="off", **FAST)
    with oauth_server(env, tmp_path / "log") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            meta = (await http.get(f"{public}/.well-known/oauth-authorization-server")).json()
            refused = await _register(http, public)
    assert "registration_endpoint" not in meta
    assert meta["client_id_metadata_document_supported"] is True
    assert refused.status_code in (404, 405)


async def _mcp_status(http, public: str, token: str) -> httpx.Response:
    """A bare tools/list: 401 when the token is refused (otherwise the MCP layer answers)."""
    return await http.post(
        f"{public}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
        },
    )


async def test_public_and_basic_auth_clients_can_revoke_and_basic_needs_no_client_id(
    sandbox, tmp_path
):
    with oauth_server(oauth_env(sandbox.url, tmp_path, **FAST), tmp_path / "log") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            # a public client (like claude.ai): revokes with its client_id and the token only
            pub = OAuthUser(http, public)
            await pub.discover()
            await pub.register(token_endpoint_auth_method="none")
            tokens = await pub.sign_in(KEY)
            revoked = await http.post(
                f"{public}/revoke",
                data={"token": tokens["refresh_token"], "client_id": pub.client["client_id"]},
            )
            public_after = await _mcp_status(http, public, tokens["access_token"])

            # a client_secret_basic client: credentials only in the Authorization header
            basic = OAuthUser(http, public)
            await basic.discover()
            client = await basic.register(token_endpoint_auth_method="client_secret_basic")
            pair = f"{client['client_id']}:{client['client_secret']}".encode()
            auth = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
            code, verifier = await basic.code_for(KEY)
            form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
            issued = await http.post(
                f"{public}/token", data={**form, "redirect_uri": CALLBACK}, headers=auth
            )
            token = issued.json()["access_token"]
            before = await _mcp_status(http, public, token)
            wrong = {"Authorization": "Basic " + base64.b64encode(pair + b"x").decode()}
            forged = await http.post(f"{public}/revoke", data={"token": token}, headers=wrong)
            still = await _mcp_status(http, public, token)
            basic_revoked = await http.post(f"{public}/revoke", data={"token": token}, headers=auth)
            basic_after = await _mcp_status(http, public, token)
    assert revoked.status_code == 200, revoked.text
    assert public_after.status_code == 401
    assert issued.status_code == 200, issued.text
    assert before.status_code != 401
    assert forged.status_code == 401 and still.status_code != 401  # a wrong secret revokes nothing
    assert basic_revoked.status_code == 200, basic_revoked.text
    assert basic_after.status_code == 401


async def test_a_foreign_resource_is_refused_at_the_token_endpoint(sandbox, tmp_path):
    with oauth_server(oauth_env(sandbox.url, tmp_path, **FAST), tmp_path / "log") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            user = OAuthUser(http, public)
            await user.discover()
            await user.register()
            code, verifier = await user.code_for(KEY)
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": CALLBACK,
                "resource": "https://other.example/mcp",
                **user._credentials(),
            }
            foreign = await http.post(f"{public}/token", data=form)
            ours = await http.post(f"{public}/token", data={**form, "resource": f"{public}/mcp"})
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_target"
    assert ours.status_code == 200


def _start(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`serve --oauth` expected to refuse to start: its exit code and stderr."""
    public = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "server", "--transport", "http", "--oauth"]
    command += ["--public-url", public, "--port", public.rsplit(":", 1)[1], *args]
    return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


async def test_a_changed_secret_refuses_to_start_until_accepted_then_old_tokens_fail(
    sandbox, tmp_path, store_env
):
    env = oauth_env(sandbox.url, tmp_path, **FAST, **store_env)
    with oauth_server(env, tmp_path / "log") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            tokens = await OAuthUser(http, public).sign_in(KEY)
    changed = {**env, "CEKURA_OPTIMISE_SECRET": "a-different-secret-" + "9" * 32}
    refused = _start(changed)
    assert refused.returncode == 2
    assert "--accept-new-secret" in refused.stderr and "sign in again" in refused.stderr
    with oauth_server(changed, tmp_path / "log2", "--accept-new-secret") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            old = await _mcp_status(http, public, tokens["access_token"])
            user = OAuthUser(http, public)
            await user.discover()
            await user.register()
            old_refresh = await user.refresh(tokens["refresh_token"])
            fresh = await user.sign_in(KEY)  # and people can sign in again
    assert old.status_code == 401
    assert 'error="invalid_token"' in old.headers["www-authenticate"]
    assert old_refresh.status_code in (400, 401)
    assert fresh["access_token"]
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name.startswith("ledger.sqlite3"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


async def test_rotating_the_secret_keeps_everyone_connected(sandbox, tmp_path, store_env):
    env = oauth_env(sandbox.url, tmp_path, **FAST, **store_env)
    new = "the-new-secret-" + "7" * 32
    with oauth_server(env, tmp_path / "log") as public:
        async with httpx.AsyncClient(timeout=30) as http:
            user = OAuthUser(http, public)
            tokens = await user.sign_in(KEY)
        async with bearer_client(public, tokens["access_token"]) as mcp:
            before = await mcp.call_tool("optimise_metrics", {"metric_ids": [101]})
    proposal_id = before.structured_content["metrics"][0]["optimise"]["proposal_id"]
    mine = {"metric_id": 101, "proposal_id": proposal_id}  # visible only in this person's ledger
    rotating = {**env, "CEKURA_OPTIMISE_SECRET": f"{new},{SERVER_SECRET}"}
    with oauth_server(rotating, tmp_path / "log2") as public:
        async with bearer_client(public, tokens["access_token"]) as mcp:
            during = await mcp.call_tool("diff_proposal", mine)
        async with httpx.AsyncClient(timeout=30) as http:
            user.http, user.public_url = http, public
            await user.discover()
            tokens = (await user.refresh(tokens["refresh_token"])).json()
    with oauth_server({**env, "CEKURA_OPTIMISE_SECRET": new}, tmp_path / "log3") as public:
        async with bearer_client(public, tokens["access_token"]) as mcp:
            after = await mcp.call_tool("diff_proposal", mine)
        async with httpx.AsyncClient(timeout=30) as http:
            user.http, user.public_url = http, public
            await user.discover()
            refreshed = await user.refresh(tokens["refresh_token"])
    for result in (before, during, after):
        assert not result.is_error, result
    assert refreshed.status_code == 200, refreshed.text  # the client secret was re-encrypted too
    for result in (during, after):  # one person, one ledger throughout: their proposal is theirs
        assert result.structured_content["status"] == "ok", result
        assert result.structured_content["proposal_id"] == proposal_id
