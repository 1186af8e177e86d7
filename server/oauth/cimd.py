"""Client ID Metadata Documents: a `client_id` that is an HTTPS URL names a JSON document
describing the client, which this server fetches instead of keeping a registration.

Fetching a URL a stranger chose is done with strict limits: HTTPS only; every address the host
resolves to must be public (no private, loopback, link-local or reserved ones), checked when the
connection is made so DNS cannot switch it afterwards; redirects only within the same origin; at
most `MAX_DOCUMENT_BYTES` within `timeout_s`. The document must name its own URL as `client_id`,
take no client secret, and list redirect URIs that pass the same rules (and allow-list) as a
registration. Good documents are cached as their Cache-Control allows, at most `MAX_CACHE_S`.
With `allow_loopback` (CEKURA_OPTIMISE_OAUTH_CIMD_ALLOW_LOOPBACK, tests and local trials) loopback
addresses and plain http on them are allowed too.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import anyio
import certifi
import httpcore
from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from server.oauth.config import LOOPBACK_HOSTS
from server.oauth.registration import (
    KNOWN_GRANTS,
    MAX_NAME_CHARS,
    MAX_REDIRECT_URIS,
    MAX_SCOPE_CHARS,
    MAX_URI_CHARS,
    check_redirect_uri,
    granted_scopes,
)

log = logging.getLogger("cekura_optimise.oauth")

MAX_DOCUMENT_BYTES = 5 * 1024
FETCH_TIMEOUT_S = 5.0
DEFAULT_CACHE_S = 300.0
MAX_CACHE_S = 3600.0
MAX_CACHED = 1000
MAX_REDIRECTS = 2
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class DocumentRefused(Exception):
    """A metadata document that could not be fetched or is not acceptable; says why."""


class ClientDocument(BaseModel):
    """The fields of a Client ID Metadata Document this server uses (others are ignored)."""

    model_config = ConfigDict(extra="ignore")

    client_id: str
    client_name: str | None = Field(None, max_length=MAX_NAME_CHARS)
    redirect_uris: list[str] = Field(min_length=1, max_length=MAX_REDIRECT_URIS)
    token_endpoint_auth_method: Literal["none"] = "none"
    scope: str | None = Field(None, max_length=MAX_SCOPE_CHARS)
    client_secret: None = None


def is_document_url(client_id: str, allow_loopback: bool = False) -> bool:
    """True for a client_id that names a metadata document: an https URL with a path (or, with
    `allow_loopback`, an http one on loopback)."""
    if len(client_id) > MAX_URI_CHARS:
        return False
    parts = urlsplit(client_id)
    if not parts.hostname or parts.path in ("", "/") or parts.fragment or parts.username:
        return False
    if parts.scheme == "https":
        return True
    return allow_loopback and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


class PublicOnly(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses (and loopback when allowed), checked after resolution."""

    def __init__(self, allow_loopback: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_loopback = allow_loopback

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        addresses = [str(info[4][0]) for info in infos]
        if not addresses or not all(self._allowed(a) for a in addresses):
            raise httpcore.ConnectError(f"{host} resolves to an address that is not public")
        return await self._inner.connect_tcp(
            addresses[0], port, timeout=timeout, socket_options=socket_options
        )

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    def _allowed(self, text: str) -> bool:
        address = ipaddress.ip_address(text.split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            return self._allow_loopback
        return address.is_global and not address.is_multicast


def tls_context() -> ssl.SSLContext:
    """Certifi's roots, plus the file in SSL_CERT_FILE when set (as OpenSSL and httpx honour)."""
    context = ssl.create_default_context(cafile=certifi.where())
    extra = os.environ.get("SSL_CERT_FILE")
    if extra:
        context.load_verify_locations(cafile=extra)
    return context


def cache_seconds(cache_control: str) -> float:
    """How long a document may be reused: its max-age (at most MAX_CACHE_S), 0 for no-store or
    no-cache, DEFAULT_CACHE_S when the header says nothing."""
    directives = {}
    for part in cache_control.lower().split(","):
        name, _, value = part.strip().partition("=")
        directives[name] = value.strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    try:
        return min(max(float(directives["max-age"]), 0.0), MAX_CACHE_S)
    except (KeyError, ValueError):
        return DEFAULT_CACHE_S


class ClientDocuments:
    """Resolves metadata-document client ids to client information, fetching and caching."""

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        allowed_hosts: Collection[str] = (),
        timeout_s: float = FETCH_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_loopback = allow_loopback
        self.allowed_hosts = frozenset(allowed_hosts)
        self.timeout_s = timeout_s
        self.clock = clock
        self._cache: OrderedDict[str, tuple[float, OAuthClientInformationFull]] = OrderedDict()
        self._tls = tls_context()

    def handles(self, client_id: str) -> bool:
        return is_document_url(client_id, self.allow_loopback)

    async def client(self, url: str) -> OAuthClientInformationFull | None:
        """The client the document at `url` describes, or None (logged) if it is refused."""
        cached = self._cache.get(url)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        try:
            body, ttl = await self.fetch(url)
            client = self.parse(url, body)
        except DocumentRefused as exc:
            log.warning("client metadata document %.200s refused: %s", url, exc)
            return None
        if ttl > 0:
            self._cache[url] = (self.clock() + ttl, client)
            self._cache.move_to_end(url)
            while len(self._cache) > MAX_CACHED:
                self._cache.popitem(last=False)
        return client

    async def fetch(self, url: str) -> tuple[bytes, float]:
        """The document's bytes and how long they may be cached, within every limit."""
        if not self.handles(url):
            raise DocumentRefused("a client id document URL must be https with a path")
        try:
            with anyio.fail_after(self.timeout_s):
                return await self._get(url)
        except (TimeoutError, httpcore.TimeoutException):
            raise DocumentRefused(f"no complete answer within {self.timeout_s:g} s") from None
        except httpcore.NetworkError as exc:
            raise DocumentRefused(str(exc) or type(exc).__name__) from None
        except httpcore.ProtocolError as exc:
            raise DocumentRefused(f"bad HTTP answer ({type(exc).__name__})") from None

    async def _get(self, url: str) -> tuple[bytes, float]:
        backend = PublicOnly(self.allow_loopback)
        origin = urlsplit(url)[:2]
        target = url
        async with httpcore.AsyncConnectionPool(
            ssl_context=self._tls, network_backend=backend, max_connections=1
        ) as pool:
            for _ in range(MAX_REDIRECTS + 1):
                headers = [(b"accept", b"application/json"), (b"user-agent", b"cekura-optimise")]
                async with pool.stream("GET", target, headers=headers) as response:
                    found = {k.lower(): v.decode("latin-1") for k, v in response.headers}
                    if response.status in REDIRECTS:
                        target = urljoin(target, found.get(b"location", ""))
                        if urlsplit(target)[:2] != origin:
                            raise DocumentRefused("redirected to another host")
                        continue
                    if response.status != 200:
                        raise DocumentRefused(f"answered HTTP {response.status}")
                    body = bytearray()
                    async for chunk in response.aiter_stream():
                        body.extend(chunk)
                        if len(body) > MAX_DOCUMENT_BYTES:
                            raise DocumentRefused(f"larger than {MAX_DOCUMENT_BYTES} bytes")
                    return bytes(body), cache_seconds(found.get(b"cache-control", ""))
        raise DocumentRefused("too many redirects")

    def parse(self, url: str, body: bytes) -> OAuthClientInformationFull:
        """The client information a fetched document gives, or why it is refused."""
        try:
            document = ClientDocument.model_validate_json(body)
        except ValidationError as exc:
            problems = ", ".join(".".join(map(str, e["loc"])) or "document" for e in exc.errors())
            raise DocumentRefused(f"not a usable client metadata document ({problems})") from None
        if document.client_id != url:
            raise DocumentRefused("its client_id is not the URL it was fetched from")
        for uri in document.redirect_uris:
            try:
                check_redirect_uri(uri, self.allowed_hosts)
            except RegistrationError as exc:
                raise DocumentRefused(exc.error_description or "redirect URI refused") from None
        return OAuthClientInformationFull(
            client_id=url,
            client_name=document.client_name,
            redirect_uris=document.redirect_uris,
            token_endpoint_auth_method="none",
            grant_types=list(KNOWN_GRANTS),
            response_types=["code"],
            scope=" ".join(granted_scopes((document.scope or "").split())),
        )
