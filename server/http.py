"""Serving the MCP app over streamable HTTP: behind a static bearer token when one is set, or as an
OAuth-protected resource with its own authorization server (`--oauth`).

The static token is compared in constant time; binding to a non-loopback address without a token is
refused, because anyone who can reach the port could then write metrics with our Cekura key. In
OAuth mode every caller brings their own key through the consent page, so any address may be bound;
the OAuth endpoints are rate limited, every response refuses framing, and the Host header must name
the public URL (or loopback).

With a shared database (or CEKURA_OPTIMISE_HTTP_STATELESS=1) the transport is stateless (no MCP
session is kept between requests), so replicas behind a load balancer need no session affinity;
progress still streams within each call, and a paused call's sealed state opens on any replica.
One process on SQLite keeps sessions, so a question can also reach a person mid-call. `/healthz` and
`/readyz` answer before auth and the Host check (`server.health`), and every request gets an id
for the logs (`server.request_ids`). SIGTERM or SIGINT stops the server gracefully: it stops
accepting, gives calls in flight SHUTDOWN_GRACE_S to finish, then cancels them, which abandons an
optimiser poll (the run stays in the ledger, so the next call resumes it) and releases a write
hold (see `Ledger.abandon_apply`); then it exits 0.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mcp.server import MCPServer

from server.health import Check, Health
from server.request_ids import RequestIds
from server.settings import Settings, SettingsError

if TYPE_CHECKING:
    from server.oauth import OAuthServer

log = logging.getLogger("cekura_optimise.http")
MAX_BODY_BYTES = 1_000_000
SHUTDOWN_GRACE_S = 3.0
CLEANUP_S = 5.0

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
    mcp: MCPServer,
    *,
    host: str,
    token: str | None,
    oauth: OAuthServer | None = None,
    checks: Sequence[Check] = (),
    stateless: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """The streamable-HTTP ASGI app at /mcp (without sessions when `stateless`), wrapped in bearer auth when `token` is set;
    with `oauth` (the app must have been built with it) the OAuth endpoints and consent page too.
    Health probes run `checks` (their answer cached by `clock`); every request gets an id."""
    if oauth is not None:
        app = _oauth_app(mcp, host=host, token=token, oauth=oauth, stateless=stateless)
    elif not is_loopback(host) and not token:
        raise SettingsError(
            f"Refusing to serve on {host} without a bearer token: set CEKURA_OPTIMISE_HTTP_TOKEN "
            "(or bind to 127.0.0.1), or serve with --oauth so each person signs in with their own "
            "Cekura key."
        )
    else:
        app = mcp.streamable_http_app(
            host=host, max_request_body_size=MAX_BODY_BYTES, stateless_http=stateless
        )
        app = BearerAuth(app, token) if token else app
    return RequestIds(Health(app, checks, clock))


def _oauth_app(
    mcp: MCPServer, *, host: str, token: str | None, oauth: OAuthServer, stateless: bool
) -> Any:
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
        host=host,
        max_request_body_size=MAX_BODY_BYTES,
        transport_security=security,
        stateless_http=stateless,
    )
    app.router.routes.insert(0, metadata_route(oauth.auth_settings()))
    buckets = TokenBuckets(oauth.config.rate_limit_per_minute)
    limited = RateLimit(TokenForms(app, oauth.config), buckets)
    return SecurityHeaders(ClientAddress(limited, oauth.config.trusted_proxies))


def serve_http(
    settings: Settings,
    *,
    host: str,
    port: int,
    oauth: OAuthServer | None = None,
    accept_new_secret: bool = False,
) -> None:
    """Serve the MCP app over HTTP until SIGTERM or SIGINT, then stop gracefully (see above).
    In OAuth mode the server secret is checked against the store first (see `oauth.canary`), and
    uvicorn's own X-Forwarded-For handling is off: it is trusted only from
    CEKURA_OPTIMISE_TRUSTED_PROXIES (see `server.oauth.addresses`)."""
    import uvicorn

    from server.app import build_server
    from server.runtime import Runtime

    runtime = Runtime(settings, tenants=oauth.tenants if oauth else None)
    checks: list[Check] = [runtime.check_ledger]
    if oauth is not None:
        checks.append(oauth.store.check)
    token = settings.http_token.get_secret_value() if settings.http_token else None
    mcp = build_server(settings, runtime, oauth=oauth)
    app = http_app(
        mcp, host=host, token=token, oauth=oauth, checks=checks, stateless=settings.stateless
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)

    async def run() -> None:
        try:
            if oauth is not None:
                await oauth.check_secret(accept_new=accept_new_secret)
            await server.serve()
            pending = set(server.server_state.tasks)
            if pending:
                await asyncio.wait(pending, timeout=CLEANUP_S)
        finally:
            await runtime.aclose()
            if oauth is not None:
                await oauth.store.aclose()

    with _stop_signals(server):
        asyncio.run(run())


@contextmanager
def _stop_signals(server: Any) -> Iterator[None]:
    """SIGTERM and SIGINT stop `server`, also before it starts serving (uvicorn's own handlers
    take over while it serves); uvicorn re-raises the signal once it has shut down, and here that
    is a clean exit."""

    def stopped(signum: int, _frame: object) -> None:
        log.warning("stopped by %s", signal.Signals(signum).name)
        server.should_exit = True

    previous = {sig: signal.signal(sig, stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
