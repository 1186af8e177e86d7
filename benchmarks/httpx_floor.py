"""The floor under the server's CPU per Cekura request: a bare `httpx.AsyncClient` (one pool, at
most 8 requests in flight, as our client) doing N metric GETs against a sandbox, in its own process;
prints the CPU seconds (user + system) those requests used.

    python -m benchmarks.httpx_floor http://127.0.0.1:PORT 500
"""

from __future__ import annotations

import resource
import sys

import anyio
import httpx

from benchmarks.world import API_KEY, FIRST_ID
from tools.cekura.endpoints import METRIC

IN_FLIGHT = 8


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _requests(base_url: str, n: int) -> float:
    limiter = anyio.CapacityLimiter(IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base_url, headers={"X-CEKURA-API-KEY": API_KEY}) as http:

        async def one() -> None:
            async with limiter:
                (await http.get(METRIC.format(metric=FIRST_ID))).raise_for_status().json()

        await one()  # connect and warm up before counting
        before = _cpu()
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
        return _cpu() - before


def main() -> None:
    print(anyio.run(_requests, sys.argv[1], int(sys.argv[2])))


if __name__ == "__main__":
    main()
