"""OAuth 2.1 for the streamable-HTTP server: each person authorises with their own Cekura key.

`build_oauth` wires the parts together; each module has one job:

- config:    the public URL, the server secret, lifetimes, the rate limit (from env and flags)
- crypto:    keys derived from the secret (and previous ones while rotating); hashes for tokens
- canary:    at start-up, proof that the secret is the one stored keys were encrypted with
- provider:  the SDK's authorization-server provider (registration, authorize, code, refresh, revoke)
- registration: bounded registrations and the redirect-URI rules (allow-list included)
- cimd:      Client ID Metadata Documents, fetched with strict limits
- metadata:  the authorization-server metadata (advertising metadata documents)
- tokenform: Basic auth without client_id, revocation for every client, foreign `resource`
- addresses: the client address behind a trusted proxy, for rate limits and quotas
- consent:   the page that takes the Cekura key, checks it and issues the code
- page:      the consent page's HTML and its anti-framing, no-cache headers
- keycheck:  one cheap authenticated GET to Cekura to accept or reject a key
- ratelimit: per-address token buckets on the token, registration and consent endpoints
- headers:   anti-framing headers on every response
- tenancy:   from an access token to the tenant's decrypted key and ledger name

Clients, pending consents, codes, grants and tokens are kept by the storage layer
(`tools.ledger.oauth`: in SQLite by `tools.ledger.sqlite_oauth`, in PostgreSQL by
`tools.ledger.postgres_oauth`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from server.oauth.canary import check_secret
from server.oauth.config import SCOPE, OAuthConfig
from server.oauth.consent import ConsentEndpoints
from server.oauth.crypto import Keyring
from server.oauth.keycheck import KeyChecker, cekura_key_checker
from server.oauth.provider import CekuraOAuthProvider
from server.oauth.tenancy import Tenant, TenantKeyError, TenantKeys
from tools.ledger import open_oauth_store
from tools.ledger.oauth import OAuthStorage

__all__ = [
    "OAuthConfig",
    "OAuthServer",
    "Tenant",
    "TenantKeyError",
    "TenantKeys",
    "build_oauth",
]


@dataclass
class OAuthServer:
    """What the MCP app and the HTTP layer need in OAuth mode."""

    config: OAuthConfig
    store: OAuthStorage
    provider: CekuraOAuthProvider
    consent: ConsentEndpoints
    tenants: TenantKeys

    def auth_settings(self) -> Any:
        """The SDK's AuthSettings: registration and revocation on, one required scope, tokens
        bound to our resource URL."""
        from mcp.server.auth.settings import (
            AuthSettings,
            ClientRegistrationOptions,
            RevocationOptions,
        )

        # strings, not AnyHttpUrl: AuthSettings keeps a path-less issuer without a trailing slash
        return AuthSettings(
            issuer_url=self.config.issuer_url,
            resource_server_url=self.config.resource_url,
            validate_token_resource=True,
            required_scopes=[SCOPE],
            # no valid_scopes: some clients register with scopes of their own (claude.ai has sent
            # "claudeai"); registration adds ours instead of refusing theirs
            client_registration_options=ClientRegistrationOptions(
                enabled=self.config.registration_open, default_scopes=[SCOPE]
            ),
            revocation_options=RevocationOptions(enabled=True),
        )

    async def check_secret(self, *, accept_new: bool = False) -> None:
        """At start-up: refuse a server secret the stored keys were not encrypted with, unless
        `accept_new` (which deletes every stored connection); see `canary`."""
        await check_secret(self.store, self.provider.keyring, accept_new=accept_new)


def build_oauth(
    config: OAuthConfig, location: Any, base_url: str, check_key: KeyChecker | None = None
) -> OAuthServer:
    """The OAuth parts over the store at `location` (a SQLite file or a PostgreSQL URL: the
    process's one OAuth store, closed with `store.aclose()`), checking keys against `base_url`."""
    store = open_oauth_store(location, time.time())
    keyring = Keyring.from_setting(config.secret.get_secret_value())
    tenants = TenantKeys(store, keyring)
    provider = CekuraOAuthProvider(config, store, keyring, tenants)
    consent = ConsentEndpoints(config, store, keyring, check_key or cekura_key_checker(base_url))
    return OAuthServer(
        config=config, store=store, provider=provider, consent=consent, tenants=tenants
    )
