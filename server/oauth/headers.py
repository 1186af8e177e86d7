"""ASGI middleware: in OAuth mode every response says it must not be framed or sniffed.

The consent page sets its own, stricter headers (CSP with frame-ancestors 'none'); this covers the
SDK's endpoints (/authorize errors, /token, metadata) and anything else the server answers.
"""

from __future__ import annotations

from typing import Any

DEFAULTS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeaders:
    """Adds DEFAULTS to each HTTP response that does not already set them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in DEFAULTS if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
