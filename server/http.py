"""Serving the MCP app over streamable HTTP, behind a static bearer token when one is set.

The token is compared in constant time; binding to a non-loopback address without a token is
refused, because anyone who can reach the port could then write metrics with our Cekura key.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

from mcp.server import MCPServer

from server.settings import SettingsError

MAX_BODY_BYTES = 1_000_000

Scope = dict[str, Any]


def is_loopback(host: str) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerAuth:
    """ASGI middleware: every HTTP request must carry `Authorization: Bearer <token>`."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": "unauthorized", "error_description": "A valid bearer token is required."}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="cekura-optimise"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def http_app(mcp: MCPServer, *, host: str, token: str | None) -> Any:
    """The streamable-HTTP ASGI app at /mcp, wrapped in bearer auth when `token` is set."""
    if not is_loopback(host) and not token:
        raise SettingsError(
            f"Refusing to serve on {host} without a bearer token: set CEKURA_OPTIMISE_HTTP_TOKEN "
            "(or bind to 127.0.0.1)."
        )
    app = mcp.streamable_http_app(host=host, max_request_body_size=MAX_BODY_BYTES)
    return BearerAuth(app, token) if token else app


def serve_http(mcp: MCPServer, *, host: str, port: int, token: str | None) -> None:
    """Run the HTTP server until interrupted (uvicorn logs to stderr at warning)."""
    import uvicorn

    uvicorn.run(http_app(mcp, host=host, token=token), host=host, port=port, log_level="warning")
