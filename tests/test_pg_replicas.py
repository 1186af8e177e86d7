"""Two server processes on one PostgreSQL database act as one server: an OAuth grant made on one
works on the other, refresh rotation and revocation hold across them, two replicas racing on a
metric start one run and write once, and a replica killed after its write is settled by the other
once the write's lease runs out."""

import os
import shutil
import signal
import subprocess
import time

import anyio
import httpx
import httpx2
import psycopg
import pytest
from e2e import API_KEY, OAuthUser, free_port, http_process, http_server, oauth_env, server_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from sandbox import Fault, SandboxState, start_background

pytestmark = pytest.mark.anyio

KEY = "ck_replicas_person_6d1e"
TOKEN = "e2e-bearer-pg-replicas-52af"
LEASE_S = 4.0


class Balancer(httpx.AsyncBaseTransport):
    """The proxy in front of the replicas: requests to the public port go to the replica chosen
    by `target` (the Host header still names the public address, as a proxy keeps it)."""

    def __init__(self, public_port: int, ports: dict[str, int]) -> None:
        self.public_port = public_port
        self.ports = ports
        self.target = next(iter(ports))
        self.sent: list[tuple[str, str]] = []
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.port == self.public_port:
            self.sent.append((self.target, request.url.path))
            request.url = request.url.copy_with(port=self.ports[self.target])
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def outcome(url: str, tool: str, arguments: dict, token: str = TOKEN):
    """One tool call's whole result (errors included) on one replica, with a bearer token."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        return await client.call_tool(tool, arguments)


async def call(url: str, token: str, tool: str, arguments: dict) -> dict:
    """One successful tool call on one replica: its structured result."""
    result = await outcome(url, tool, arguments, token)
    assert not result.is_error, result
    return result.structured_content


async def mcp_status(url: str, token: str) -> int:
    """The HTTP status one replica answers a bearer-carrying MCP request with."""
    async with httpx.AsyncClient(timeout=20) as http:
        response = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, text/event-stream",
            },
        )
    return response.status_code


async def test_an_oauth_grant_made_on_one_replica_holds_on_the_other(tmp_path, pg_database):
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY])
    public_port = free_port()
    public = f"http://127.0.0.1:{public_port}"
    args = ("--oauth", "--public-url", public)
    extra = {
        "CEKURA_OPTIMISE_DATABASE_URL": pg_database,
        "CEKURA_OPTIMISE_OAUTH_RATE_LIMIT": "1000",
    }
    with start_background(state) as sandbox:
        env_a = oauth_env(sandbox.url, tmp_path / "a", **extra)
        env_b = oauth_env(sandbox.url, tmp_path / "b", **extra)
        with (
            http_process(env_a, *args, stderr_path=tmp_path / "a.log") as (_, a),
            http_process(env_b, *args, stderr_path=tmp_path / "b.log") as (_, b),
        ):
            ports = {"a": httpx.URL(a).port, "b": httpx.URL(b).port}
            balancer = Balancer(public_port, ports)
            async with httpx.AsyncClient(transport=balancer, timeout=20) as http:
                user = OAuthUser(http, public)
                first = await user.sign_in(KEY)  # the whole dance on replica A

                on_b = await call(b, first["access_token"], "optimise_metric", {"metric_id": 101})
                assert on_b["status"] == "proposed"

                balancer.target = "b"
                refreshed = await user.refresh(first["refresh_token"])
                assert refreshed.status_code == 200, refreshed.text
                rotated = refreshed.json()
                assert await mcp_status(a, first["access_token"]) == 401
                again = await call(
                    a, rotated["access_token"], "optimise_metric", {"metric_id": 101}
                )
                assert again["status"] == "no_new_feedback"

                balancer.target = "a"
                replayed = await user.refresh(first["refresh_token"])
                assert replayed.status_code == 400
                assert replayed.json()["error"] == "invalid_grant"
                # the replay on A ended the grant: B refuses the tokens B issued
                assert await mcp_status(b, rotated["access_token"]) == 401

                second = await user.sign_in(KEY)  # a new grant, made on A again
                assert await mcp_status(b, second["access_token"]) == 200
                revoked = await user.revoke(second["refresh_token"])
                assert revoked.status_code == 200
                balancer.target = "b"
                assert await mcp_status(b, second["access_token"]) == 401
                refused = await user.refresh(second["refresh_token"])
                assert refused.status_code == 400
    token_path = httpx.URL(user.meta["token_endpoint"]).path
    assert [where for where, path in balancer.sent if path == token_path] == [
        "a",
        "b",
        "a",
        "a",
        "b",
    ]
    assert ("a", "/oauth/consent") in balancer.sent and ("b", "/oauth/consent") not in balancer.sent
    assert state.count("process_feedbacks", metric_id=101) == 1


def static_env(sandbox_url: str, state_dir, database_url: str, **extra: str) -> dict[str, str]:
    """A static-token replica's environment: the shared key and token, the shared database."""
    return server_env(
        sandbox_url,
        state_dir,
        CEKURA_OPTIMISE_HTTP_TOKEN=TOKEN,
        CEKURA_OPTIMISE_DATABASE_URL=database_url,
        **extra,
    )


