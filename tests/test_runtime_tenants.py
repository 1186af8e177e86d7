"""OAuth mode keeps a bounded set of per-person clients: at most the configured number stay open,
an idle person's client is closed after the timeout, and a call in progress keeps its client."""

import ssl

import httpx
import pytest
from mcp.server.auth.provider import AccessToken
from pydantic import SecretStr

from sandbox import SandboxState, start_background
from server.oauth import OAuthConfig, build_oauth
from server.oauth.crypto import Keyring, digest
from server.oauth.store import Code, Grant
from server.runtime import Runtime
from server.settings import Settings, SettingsError
from support import FakeClock

pytestmark = pytest.mark.anyio
SECRET = "tenant-pool-secret-0123456789abcdef012345"
PEOPLE = 500
MAX_OPEN = 8
IDLE_S = 60.0


def _key(n: int) -> str:
    return f"ck_person_{n:04d}"


def _token(n: int) -> AccessToken:
    return AccessToken(token="t", client_id="c", scopes=["optimise"], subject=f"grant-{n}")


@pytest.fixture(autouse=True)
def one_ca_bundle(monkeypatch):
    """Every new httpx client loads the CA bundle (about 25 ms); here the 500 share one load."""
    context = ssl.create_default_context()
    monkeypatch.setattr(httpx._transports.default, "create_ssl_context", lambda **_: context)


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.seeded(api_keys=[_key(n) for n in range(PEOPLE)])
    with start_background(state) as server:
        yield server


@pytest.fixture(scope="module")
def tenants(sandbox, tmp_path_factory):
    """The OAuth store with one signed-in person per key, and how calls resolve to them."""
    config = OAuthConfig(public_url="http://127.0.0.1:1", secret=SecretStr(SECRET))
    oauth = build_oauth(config, tmp_path_factory.mktemp("oauth") / "ledger.sqlite3", sandbox.url)
    ring = Keyring(SECRET)
    for n in range(PEOPLE):
        grant = f"grant-{n}"
        oauth.store.add_grant_with_code(
            Grant(grant, "c", ring.encrypt(_key(n)), ["optimise"], 0.0),
            digest(grant),
            Code(grant, "c", "http://127.0.0.1/cb", "c" * 43, ["optimise"], 9e9, None),
        )
    return oauth.tenants


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
async def runtime(sandbox, tenants, tmp_path, clock):
    settings = Settings(
        base_url=sandbox.url, state_dir=tmp_path, tenant_clients=MAX_OPEN, tenant_idle_s=IDLE_S
    )
    live = Runtime(settings, tenants=tenants, clock=clock)
    yield live
    await live.aclose()


async def _call(runtime: Runtime, person: int):
    """One tool call's worth: the person's Workflow reads Cekura with their key."""
    async with runtime.using(_token(person)) as workflow:
        assert await workflow.client.list_metrics()
        return workflow.client


def _closed(client) -> bool:
    """Whether the client's HTTP connection pool has been closed."""
    return client._http.is_closed


def _open(clients) -> list:
    return [c for c in clients if not _closed(c)]


async def test_500_people_connecting_once_leave_at_most_the_configured_open_clients(runtime):
    clients = []
    for person in range(PEOPLE):
        clients.append(await _call(runtime, person))
        assert len(_open(clients)) <= MAX_OPEN
    assert len(set(map(id, clients))) == PEOPLE
    assert _open(clients) == clients[-MAX_OPEN:]


async def test_an_idle_persons_client_is_closed_and_a_returning_one_gets_a_working_client(
    runtime, clock
):
    first = await _call(runtime, 0)
    clock.t += IDLE_S - 1
    other = await _call(runtime, 1)
    assert _open([first, other]) == [first, other]

    clock.t += 2
    await _call(runtime, 2)
    assert _closed(first) and not _closed(other)

    again = await _call(runtime, 0)
    assert again is not first and not _closed(again)


async def test_a_call_in_progress_keeps_its_client_until_it_ends(runtime, clock):
    async with runtime.using(_token(0)) as busy:
        clock.t += 10 * IDLE_S
        others = [await _call(runtime, person) for person in range(1, 3 * MAX_OPEN)]
        assert not _closed(busy.client)
        assert await busy.client.list_metrics()
        assert len(_open([busy.client, *others])) == MAX_OPEN
    clock.t += IDLE_S
    await _call(runtime, 99)
    assert _closed(busy.client)


def test_the_bounds_are_settings_with_defaults():
    defaults = Settings.from_env(env={})
    assert (defaults.tenant_clients, defaults.tenant_idle_s) == (100, 600.0)
    env = {"CEKURA_OPTIMISE_TENANT_CLIENTS": "5", "CEKURA_OPTIMISE_TENANT_IDLE_S": "30"}
    assert Settings.from_env(env=env).tenant_clients == 5
    assert Settings.from_env(env=env).tenant_idle_s == 30.0
    with pytest.raises(SettingsError, match="CEKURA_OPTIMISE_TENANT_CLIENTS"):
        Settings.from_env(env={"CEKURA_OPTIMISE_TENANT_CLIENTS": "0"})
