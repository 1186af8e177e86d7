"""Serving the MCP app over streamable HTTP: behind a static bearer token when one is set, or as an
OAuth-protected resource with its own authorization server (`--oauth`).

The static token is compared in constant time; binding to a non-loopback address without a token is
refused, because anyone who can reach the port could then write metrics with our Cekura key. In
OAuth mode every caller brings their own key through the consent page, so any address may be bound;
the OAuth endpoints are rate limited, every response refuses framing, and the Host header must name
the public URL (or loopback).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import TYPE_CHECKING, Any

from mcp.server import MCPServer

from server.settings import SettingsError

if TYPE_CHECKING:
    from server.oauth import OAuthServer

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


def http_app(
    mcp: MCPServer, *, host: str, token: str | None, oauth: OAuthServer | None = None
) -> Any:
    """The streamable-HTTP ASGI app at /mcp, wrapped in bearer auth when `token` is set; with
    `oauth` (the app must have been built with it) the OAuth endpoints and consent page too."""
    if oauth is not None:
        return _oauth_app(mcp, host=host, token=token, oauth=oauth)
    if not is_loopback(host) and not token:
        raise SettingsError(
            f"Refusing to serve on {host} without a bearer token: set CEKURA_OPTIMISE_HTTP_TOKEN "
            "(or bind to 127.0.0.1), or serve with --oauth so each person signs in with their own "
            "Cekura key."
        )
    app = mcp.streamable_http_app(host=host, max_request_body_size=MAX_BODY_BYTES)
    return BearerAuth(app, token) if token else app


def _oauth_app(mcp: MCPServer, *, host: str, token: str | None, oauth: OAuthServer) -> Any:
    from mcp.server.transport_security import TransportSecuritySettings

    from server.oauth.addresses import ClientAddress
    from server.oauth.headers import SecurityHeaders
    from server.oauth.metadata import metadata_route
    from server.oauth.ratelimit import RateLimit, TokenBuckets
    from server.oauth.tokenform import TokenForms

    if token:
        raise SettingsError(
            "CEKURA_OPTIMISE_HTTP_TOKEN and --oauth do not mix: with --oauth each person signs in "
            "with their own Cekura key. Unset CEKURA_OPTIMISE_HTTP_TOKEN."
        )
    for path, endpoint, methods in oauth.consent.routes():
        mcp.custom_route(path, methods=methods, include_in_schema=False)(endpoint)
    public = oauth.config.public_url
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[oauth.config.public_host, "127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=[public, "http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    )
    app = mcp.streamable_http_app(
        host=host, max_request_body_size=MAX_BODY_BYTES, transport_security=security
    )
    app.router.routes.insert(0, metadata_route(oauth.auth_settings()))
    buckets = TokenBuckets(oauth.config.rate_limit_per_minute)
    limited = RateLimit(TokenForms(app, oauth.config), buckets)
    return SecurityHeaders(ClientAddress(limited, oauth.config.trusted_proxies))


def serve_http(
    mcp: MCPServer,
    *,
    host: str,
    port: int,
    token: str | None,
    oauth: OAuthServer | None = None,
) -> None:
    """Run the HTTP server until interrupted (uvicorn logs to stderr at warning). uvicorn's own
    X-Forwarded-For handling is off: OAuth mode trusts it only from CEKURA_OPTIMISE_TRUSTED_PROXIES
    (see `server.oauth.addresses`)."""
    import uvicorn

    app = http_app(mcp, host=host, token=token, oauth=oauth)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