async def test_two_replicas_racing_on_a_metric_start_one_run_and_write_once(tmp_path, pg_database):
    state = SandboxState.seeded(optimiser_seconds=1.5, run_reviews_polls=0, api_keys=[API_KEY])
    with start_background(state) as sandbox:
        env = static_env(sandbox.url, tmp_path, pg_database)
        with http_server(env) as a, http_server(env) as b:
            optimised, applied = {}, {}

            async def race(url, tool, out):
                out[url] = await call(url, TOKEN, tool, {"metric_id": 101})

            async with anyio.create_task_group() as tg:
                tg.start_soon(race, a, "optimise_metric", optimised)
                tg.start_soon(race, b, "optimise_metric", optimised)
            async with anyio.create_task_group() as tg:
                tg.start_soon(race, a, "apply_if_not_regressed", applied)
                tg.start_soon(race, b, "apply_if_not_regressed", applied)
    assert state.count("process_feedbacks") == 1
    assert optimised[a]["proposal_id"] == optimised[b]["proposal_id"]
    assert sorted(r["status"] for r in applied.values()) == ["already_applied", "applied"]
    assert state.count("metric_patch") == 1
    with psycopg.connect(pg_database) as conn:
        runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        applies = conn.execute("SELECT status FROM applies").fetchall()
    assert runs == 1 and applies == [("applied",)]


def elsewhere(name: str) -> list[str]:
    """A command prefix that runs a replica under its own host name (a UTS namespace), so the
    other replica judges its holds by their lease alone, as it would across machines."""
    namespace = ["unshare", "--uts"] if os.geteuid() == 0 else ["unshare", "-r", "--uts"]
    prefix = [*namespace, "sh", "-c", 'hostname "$0" && exec "$@"', name]
    if shutil.which("unshare") is None or subprocess.run([*prefix, "true"]).returncode != 0:
        pytest.skip("needs `unshare --uts` (util-linux) to give a replica another host name")
    return prefix


async def test_a_replica_killed_after_its_write_is_settled_by_the_other_once_its_lease_ends(
    tmp_path, pg_database
):
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[API_KEY])
    prefix = elsewhere("replica-a.invalid")
    with start_background(state) as sandbox:
        env = static_env(
            sandbox.url, tmp_path, pg_database, CEKURA_OPTIMISE_WRITE_LEASE_S=str(LEASE_S)
        )
        with http_process(env, prefix=prefix) as (a_proc, a), http_server(env) as b:
            proposal = await call(b, TOKEN, "optimise_metric", {"metric_id": 101})
            # A's re-score request (the first request after its PATCH) hangs: A is mid-apply
            state.faults.add(Fault(route="run_reviews", kind="latency", delay_s=30, times=1))
            async with anyio.create_task_group() as tg:
                tg.start_soon(outcome, a, "apply_if_not_regressed", {"metric_id": 101})
                while not state.count("run_reviews"):
                    await anyio.sleep(0.02)
                written_at = time.monotonic()
                a_proc.send_signal(signal.SIGKILL)
                a_proc.wait()
                tg.cancel_scope.cancel()
            with psycopg.connect(pg_database) as conn:
                (left,) = conn.execute("SELECT owner, status FROM applies").fetchall()
            blocked = await outcome(b, "revert_metric", {"metric_id": 101})
            settled = await call(b, TOKEN, "apply_if_not_regressed", {"metric_id": 101})
            waited = time.monotonic() - written_at
    assert state.count("metric_patch", effective=True) == 1
    assert left[0].startswith("replica-a.invalid:") and left[1] == "applying"
    assert blocked.is_error and "Another call is writing metric 101" in str(blocked.content)
    assert settled["status"] == "applied_unverified"
    assert settled["proposal_id"] == proposal["proposal_id"]
    assert "stopped after writing" in settled["summary"]
    assert LEASE_S - 0.5 <= waited < LEASE_S + 5
    assert state.count("metric_patch") == 1
