"""OAuth hardening, part by part: client addresses behind a trusted proxy, the new settings, secret
rotation and the canary, bounded registrations, and a revoked person's key leaving memory."""

import pytest
from mcp.server.auth.provider import AccessToken, RegistrationError
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import SecretStr

from sandbox import SandboxState, start_background
from server.oauth import OAuthConfig, build_oauth
from server.oauth.addresses import address_key, client_address
from server.oauth.canary import CANARY, check_secret
from server.oauth.cimd import cache_seconds
from server.oauth.config import _networks
from server.oauth.crypto import DecryptError, Keyring, digest
from server.oauth.registration import bounded_record
from server.runtime import Runtime
from server.settings import Settings, SettingsError
from tools.ledger.oauth import Code, Grant
from tools.ledger.sqlite_oauth import OAuthStore

OLD = "old-secret-0123456789abcdef0123456789ab"
NEW = "new-secret-0123456789abcdef0123456789cd"
OTHER = "other-secret-0123456789abcdef0123456789"


# client addresses -----------------------------------------------------------------------------


def test_x_forwarded_for_counts_only_from_a_trusted_proxy():
    proxies = _networks("10.0.0.0/8, 127.0.0.1")
    spoofed = ["203.0.113.5, 198.51.100.7"]
    assert client_address("192.0.2.10", spoofed, proxies) == "192.0.2.10"  # a stranger
    assert client_address("192.0.2.10", spoofed, ()) == "192.0.2.10"  # no proxy configured
    assert client_address("127.0.0.1", spoofed, ()) == "127.0.0.1"  # not even from loopback
    # from the proxy: the last hop the proxies did not add themselves
    assert client_address("10.1.2.3", ["203.0.113.5, 198.51.100.7, 10.9.9.9"], proxies) == (
        "198.51.100.7"
    )
    assert client_address("127.0.0.1", [], proxies) == "127.0.0.1"


def test_ipv6_clients_count_by_their_64_block():
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("not-an-address") == "unknown"


# settings -------------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    return {"CEKURA_OPTIMISE_SECRET": NEW, **extra}


def test_new_oauth_settings_are_read_and_checked():
    config = OAuthConfig.from_env(
        "https://o.example.com",
        env=_env(
            CEKURA_OPTIMISE_TRUSTED_PROXIES="10.0.0.0/8,::1",
            CEKURA_OPTIMISE_OAUTH_REDIRECT_HOSTS="Claude.ai, claude.com,localhost",
            CEKURA_OPTIMISE_OAUTH_REGISTRATION="off",
        ),
    )
    assert [str(n) for n in config.trusted_proxies] == ["10.0.0.0/8", "::1/128"]
    assert config.redirect_hosts == {"claude.ai", "claude.com", "localhost"}
    assert not config.registration_open and not config.cimd_allow_loopback
    refusals = [
        ({"CEKURA_OPTIMISE_TRUSTED_PROXIES": "proxy.local"}, "CEKURA_OPTIMISE_TRUSTED_PROXIES"),
        ({"CEKURA_OPTIMISE_OAUTH_REGISTRATION": "closed"}, "open or off"),
        ({"CEKURA_OPTIMISE_OAUTH_CIMD_ALLOW_LOOPBACK": "1"}, "tests and local trials only"),
        ({"CEKURA_OPTIMISE_SECRET": f"{NEW},short"}, "each of `new,previous`"),
    ]
    for extra, words in refusals:
        with pytest.raises(SettingsError, match=words):
            OAuthConfig.from_env("https://o.example.com", env=_env(**extra))
    local = OAuthConfig.from_env(
        "http://127.0.0.1:8000", env=_env(CEKURA_OPTIMISE_OAUTH_CIMD_ALLOW_LOOPBACK="1")
    )
    assert local.cimd_allow_loopback


# rotation and the canary ----------------------------------------------------------------------


def test_a_rotating_keyring_reads_old_ciphertexts_and_rewrites_them_under_the_new_secret():
    sealed = Keyring(OLD).encrypt("ck_key")
    rotating = Keyring.from_setting(f"{NEW},{OLD}")
    text, fresh = rotating.decrypt_fresh(sealed)
    assert text == "ck_key" and fresh is not None
    assert Keyring(NEW).decrypt(fresh) == "ck_key"  # the new secret alone reads the rewrite
    assert rotating.decrypt_fresh(fresh) == ("ck_key", None)  # already current
    with pytest.raises(DecryptError):
        Keyring(NEW).decrypt(sealed)


@pytest.mark.asyncio
async def test_the_canary_refuses_another_secret_and_survives_a_rotation(tmp_path):
    store = OAuthStore(tmp_path / "ledger.sqlite3")
    first = Keyring(OLD)
    await check_secret(store, first, accept_new=False)  # first start: the canary is written
    tenant = first.tenant_id("ck_key")
    assert tenant == Keyring(OLD).tenant_id("ck_key")  # upgrades keep their tenant ids
    with pytest.raises(SettingsError, match="--accept-new-secret") as refused:
        await check_secret(store, Keyring(OTHER), accept_new=False)
    assert "everyone would have to connect and sign in again" in str(refused.value)
    assert "new,previous" in str(refused.value)

    rotating = Keyring.from_setting(f"{NEW},{OLD}")
    await check_secret(store, rotating, accept_new=False)
    assert rotating.tenant_id("ck_key") == tenant  # same tenant, same ledger
    after = Keyring(NEW)  # the previous secret dropped once rotated
    await check_secret(store, after, accept_new=False)
    assert after.tenant_id("ck_key") == tenant
    assert Keyring(NEW).decrypt(await store.setting(CANARY))


