"""OAuth mode's parts on their own: settings and refusals, keys and hashes, buckets, redirect-URI
rules, key checks and per-tenant workflows (the store has its own tests)."""

import subprocess
import sys

import httpx
import pytest
from e2e import ROOT
from mcp.server.auth.provider import AccessToken, RegistrationError
from pydantic import SecretStr

from sandbox import SandboxState, start_background
from server.cli import main
from server.oauth import OAuthConfig, build_oauth
from server.oauth.config import check_public_url
from server.oauth.crypto import DecryptError, Keyring, digest, new_token
from server.oauth.keycheck import cekura_key_checker, normalise_key
from server.oauth.ratelimit import TokenBuckets
from server.oauth.registration import check_redirect_uri
from server.oauth.tenancy import TenantKeyError, TenantKeys
from server.runtime import Runtime
from server.settings import Settings, SettingsError
from tools.errors import WorkflowError
from tools.ledger.oauth import Code, Grant
from tools.ledger.sqlite_oauth import OAuthStore

SECRET = "unit-secret-0123456789abcdef0123456789"


# settings and refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://optimise.example.com", "https://optimise.example.com"),
        ("https://Optimise.Example.com/", "https://optimise.example.com"),
        ("https://optimise.example.com:443", "https://optimise.example.com"),
        ("https://optimise.example.com:8443", "https://optimise.example.com:8443"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_public_urls_we_accept(given, expected):
    assert check_public_url(given) == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("", "--public-url"),
        ("http://optimise.example.com", "https://"),
        ("http://10.0.0.5:8000", "https://"),
        ("ftp://optimise.example.com", "https://"),
        ("https://optimise.example.com/mcp", "no path"),
        ("https://optimise.example.com/?a=1", "query"),
        ("https://user:pw@optimise.example.com", "credentials"),
    ],
)
def test_public_urls_we_refuse(given, words):
    with pytest.raises(SettingsError, match=words):
        check_public_url(given)


def test_the_secret_is_required_and_long_enough():
    with pytest.raises(SettingsError, match="CEKURA_OPTIMISE_SECRET"):
        OAuthConfig.from_env("https://o.example.com", env={})
    with pytest.raises(SettingsError, match="at least 32"):
        OAuthConfig.from_env("https://o.example.com", env={"CEKURA_OPTIMISE_SECRET": "short"})
    env = {
        "CEKURA_OPTIMISE_SECRET": SECRET,
        "CEKURA_OPTIMISE_OAUTH_ACCESS_TTL": "60",
        "CEKURA_OPTIMISE_OAUTH_RATE_LIMIT": "5",
    }
    config = OAuthConfig.from_env(None, env={**env, "CEKURA_OPTIMISE_PUBLIC_URL": "https://o.ex"})
    assert config.resource_url == "https://o.ex/mcp"
    assert (config.access_ttl_s, config.rate_limit_per_minute) == (60, 5)
    assert SECRET not in repr(config)
    with pytest.raises(SettingsError, match="CEKURA_OPTIMISE_OAUTH_CODE_TTL"):
        OAuthConfig.from_env("https://o.ex", env={**env, "CEKURA_OPTIMISE_OAUTH_CODE_TTL": "0"})


