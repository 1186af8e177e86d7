"""`/healthz` and `/readyz` of a server process on PostgreSQL as its database goes away and comes
back: the process stays healthy throughout, ready only while the database answers, and ready again
as soon as it is back (once the cached answer has aged), without a restart."""

import time

import anyio
import httpx
import pytest
from e2e import http_server, server_env
from pg import throwaway_cluster

from server.health import READY_CACHE_S

pytestmark = pytest.mark.anyio
READY_AGAIN_S = 10.0


async def probe(http: httpx.AsyncClient, base: str) -> tuple[int, int, float]:
    """(/healthz status, /readyz status, seconds /readyz took)."""
    health = await http.get(f"{base}/healthz")
    started = time.monotonic()
    ready = await http.get(f"{base}/readyz")
    took = time.monotonic() - started
    assert ready.json()["status"] in ("ready", "unavailable") and len(ready.content) < 40
    return health.status_code, ready.status_code, took


async def test_readyz_follows_the_database_down_and_up_again(loopback, tmp_path):
    with throwaway_cluster() as cluster:
        env = server_env(loopback.url, tmp_path, CEKURA_OPTIMISE_DATABASE_URL=cluster.url)
        with http_server(env) as url:
            base = url.removesuffix("/mcp")
            async with httpx.AsyncClient(timeout=20) as http:
                up = await probe(http, base)
                cluster.stop("fast")  # shut down cleanly, as for maintenance
                stopped = time.monotonic()
                down = await probe(http, base)
                while down[1] == 200 and time.monotonic() - stopped < READY_CACHE_S + 1:
                    await anyio.sleep(0.1)  # the last "ready" is reused for READY_CACHE_S
                    down = await probe(http, base)
                cluster.start()
                restarted = time.monotonic()
                back = await probe(http, base)
                while back[1] != 200 and time.monotonic() - restarted < READY_AGAIN_S:
                    await anyio.sleep(0.1)  # the pool reconnects with a backoff
                    back = await probe(http, base)
    assert up[:2] == (200, 200)
    assert down[:2] == (200, 503)
    assert down[2] < 6  # bounded by the probe's 5 s timeout
    assert back[:2] == (200, 200)
