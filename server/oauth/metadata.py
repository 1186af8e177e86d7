"""The authorization-server metadata (RFC 8414) as this server means it: the SDK's document, plus
`client_id_metadata_document_supported` (a client may use a metadata-document URL as its
client_id) and `none` among the client authentication methods (public clients, metadata-document
clients). Served ahead of the SDK's own route at the same path."""

from __future__ import annotations

from typing import Any

from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.routes import build_metadata, cors_middleware
from starlette.routing import Route

WELL_KNOWN = "/.well-known/oauth-authorization-server"
AUTH_METHODS = ["none", "client_secret_post", "client_secret_basic"]


def metadata_route(auth: Any) -> Route:
    """The metadata route for the SDK's AuthSettings `auth`."""
    metadata = build_metadata(
        auth.issuer_url,
        auth.service_documentation_url,
        auth.client_registration_options,
        auth.revocation_options,
    )
    metadata.client_id_metadata_document_supported = True
    metadata.token_endpoint_auth_methods_supported = AUTH_METHODS
    metadata.revocation_endpoint_auth_methods_supported = AUTH_METHODS
    endpoint = cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"])
    return Route(WELL_KNOWN, endpoint=endpoint, methods=["GET", "OPTIONS"])
