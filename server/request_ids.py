"""Every HTTP request gets an id: the caller's `X-Request-Id` when it is a short plain token, else a
new one. It is set in `server.logs.REQUEST_ID` for the request's logs (and those of the tool call it
carries), returned in the response's `X-Request-Id`, and one line per request logs method, path,
status and time (health probes at debug, so a load balancer's polling does not fill the log).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from server.logs import REQUEST_ID

log = logging.getLogger("cekura_optimise.http")
HEADER = b"x-request-id"
SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
QUIET_PATHS = frozenset({"/healthz", "/readyz"})


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The incoming id if it is 1-128 letters, digits and `._:-`, else a fresh random one."""
    given = dict(headers).get(HEADER, b"").decode("latin-1")
    return given if SANE.fullmatch(given) else uuid.uuid4().hex


class RequestIds:
    """ASGI middleware: an id per HTTP request, in the logs' context and the response header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope.get("headers") or [])
        token = REQUEST_ID.set(rid)
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (HEADER, rid.encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            level = logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO
            elapsed = time.perf_counter() - started
            log.log(level, "%s %s -> %d in %.3fs", scope["method"], scope["path"], status, elapsed)
            REQUEST_ID.reset(token)
