"""The sandbox on loopback HTTP: a free port, the key check, faults a socket client really sees."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openapi_schemas import response_errors
from sandbox import BackgroundServer, Fault, SandboxState, start_background

KEY = {"X-CEKURA-API-KEY": "loopback-key"}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server() -> Iterator[BackgroundServer]:
    with start_background(SandboxState.seeded(), port=0) as running:
        yield running


def test_serves_on_a_free_loopback_port_with_the_key_check(server: BackgroundServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)
    assert not server.url.endswith(":0")
    with httpx.Client(base_url=server.url, timeout=5) as client:
        ok = client.get("/test_framework/v2/metrics/101/", headers=KEY)
        anonymous = client.get("/test_framework/v2/metrics/101/")
    assert ok.status_code == 200
    assert response_errors("GET", "/test_framework/v2/metrics/{id}/", 200, ok.json()) == []
    assert (anonymous.status_code, anonymous.json()) == (
        401,
        {"detail": "Authentication credentials were not provided."},
    )
    assert server.state.count("metric_get", metric_id=101) == 2


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def uvicorn_errors() -> Iterator[list[logging.LogRecord]]:
    """What uvicorn logs as errors (its loggers do not propagate to root, so caplog misses them)."""
    handler = _Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def test_a_dropped_connection_is_a_protocol_error_and_the_server_lives_on(
    server: BackgroundServer, uvicorn_errors: list[logging.LogRecord]
) -> None:
    server.state.faults.add(Fault(route="metric_patch", kind="drop_after"))
    server.state.faults.add(Fault(route="metric_get", kind="drop"))
    with httpx.Client(base_url=server.url, headers=KEY, timeout=5) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.patch("/test_framework/v2/metrics/101/", json={"description": "changed"})
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/test_framework/v2/metrics/101/")
        after = client.get("/test_framework/v2/metrics/101/")
    assert after.status_code == 200
    assert after.json()["description"] == "changed", "drop_after: the write took effect"
    assert [r.getMessage() for r in uvicorn_errors if r.levelno >= logging.ERROR] == []


def test_throttling_and_truncation_over_a_socket(server: BackgroundServer) -> None:
    server.state.faults.add(Fault(route="metrics_list", kind="429", retry_after=2))
    server.state.faults.add(Fault(route="metrics_list", kind="truncated"))
    with httpx.Client(base_url=server.url, headers=KEY, timeout=5) as client:
        throttled = client.get("/test_framework/v2/metrics/")
        cut = client.get("/test_framework/v2/metrics/")
        whole = client.get("/test_framework/v2/metrics/")
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "2")
    assert cut.status_code == 200 and len(cut.content) < len(whole.content)
    assert len(whole.json()) == 11


@pytest.mark.e2e
def test_python_dash_m_sandbox_serves_with_cli_faults() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--faults", "503@metric_get"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, line
        with httpx.Client(base_url=match.group(0), headers=KEY, timeout=5) as client:
            failed = client.get("/test_framework/v2/metrics/102/")
            served = client.get("/test_framework/v2/metrics/102/")
        assert (failed.status_code, served.status_code) == (503, 200)
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_start_background_stops_cleanly() -> None:
    running = start_background(port=0)
    url = running.url
    running.stop()
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=1) as client:
        client.get(f"{url}/test_framework/v2/metrics/", headers=KEY)
