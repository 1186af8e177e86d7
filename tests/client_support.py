"""Helpers for the Cekura client's respx tests: a fake clock on simulated time, a sleep that must
never happen, and reading back the one request a route received."""

import json
from typing import Any

import httpx
import respx


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


async def no_sleep(seconds: float) -> None:
    raise AssertionError(f"no request in this file should wait ({seconds}s)")


def only_request(route: respx.Route) -> httpx.Request:
    assert route.call_count == 1
    return route.calls.last.request


def sent_json(request: httpx.Request) -> Any:
    assert request.headers["Content-Type"] == "application/json"
    return json.loads(request.content)