def test_serve_refuses_to_start_without_the_secret(tmp_path):
    env = {"PATH": "", "HOME": str(tmp_path), "CEKURA_OPTIMISE_STATE_DIR": str(tmp_path)}
    args = ["--transport", "http", "--oauth", "--public-url", "https://optimise.example.com"]
    proc = subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "CEKURA_OPTIMISE_SECRET" in proc.stderr and "openssl rand -hex 32" in proc.stderr
    assert not (tmp_path / "ledger.sqlite3").exists()


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["--oauth", "--public-url", "https://o.example.com"], {}, "--transport http"),
        (["--transport", "http", "--public-url", "https://o.example.com"], {}, "only with --oauth"),
        (
            ["--transport", "http", "--oauth", "--public-url", "https://o.example.com"],
            {"CEKURA_OPTIMISE_HTTP_TOKEN": "t"},
            "do not mix",
        ),
        (
            ["--transport", "http", "--oauth", "--sandbox", "--public-url", "https://o.ex"],
            {},
            "cekura-optimise sandbox",
        ),
        (["--transport", "http", "--oauth", "--public-url", "http://o.example.com"], {}, "https"),
        (["--transport", "http", "--oauth"], {}, "--public-url"),
    ],
)
def test_serve_refusals_exit_2_with_one_clear_line(args, env, words, monkeypatch, capsys, tmp_path):
    for name in ("CEKURA_OPTIMISE_HTTP_TOKEN", "CEKURA_OPTIMISE_PUBLIC_URL", "CEKURA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CEKURA_OPTIMISE_SECRET", SECRET)
    monkeypatch.setenv("CEKURA_OPTIMISE_STATE_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and SECRET not in err


# keys and hashes ------------------------------------------------------------------------------


def test_keyring_encrypts_detects_tampering_and_names_tenants():
    ring = Keyring(SECRET)
    sealed = ring.encrypt("ck_live_abc")
    assert "ck_live_abc" not in sealed and ring.decrypt(sealed) == "ck_live_abc"
    tampered = sealed[:30] + ("A" if sealed[30] != "A" else "B") + sealed[31:]
    with pytest.raises(DecryptError):
        ring.decrypt(tampered)
    with pytest.raises(DecryptError):
        Keyring(SECRET + "-rotated").decrypt(sealed)
    with pytest.raises(DecryptError):
        ring.decrypt("not a fernet token")
    assert ring.tenant_id("ck_a") == Keyring(SECRET).tenant_id("ck_a")
    assert ring.tenant_id("ck_a") != ring.tenant_id("ck_b")
    assert ring.tenant_id("ck_a") != Keyring(SECRET + "x").tenant_id("ck_a")
    assert "ck_a" not in ring.tenant_id("ck_a") and len(ring.tenant_id("ck_a")) == 24
    assert SECRET not in repr(ring)


def test_csrf_tokens_fit_one_request_and_one_browser():
    ring = Keyring(SECRET)
    token = ring.csrf_token("req-1", "nonce-1")
    assert ring.csrf_ok(token, "req-1", "nonce-1")
    assert not ring.csrf_ok(token, "req-2", "nonce-1")
    assert not ring.csrf_ok(token, "req-1", "nonce-2")
    assert not ring.csrf_ok("", "req-1", "nonce-1")
    assert not ring.csrf_ok(token, "req-1", "")


def test_tokens_are_random_and_stored_as_sha256():
    a, b = new_token("coa_"), new_token("coa_")
    assert a != b and a.startswith("coa_") and len(a) > 40
    assert len(digest(a)) == 64 and a not in digest(a)


# rate limit -----------------------------------------------------------------------------------


def test_token_buckets_refuse_then_refill():
    now = [0.0]
    buckets = TokenBuckets(3, clock=lambda: now[0])
    key = ("token", "10.0.0.1")
    assert [buckets.take(key) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take(key)
    assert 19 < wait <= 20  # one request per 20 s at 3 per minute
    assert buckets.take(("token", "10.0.0.2")) == 0.0  # other addresses are unaffected
    assert buckets.take(("consent", "10.0.0.1")) == 0.0  # and other endpoint groups
    now[0] += 20
    assert buckets.take(key) == 0.0
    assert buckets.take(key) > 0


# redirect URIs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "https://claude.ai/api/mcp/auth_callback",
        "http://localhost:53682/callback",
        "http://127.0.0.1:9000/cb",
        "cursor://anysphere.cursor-retrieval/oauth/callback",
    ],
)
def test_redirect_uris_we_register(uri):
    check_redirect_uri(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "http://claude.ai/callback",
        "http://192.168.1.5/cb",
        "javascript:alert(1)",
        "data:text/html,hi",
        "https://ok.example/cb#fragment",
        "https:///no-host",
        "https://ok.example/" + "x" * 2100,
    ],
)
def test_redirect_uris_we_refuse(uri):
    with pytest.raises(RegistrationError):
        check_redirect_uri(uri)


# key check ------------------------------------------------------------------------------------


def test_pasted_keys_are_trimmed_and_checked_for_shape():
    assert normalise_key("  ck_live_1  \n") == ("ck_live_1", None)
    assert normalise_key("")[1].outcome == "invalid"
    assert normalise_key("ck live")[1].outcome == "invalid"
    assert normalise_key("x" * 600)[1].outcome == "invalid"


