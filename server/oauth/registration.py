"""Dynamic client registration (RFC 7591), bounded so strangers can neither fill the disk nor close
registration for everyone.

A registration keeps only what this server uses (name, redirect URIs, grant and response types,
auth method, scope): other metadata (jwks, contacts, software ids, logo and policy URLs, unknown
fields) is dropped, every kept field has a size limit and the whole record a few KB. Registrations
are counted per client address (after the trusted proxy): an address may hold
`MAX_UNUSED_PER_ADDRESS` that no consent has used yet, and those are purged after minutes
(`UNUSED_CLIENT_S`), so filling the global cap takes hundreds of addresses, not a few.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import OAuthClientInformationFull

from server.oauth.config import LOOPBACK_HOSTS, SCOPE

MAX_CLIENTS = 10_000
MAX_UNUSED_PER_ADDRESS = 30
MAX_REDIRECT_URIS = 10
MAX_NAME_CHARS = 200
MAX_SCOPE_CHARS = 200
MAX_REGISTRATION_BYTES = 4096
MAX_URI_CHARS = 2000
UNSAFE_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob", "ftp"})
KNOWN_GRANTS = ("authorization_code", "refresh_token")
KEPT = frozenset(
    {
        "client_id",
        "client_id_issued_at",
        "client_secret",
        "client_secret_expires_at",
        "client_name",
        "redirect_uris",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "scope",
        "application_type",
    }
)


def check_redirect_uri(uri: str, allowed_hosts: Collection[str] = ()) -> None:
    """A redirect URI we will send codes to: https, http on loopback, or an app's own scheme;
    with `allowed_hosts` (the operator's allow-list) only http(s) to one of those hosts."""
    if len(uri) > MAX_URI_CHARS:
        raise RegistrationError("invalid_redirect_uri", "redirect URI is too long")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.fragment:
        raise RegistrationError("invalid_redirect_uri", "redirect URIs must not have a fragment")
    if scheme == "https":
        if not host:
            raise RegistrationError("invalid_redirect_uri", "https redirect URI without a host")
    elif scheme == "http":
        if host not in LOOPBACK_HOSTS:
            raise RegistrationError(
                "invalid_redirect_uri", "plain http redirect URIs are allowed only on loopback"
            )
    elif not scheme or scheme in UNSAFE_SCHEMES:
        raise RegistrationError("invalid_redirect_uri", f"redirect URI scheme {scheme!r} refused")
    if allowed_hosts and (scheme not in ("http", "https") or host not in allowed_hosts):
        raise RegistrationError(
            "invalid_redirect_uri",
            f"this server sends sign-ins only to {', '.join(sorted(allowed_hosts))}; "
            f"{host or scheme!r} is not one of them",
        )


def bounded_record(
    client_info: OAuthClientInformationFull, allowed_hosts: Collection[str] = ()
) -> dict[str, Any]:
    """What is stored (and echoed) for a registration: unused metadata dropped from
    `client_info`, lists trimmed to known values, oversized fields and redirect URIs outside the
    allow-list refused."""
    if len(client_info.client_name or "") > MAX_NAME_CHARS:
        raise RegistrationError("invalid_client_metadata", "client_name is too long")
    if len(client_info.scope or "") > MAX_SCOPE_CHARS:
        raise RegistrationError("invalid_client_metadata", "scope is too long")
    uris = client_info.redirect_uris or []
    if not uris or len(uris) > MAX_REDIRECT_URIS:
        raise RegistrationError(
            "invalid_redirect_uri", f"register between 1 and {MAX_REDIRECT_URIS} redirect URIs"
        )
    for uri in uris:
        check_redirect_uri(str(uri), allowed_hosts)
    for name in set(type(client_info).model_fields) - KEPT:
        setattr(client_info, name, None)
    client_info.grant_types = [g for g in KNOWN_GRANTS if g in client_info.grant_types]
    client_info.response_types = ["code"]
    if client_info.application_type not in (None, "web", "native"):
        client_info.application_type = None
    # the scope /mcp requires is always registered (and echoed back), whatever else was asked
    client_info.scope = " ".join(granted_scopes((client_info.scope or "").split()))
    record = client_info.model_dump(mode="json", exclude={"client_secret"}, exclude_none=True)
    if len(json.dumps(record)) > MAX_REGISTRATION_BYTES:
        raise RegistrationError(
            "invalid_client_metadata",
            f"the registration is larger than {MAX_REGISTRATION_BYTES} bytes; "
            "send fewer or shorter redirect URIs",
        )
    return record


def granted_scopes(requested: list[str] | None) -> list[str]:
    """What a token carries: what was asked for, and always the one scope /mcp requires."""
    return sorted({*(requested or []), SCOPE})
