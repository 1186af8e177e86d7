"""Serve the sandbox over real HTTP with uvicorn: blocking (`serve`) or in a thread for tests."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn

from sandbox.app import build_app
from sandbox.jobs import ProgressShape, as_progress_shape
from sandbox.middleware import ConnectionDropped
from sandbox.state import SandboxState


class _HideInjectedDrops(logging.Filter):
    """Keep uvicorn from logging a traceback for each connection the fault plan drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def _prepare(
    state: SandboxState, host: str, port: int, log_level: str
) -> tuple[uvicorn.Server, socket.socket, str]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    config = uvicorn.Config(
        build_app(state),
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    error_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideInjectedDrops) for f in error_log.filters):
        error_log.addFilter(_HideInjectedDrops())
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    return uvicorn.Server(config), sock, f"http://{shown}:{bound}"


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    state: SandboxState | None = None,
    *,
    faults: str = "",
    progress_shape: ProgressShape | None = None,
    log_level: str = "warning",
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted; `on_ready` receives the bound URL (useful with port 0).

    `faults` is a spec string (see `sandbox.faults`; a bad one raises FaultSpecError, a ValueError)
    added to the state's plan; `progress_shape` overrides the state's.
    """
    state = state or SandboxState.seeded()
    state.faults.add_spec(faults)
    if progress_shape is not None:
        state.progress_shape = as_progress_shape(progress_shape)
    server, sock, url = _prepare(state, host, port, log_level)
    if on_ready is not None:
        on_ready(url)
    server.run(sockets=[sock])


class BackgroundServer:
    """A sandbox served from a daemon thread; use as a context manager or call `stop()`."""

    def __init__(
        self, server: uvicorn.Server, thread: threading.Thread, url: str, state: SandboxState
    ) -> None:
        self.url = url
        self.state = state
        self._server = server
        self._thread = thread

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_background(
    state: SandboxState | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    startup_timeout: float = 5.0,
) -> BackgroundServer:
    """Start serving in a thread and return once it accepts connections (port 0: a free port)."""
    state = state or SandboxState.seeded()
    server, sock, url = _prepare(state, host, port, log_level)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="cekura-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the sandbox did not start serving on {url}")
        time.sleep(0.005)
    return BackgroundServer(server, thread, url, state)
