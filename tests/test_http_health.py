"""`/healthz` and `/readyz` on the served app, in static-token and OAuth modes: unauthenticated,
whatever Host a load balancer sends, tiny bodies, 503 when storage is down; request ids."""

import shutil

import anyio
import httpx
import pytest
from pydantic import SecretStr

from server.app import build_server
from server.health import READY_CACHE_S
from server.http import http_app
from server.oauth import OAuthConfig, build_oauth
from server.oauth.keycheck import KeyVerdict
from server.runtime import Runtime
from server.settings import Settings
from support import FakeClock
from tools.ledger import LedgerUnavailable

pytestmark = pytest.mark.asyncio
TOKEN = "health-bearer-9b8a7c6d"
PROBE_HOST = "10.0.3.7:8000"  # what a load balancer's probe sends: the replica's own address


def _client(app) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=f"http://{PROBE_HOST}")


@pytest.fixture
def clock():
    return FakeClock()


def _static_app(tmp_path, clock, *checks):
    settings = Settings(state_dir=tmp_path / "state", http_token=SecretStr(TOKEN))
    runtime = Runtime(settings)
    mcp = build_server(settings, runtime)
    checks = checks or (runtime.check_ledger,)
    return http_app(mcp, host="0.0.0.0", token=TOKEN, checks=checks, clock=clock.now)


@pytest.fixture
def static_app(tmp_path, clock):
    return _static_app(tmp_path, clock)


async def _accept_all(_key: str) -> KeyVerdict:
    raise AssertionError("no key is checked by a probe")


def _oauth_app(tmp_path, *extra_checks):
    settings = Settings(state_dir=tmp_path / "state")
    config = OAuthConfig(public_url="https://optimise.example.com", secret=SecretStr("s" * 40))
    oauth = build_oauth(config, settings.ledger_path(), settings.base_url, _accept_all)
    runtime = Runtime(settings, tenants=oauth.tenants)
    mcp = build_server(settings, runtime, oauth=oauth)
    checks = [runtime.check_ledger, oauth.store.check, *extra_checks]
    return http_app(mcp, host="0.0.0.0", token=None, oauth=oauth, checks=checks)


async def test_probes_answer_without_a_token_and_mcp_still_needs_one(static_app):
    async with _client(static_app) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        head = await http.head("/readyz")
        mcp = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        posted = await http.post("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    assert (head.status_code, head.content) == (200, b"")
    assert ready.headers["cache-control"] == "no-store"
    assert mcp.status_code == 401
    assert posted.status_code == 405


async def test_readyz_is_503_when_the_state_directory_is_gone(static_app, tmp_path, clock):
    async with _client(static_app) as http:
        assert (await http.get("/readyz")).status_code == 200
        shutil.rmtree(tmp_path / "state")
        cached = await http.get("/readyz")
        clock.t += READY_CACHE_S
        down = await http.get("/readyz")
        alive = await http.get("/healthz")
    assert cached.status_code == 200, "the last answer is reused for READY_CACHE_S"
    assert (down.status_code, down.json()) == (503, {"status": "unavailable"})
    assert str(tmp_path) not in down.text
    assert alive.status_code == 200


async def test_oauth_mode_probes_skip_auth_and_the_host_check(tmp_path):
    async with _client(_oauth_app(tmp_path)) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        mcp = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert (health.status_code, ready.status_code) == (200, 200)
    assert mcp.status_code == 401


async def test_oauth_mode_readyz_is_503_when_a_store_check_fails(tmp_path):
    async def oauth_store_down() -> None:
        raise LedgerUnavailable(RuntimeError("connection refused by db.internal:5432"))

    async with _client(_oauth_app(tmp_path, oauth_store_down)) as http:
        down = await http.get("/readyz")
    assert (down.status_code, down.json()) == (503, {"status": "unavailable"})
    assert "5432" not in down.text


async def test_a_flood_of_readyz_probes_runs_one_store_check_per_cache_period(tmp_path, clock):
    checks: list[float] = []
    release = anyio.Event()
    down = False

    async def store_check() -> None:
        checks.append(clock.now())
        await release.wait()
        if down:
            raise LedgerUnavailable(RuntimeError("pool exhausted"))

    async with _client(_static_app(tmp_path, clock, store_check)) as http:
        codes: list[int] = []

        async def probe() -> None:
            codes.append((await http.get("/readyz")).status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(probe)
            await anyio.wait_all_tasks_blocked()
            assert len(checks) == 1, "the probes wait on the check in flight"
            release.set()
        assert (codes, len(checks)) == ([200] * 50, 1)
        clock.t += READY_CACHE_S / 2
        down = True
        assert (await http.get("/readyz")).status_code == 200
        assert len(checks) == 1, "answered from the cache"
        clock.t += READY_CACHE_S / 2
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/readyz")).status_code == 503
    assert len(checks) == 2, "a new check once the cached answer is READY_CACHE_S old"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("lb-7f3a.42:x_y-z", True),
        ("", False),
        ("x" * 129, False),
        ("a b", False),
        ("id\r\nSet-Cookie: x", False),
        ("é".encode(), False),
    ],
)
async def test_request_ids_are_taken_when_sane_and_made_otherwise(static_app, given, kept):
    async with _client(static_app) as http:
        headers = {"X-Request-Id": given} if given else {}
        answer = await http.get("/healthz", headers=headers)
        refused = await http.post("/mcp", json={}, headers=headers)
    returned = answer.headers["x-request-id"]
    assert (returned == given) is kept
    assert answer.headers.get_list("x-request-id") == [returned]
    assert 1 <= len(returned) <= 128 and returned.isascii()
    assert refused.headers["x-request-id"] != "" and refused.status_code == 401