@pytest.mark.asyncio
async def test_accepting_a_new_secret_forgets_every_connection(tmp_path):
    store = OAuthStore(tmp_path / "ledger.sqlite3")
    await check_secret(store, Keyring(OLD), accept_new=False)
    await store.add_grant_with_code(
        Grant("g1", "c", Keyring(OLD).encrypt("ck_key"), ["optimise"], 0.0),
        digest("code"),
        Code("g1", "c", "http://127.0.0.1/cb", "c" * 43, ["optimise"], 9e9, None),
    )
    await check_secret(store, Keyring(OTHER), accept_new=True)
    assert await store.grant("g1") is None
    await check_secret(store, Keyring(OTHER), accept_new=False)  # the new secret is now the one


# registrations --------------------------------------------------------------------------------


def _client(**fields) -> OAuthClientInformationFull:
    base = {"client_id": "c1", "redirect_uris": ["https://claude.ai/api/mcp/auth_callback"]}
    return OAuthClientInformationFull.model_validate({**base, **fields})


def test_a_registration_keeps_only_bounded_fields_it_uses():
    big = "x" * 1_000_000
    info = _client(
        jwks={"keys": [{"k": big}]},
        contacts=[big],
        software_id=big,
        software_version=big,
        logo_uri="https://a.example/" + "l" * 5000,
        grant_types=["authorization_code", "refresh_token", big],
        response_types=["code", big],
        client_secret="s3cret",
    )
    record = bounded_record(info)
    assert set(record) <= {
        "client_id",
        "redirect_uris",
        "grant_types",
        "response_types",
        "scope",
        "token_endpoint_auth_method",
        "application_type",
    }
    assert record["grant_types"] == ["authorization_code", "refresh_token"]
    assert info.jwks is None and info.contacts is None  # the echo shows what was kept
    assert info.client_secret == "s3cret"  # the secret is still handed back, never stored
    for fields, words in (
        ({"client_name": big}, "client_name"),
        ({"scope": "s " * 200}, "scope"),
        ({"redirect_uris": ["https://claude.ai/" + "p" * 1900] * 3}, "larger than"),
        ({"redirect_uris": ["https://claude.ai/" + "p" * 2000]}, "too long"),
    ):
        with pytest.raises(RegistrationError, match=words):
            bounded_record(_client(**fields))


def test_the_redirect_host_allow_list_binds_registrations():
    hosts = {"claude.ai", "localhost"}
    bounded_record(_client(), hosts)
    bounded_record(_client(redirect_uris=["http://localhost:33418/callback"]), hosts)
    for uri in (
        "https://claude.ai.attacker.example/api/mcp/auth_callback",
        "https://attacker.example/claude.ai",
        "cursor://anysphere.cursor-retrieval/oauth/callback",
    ):
        with pytest.raises(
            RegistrationError, match=r"sends sign-ins only to claude\.ai, localhost"
        ):
            bounded_record(_client(redirect_uris=[uri]), hosts)


def test_cache_control_sets_how_long_a_document_is_reused():
    assert cache_seconds("max-age=60") == 60
    assert cache_seconds("public, max-age=999999") == 3600  # capped
    assert cache_seconds("no-store") == 0 and cache_seconds("max-age=60, no-cache") == 0
    assert cache_seconds("") == 300 and cache_seconds("max-age=soon") == 300


# a revoked person's key -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_revoking_a_grant_drops_the_persons_open_client_at_once(tmp_path):
    state = SandboxState.seeded(api_keys=["ck_one"])
    with start_background(state) as sandbox:
        settings = Settings(base_url=sandbox.url, state_dir=tmp_path)
        config = OAuthConfig(public_url="http://127.0.0.1:1", secret=SecretStr(NEW))
        oauth = build_oauth(config, settings.ledger_path(), settings.base_url)
        ring = Keyring(NEW)
        for grant_id in ("g-one", "g-two"):
            await oauth.store.add_grant_with_code(
                Grant(grant_id, "c", ring.encrypt("ck_one"), ["optimise"], 0.0),
                digest(grant_id),
                Code(grant_id, "c", "http://127.0.0.1/cb", "c" * 43, ["optimise"], 9e9, None),
            )
        runtime = Runtime(settings, tenants=oauth.tenants)
        token = AccessToken(token="t", client_id="c", scopes=["optimise"], subject="g-one")
        before = await runtime.workflow(token)
        assert await before.client.list_metrics()
        await oauth.provider.revoke_token(token)
        with pytest.raises(RuntimeError, match="closed"):
            await before.client.list_metrics()  # its connections (and key) are gone
        other = AccessToken(token="u", client_id="c", scopes=["optimise"], subject="g-two")
        after = await runtime.workflow(other)  # the same person's other connection still works
        assert after is not before and await after.client.list_metrics()
        await runtime.aclose()