@pytest.mark.parametrize(
    ("status", "outcome"), [(200, "ok"), (401, "rejected"), (403, "rejected"), (404, "unavailable")]
)
@pytest.mark.asyncio
async def test_the_key_check_is_one_get_and_says_whose_move_it_is(status, outcome):
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=[] if status == 200 else {"detail": "no"})

    check = cekura_key_checker("https://api.cekura.test", transport=httpx.MockTransport(answer))
    verdict = await check("ck_live_check_1")
    assert verdict.outcome == outcome
    assert "ck_live_check_1" not in verdict.message
    assert [(r.method, r.url.path) for r in seen] == [("GET", "/test_framework/v2/metrics/")]
    assert seen[0].headers["x-cekura-api-key"] == "ck_live_check_1"


# tenants --------------------------------------------------------------------------------------


def _token(subject: str | None) -> AccessToken:
    return AccessToken(token="t", client_id="c", scopes=["optimise"], subject=subject)


@pytest.mark.asyncio
async def test_the_runtime_keeps_one_workflow_per_tenant(tmp_path):
    state = SandboxState.seeded(api_keys=["ck_one", "ck_two"])
    with start_background(state) as sandbox:
        settings = Settings(base_url=sandbox.url, state_dir=tmp_path, api_key="ck_shared")
        config = OAuthConfig(public_url="http://127.0.0.1:1", secret=SecretStr(SECRET))
        oauth = build_oauth(config, settings.ledger_path(), settings.base_url)
        ring = Keyring(SECRET)
        for grant_id, key in (("g-one", "ck_one"), ("g-two", "ck_two"), ("g-one-again", "ck_one")):
            await oauth.store.add_grant_with_code(
                Grant(grant_id, "c", ring.encrypt(key), ["optimise"], 0.0),
                digest(grant_id),
                Code(grant_id, "c", "http://127.0.0.1/cb", "c" * 43, ["optimise"], 9e9, None),
            )
        runtime = Runtime(settings, tenants=oauth.tenants)
        one = await runtime.workflow(_token("g-one"))
        two = await runtime.workflow(_token("g-two"))
        assert one is not two and await runtime.workflow(_token("g-one-again")) is one
        # one ledger for everyone, seen per tenant: a run one of them started is theirs alone
        assert one.ledger.path == two.ledger.path == settings.ledger_path()
        assert not (tmp_path / "tenants").exists()
        await one.ledger.claim_run(5, "fp", "x", None, None, now=1.0)
        assert await one.ledger.inflight_run(5) is not None
        assert await two.ledger.inflight_run(5) is None
        assert (await one.client.list_metrics()) and (await two.client.list_metrics())
        with pytest.raises(WorkflowError, match="no OAuth access token"):
            await runtime.workflow(None)  # never falls back to the server's own key
        with pytest.raises(TenantKeyError, match="revoked"):
            await runtime.workflow(_token("g-gone"))
        with pytest.raises(TenantKeyError, match="revoked"):
            await runtime.workflow(_token(None))
        await runtime.aclose()
    assert runtime.multi_tenant and not Runtime(settings).multi_tenant


@pytest.mark.asyncio
async def test_tenant_keys_read_the_grant_off_the_event_loop(tmp_path):
    store = OAuthStore(tmp_path / "ledger.sqlite3")
    ring = Keyring(SECRET)
    for grant_id, key_enc in (("g-one", ring.encrypt("ck_one")), ("g-bad", "not-a-ciphertext")):
        await store.add_grant_with_code(
            Grant(grant_id, "c", key_enc, ["optimise"], 0.0),
            digest(grant_id),
            Code(grant_id, "c", "http://127.0.0.1/cb", "c" * 43, ["optimise"], 9e9, None),
        )
    tenants = TenantKeys(store, ring)
    tenant = await tenants.tenant(_token("g-one"))
    assert tenant.id == ring.tenant_id("ck_one")
    assert tenant.api_key.get_secret_value() == "ck_one"
    for subject, words in (("g-gone", "revoked"), (None, "revoked"), ("g-bad", "decrypted")):
        with pytest.raises(TenantKeyError, match=words):
            await tenants.tenant(_token(subject))
