"""ASGI middleware mending the token and revocation forms before the SDK's handlers read them.

- HTTP Basic client authentication (RFC 6749 §2.3.1) need not repeat `client_id` in the body: it
  is taken from the Authorization header, as the SDK's handlers expect to find it in the form.
- Revocation (RFC 7009) works for public and Basic-auth clients: the SDK's `RevocationRequest`
  declares `client_secret: str | None` without a default, so a form without `client_secret` is
  refused with 400 "Field required"; an empty one is added (the client authenticator still
  demands the real secret from clients that have one).
- A `resource` (RFC 8707) at /token that is not this server's MCP endpoint is refused with
  `invalid_target`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from server.oauth.config import OAuthConfig
from server.oauth.provider import is_our_resource

MAX_FORM_BYTES = 65_536
PATHS = frozenset({"/token", "/revoke"})


def basic_client_id(headers: dict[bytes, bytes]) -> str | None:
    """The client id in an HTTP Basic Authorization header, or None."""
    value = headers.get(b"authorization", b"").decode("latin-1")
    if value[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(value[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, _ = decoded.partition(":")
    return unquote(client_id) if colon and client_id else None


class TokenForms:
    """Rewrites urlencoded POSTs to /token and /revoke as the module docstring says."""

    def __init__(self, app: Any, config: OAuthConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] not in PATHS or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind != b"application/x-www-form-urlencoded":
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        if body is None:
            await _error(send, 413, "invalid_request", "the form is too large")
            return
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        names = {name for name, _ in pairs}
        resource = next((value for name, value in pairs if name == "resource"), None)
        if scope["path"] == "/token" and resource and not is_our_resource(resource, self.config):
            await _error(
                send,
                400,
                "invalid_target",
                f"this server issues tokens only for {self.config.resource_url}",
            )
            return
        basic = basic_client_id(headers)
        if "client_id" not in names and basic:
            pairs.append(("client_id", basic))
        if scope["path"] == "/revoke" and "client_secret" not in names:
            pairs.append(("client_secret", ""))
        await self._forward(scope, send, urlencode(pairs).encode("ascii"))

    async def _forward(self, scope: dict[str, Any], send: Any, body: bytes) -> None:
        """Call the app with `body` as the whole request body (and its length)."""
        headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


async def _read(receive: Any) -> bytes | None:
    """The whole request body, or None past MAX_FORM_BYTES."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return bytes(body)
        body.extend(message.get("body", b""))
        if len(body) > MAX_FORM_BYTES:
            return None
        if not message.get("more_body"):
            return bytes(body)


async def _error(send: Any, status: int, error: str, description: str) -> None:
    body = json.dumps({"error": error, "error_description": description}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"cache-control", b"no-store"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
