"""Shared set-up for end-to-end tests: the sandbox on loopback and the server as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox import BackgroundServer, SandboxState, start_background

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "e2e-key-7f3a9c1d"
READ_ONLY_PASS = {
    101: "proposed",
    102: "proposed",
    103: "needs_answers",
    104: "proposed",
    105: "unchanged",
    106: "proposed",
}


@contextmanager
def loopback_sandbox() -> Iterator[BackgroundServer]:
    """The seeded sandbox on 127.0.0.1, with runs that finish at the first poll (no waiting)."""
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[API_KEY])
    with start_background(state) as server:
        yield server


def server_env(sandbox_url: str, state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a server subprocess that talks to the loopback sandbox."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(state_dir),
        "CEKURA_API_KEY": API_KEY,
        "CEKURA_BASE_URL": sandbox_url,
        "CEKURA_OPTIMISE_STATE_DIR": str(state_dir),
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def http_server(env: dict[str, str], *args: str) -> Iterator[str]:
    """`python -m server --transport http` on a free loopback port; yields the /mcp URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--transport", "http", "--port", str(port), *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
