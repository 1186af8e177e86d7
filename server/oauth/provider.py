"""The authorization server behind the SDK's OAuth routes (RFC 8414 metadata, RFC 7591
registration, authorization code with PKCE S256, refresh, RFC 7009 revocation).

The SDK's handlers parse requests, authenticate clients, check PKCE, expiry and the redirect URI at
/token; this provider decides what is allowed and keeps the state: it insists on `state`, an
explicit, exactly registered redirect URI and a well-formed S256 challenge, sends the person to the
consent page, makes codes single use (a replayed code revokes what it issued), rotates refresh
tokens (a replayed refresh token revokes the whole grant), and ties every token to a grant, the
consent that holds the person's encrypted Cekura key.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from urllib.parse import urlencode

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl, AnyUrl, ValidationError

from server.oauth.addresses import current_address
from server.oauth.cimd import ClientDocuments
from server.oauth.config import OAuthConfig
from server.oauth.crypto import DecryptError, Keyring, digest, new_token
from server.oauth.registration import (
    MAX_CLIENTS,
    MAX_UNUSED_PER_ADDRESS,
    bounded_record,
    check_redirect_uri,
    granted_scopes,
)
from server.oauth.tenancy import TenantKeys
from tools.ledger.oauth import NewToken, OAuthStorage

log = logging.getLogger("cekura_optimise.oauth")

CONSENT_PATH = "/oauth/consent"
PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
MAX_STATE_CHARS = 1024
ACCESS_PREFIX = "coa_"
REFRESH_PREFIX = "cor_"
CODE_PREFIX = "coc_"


class CekuraOAuthProvider:
    """The SDK's `OAuthAuthorizationServerProvider` over `OAuthStorage`; the consent page
    finishes `authorize`."""

    def __init__(
        self,
        config: OAuthConfig,
        store: OAuthStorage,
        keyring: Keyring,
        tenants: TenantKeys,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.keyring = keyring
        self.tenants = tenants
        self.clock = clock
        self.documents = ClientDocuments(
            allow_loopback=config.cimd_allow_loopback, allowed_hosts=config.redirect_hosts
        )

    # clients --------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if self.documents.handles(client_id):
            return await self.documents.client(client_id)
        if not client_id or len(client_id) > 100:
            return None
        stored = await self.store.client(client_id)
        if stored is None:
            return None
        data = dict(stored.metadata)
        if stored.secret_enc is not None:
            try:
                data["client_secret"], fresh = self.keyring.decrypt_fresh(stored.secret_enc)
            except DecryptError:
                log.warning("client %s: stored secret does not decrypt; refusing it", client_id)
                return None
            if fresh is not None:
                await self.store.rekey_client(client_id, fresh)
        # registrations from before the operator's allow-list keep only the URIs it allows
        data["redirect_uris"] = [u for u in data.get("redirect_uris") or [] if self._allowed(u)]
        return OAuthClientInformationFull.model_validate(data) if data["redirect_uris"] else None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Store a bounded registration, within the caller's address quota and the global cap."""
        record = bounded_record(client_info, self.config.redirect_hosts)
        address = current_address()
        await self.store.purge(self.clock())
        if await self.store.unused_clients(address) >= MAX_UNUSED_PER_ADDRESS:
            log.warning("registration refused: %s holds too many unused registrations", address)
            raise RegistrationError(
                "invalid_client_metadata",
                "too many registrations from your address are waiting to be used: finish "
                "connecting with one of them, or try again in 10 minutes",
            )
        if await self.store.client_count() >= MAX_CLIENTS:
            raise RegistrationError("invalid_client_metadata", "registration is closed for now")
        secret = client_info.client_secret
        await self.store.save_client(
            client_info.client_id,
            record,
            self.keyring.encrypt(secret) if secret else None,
            self.clock(),
            address,
        )
        log.info("registered OAuth client %s", client_info.client_id)

    # authorization --------------------------------------------------------------------------

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        """Park the request and send the person to the consent page, which issues the code."""
        redirect_uri = str(params.redirect_uri)
        if not params.redirect_uri_provided_explicitly:
            raise AuthorizeError("invalid_request", "redirect_uri is required")
        if redirect_uri not in {str(u) for u in client.redirect_uris or []}:
            raise AuthorizeError("invalid_request", "redirect_uri is not registered")
        if not params.state:
            raise AuthorizeError("invalid_request", "state is required")
        if len(params.state) > MAX_STATE_CHARS:
            raise AuthorizeError("invalid_request", "state is too long")
        if not PKCE_CHALLENGE.fullmatch(params.code_challenge):
            raise AuthorizeError(
                "invalid_request", "code_challenge must be a PKCE S256 challenge (43 characters)"
            )
        if params.resource is not None and not is_our_resource(params.resource, self.config):
            raise AuthorizeError(
                "invalid_target", f"this server issues tokens only for {self.config.resource_url}"
            )
        now = self.clock()
        await self.store.purge(now)
        request_id = new_token()
        await self.store.add_pending(
            digest(request_id),
            client.client_id,
            {
                "redirect_uri": redirect_uri,
                "state": params.state,
                "code_challenge": params.code_challenge,
                "scopes": granted_scopes(params.scopes),
                "client_name": client.client_name or "",
            },
            now + self.config.consent_ttl_s,
        )
        return f"{self.config.issuer_url}{CONSENT_PATH}?{urlencode({'request': request_id})}"

    # codes ----------------------------------------------------------------------------------

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        stored = await self.store.code(digest(authorization_code))
        if stored is None or stored.client_id != client.client_id:
            return None
        if stored.used_at is not None:
            log.warning(
                "client %s replayed an authorization code; revoking what it issued",
                client.client_id,
            )
            await self._end_grant(stored.grant_id)
            return None
        return AuthorizationCode(
            code=authorization_code,
            scopes=stored.scopes,
            expires_at=stored.expires_at,
            client_id=stored.client_id,
            code_challenge=stored.code_challenge,
            redirect_uri=AnyUrl(stored.redirect_uri),
            redirect_uri_provided_explicitly=True,
            resource=self.config.resource_url,
            subject=stored.grant_id,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        now = self.clock()
        access, refresh, rows = self._new_pair(now)
        if not await self.store.redeem_code(
            digest(authorization_code.code), client.client_id, authorization_code.scopes, rows, now
        ):
            raise TokenError("invalid_grant", "authorization code was already used or has expired")
        return self._response(access, refresh, authorization_code.scopes)

    # refresh tokens -------------------------------------------------------------------------

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        stored = await self.store.token(digest(refresh_token), "refresh")
        if stored is None or stored.client_id != client.client_id:
            return None
        if stored.rotated_at is not None:
            log.warning(
                "client %s replayed a rotated refresh token; revoking the grant", client.client_id
            )
            await self._end_grant(stored.grant_id)
            return None
        if stored.expires_at < self.clock():
            return None
        return RefreshToken(
            token=refresh_token,
            client_id=stored.client_id,
            scopes=stored.scopes,
            expires_at=int(stored.expires_at),
            resource=self.config.resource_url,
            subject=stored.grant_id,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        now = self.clock()
        await self.store.purge(now)
        scopes = granted_scopes(scopes)
        access, refresh, rows = self._new_pair(now)
        if not await self.store.rotate_refresh(digest(refresh_token.token), scopes, rows, now):
            raise TokenError("invalid_grant", "refresh token was already used or has expired")
        return self._response(access, refresh, scopes)

    # access tokens and revocation -----------------------------------------------------------

    async def load_access_token(self, token: str) -> AccessToken | None:
        if not token or len(token) > 200:
            return None
        stored = await self.store.token(digest(token), "access")
        if stored is None or stored.expires_at < self.clock():
            return None
        return AccessToken(
            token=token,
            client_id=stored.client_id,
            scopes=stored.scopes,
            expires_at=int(stored.expires_at),
            resource=self.config.resource_url,
            subject=stored.grant_id,
        )

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        """Revoking either token of a grant ends the grant and deletes its key."""
        if token.subject:
            await self._end_grant(token.subject)
            log.info("client %s revoked a grant", token.client_id)

    # helpers --------------------------------------------------------------------------------

    def _allowed(self, uri: str) -> bool:
        try:
            check_redirect_uri(uri, self.config.redirect_hosts)
        except RegistrationError:
            return False
        return True

    async def _end_grant(self, grant_id: str) -> None:
        """Revoke a grant and drop its person's key from memory at once."""
        grant = await self.store.grant(grant_id)
        await self.store.revoke_grant(grant_id)
        if grant is not None:
            await self.tenants.forget(grant)

    def _new_pair(self, now: float) -> tuple[str, str, list[NewToken]]:
        access, refresh = new_token(ACCESS_PREFIX), new_token(REFRESH_PREFIX)
        rows = [
            NewToken(digest(access), "access", now + self.config.access_ttl_s),
            NewToken(digest(refresh), "refresh", now + self.config.refresh_ttl_s),
        ]
        return access, refresh, rows

    def _response(self, access: str, refresh: str, scopes: list[str]) -> OAuthToken:
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=self.config.access_ttl_s,
            scope=" ".join(scopes),
            refresh_token=refresh,
        )


def is_our_resource(resource: str, config: OAuthConfig) -> bool:
    """True when an RFC 8707 `resource` names this server's MCP endpoint."""
    try:
        given = str(AnyHttpUrl(resource)).removesuffix("/")
    except ValidationError:
        return False
    return given == str(AnyHttpUrl(config.resource_url)).removesuffix("/")
