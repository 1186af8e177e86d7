"""In-process access to the sandbox through httpx; dropped connections are transport errors."""

from __future__ import annotations

import httpx

from sandbox.app import API_KEY_HEADER, build_app
from sandbox.middleware import ConnectionDropped
from sandbox.state import SandboxState

DEFAULT_BASE_URL = "http://sandbox.cekura.test"


class SandboxTransport(httpx.ASGITransport):
    """httpx.ASGITransport over the sandbox; an injected drop raises httpx.RemoteProtocolError."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            ) from exc


def sandbox_transport(state: SandboxState) -> httpx.AsyncBaseTransport:
    """A transport that serves requests from a sandbox over `state`, in-process."""
    return SandboxTransport(app=build_app(state))


def sandbox_client(
    state: SandboxState, *, api_key: str | None = "sandbox-key", base_url: str = DEFAULT_BASE_URL
) -> httpx.AsyncClient:
    """An AsyncClient on an in-process sandbox; sends `X-CEKURA-API-KEY` unless api_key is None."""
    headers = {API_KEY_HEADER: api_key} if api_key is not None else {}
    return httpx.AsyncClient(transport=sandbox_transport(state), base_url=base_url, headers=headers)
