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
from urllib.parse import urlencode, urlsplit

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

from server.oauth.config import LOOPBACK_HOSTS, SCOPE, OAuthConfig
from server.oauth.crypto import DecryptError, Keyring, digest, new_token
from tools.ledger.oauth import NewToken, OAuthStorage

log = logging.getLogger("cekura_optimise.oauth")

CONSENT_PATH = "/oauth/consent"
PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
MAX_STATE_CHARS = 1024
MAX_REDIRECT_URIS = 10
MAX_URI_CHARS = 2000
MAX_CLIENTS = 10_000
UNSAFE_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob", "ftp"})
ACCESS_PREFIX = "coa_"
REFRESH_PREFIX = "cor_"
CODE_PREFIX = "coc_"


def check_redirect_uri(uri: str) -> None:
    """A redirect URI we will send codes to: https, http on loopback, or an app's own scheme."""
    if len(uri) > MAX_URI_CHARS:
        raise RegistrationError("invalid_redirect_uri", "redirect URI is too long")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if parts.fragment:
        raise RegistrationError("invalid_redirect_uri", "redirect URIs must not have a fragment")
    if scheme == "https":
        if not parts.hostname:
            raise RegistrationError("invalid_redirect_uri", "https redirect URI without a host")
    elif scheme == "http":
        if (parts.hostname or "").lower() not in LOOPBACK_HOSTS:
            raise RegistrationError(
                "invalid_redirect_uri", "plain http redirect URIs are allowed only on loopback"
            )
    elif not scheme or scheme in UNSAFE_SCHEMES:
        raise RegistrationError("invalid_redirect_uri", f"redirect URI scheme {scheme!r} refused")


class CekuraOAuthProvider:
    """The SDK's `OAuthAuthorizationServerProvider` over `OAuthStorage`; the consent page
    finishes `authorize`."""

    def __init__(
        self,
        config: OAuthConfig,
        store: OAuthStorage,
        keyring: Keyring,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.keyring = keyring
        self.clock = clock

    # clients --------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if not client_id or len(client_id) > 100:
            return None
        stored = await self.store.client(client_id)
        if stored is None:
            return None
        data = dict(stored.metadata)
        if stored.secret_enc is not None:
            try:
                data["client_secret"] = self.keyring.decrypt(stored.secret_enc)
            except DecryptError:
                log.warning("client %s: stored secret does not decrypt; refusing it", client_id)
                return None
        return OAuthClientInformationFull.model_validate(data)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        uris = [str(u) for u in client_info.redirect_uris or []]
        if not uris or len(uris) > MAX_REDIRECT_URIS:
            raise RegistrationError(
                "invalid_redirect_uri", f"register between 1 and {MAX_REDIRECT_URIS} redirect URIs"
            )
        for uri in uris:
            check_redirect_uri(uri)
        if len(client_info.client_name or "") > 200:
            raise RegistrationError("invalid_client_metadata", "client_name is too long")
        await self.store.purge(self.clock())
        if await self.store.client_count() >= MAX_CLIENTS:
            raise RegistrationError("invalid_client_metadata", "registration is closed for now")
        # the scope /mcp requires is always registered (and echoed back), whatever else was asked
        client_info.scope = " ".join(granted_scopes((client_info.scope or "").split()))
        metadata = client_info.model_dump(mode="json", exclude={"client_secret"}, exclude_none=True)
        secret = client_info.client_secret
        await self.store.save_client(
            client_info.client_id,
            metadata,
            self.keyring.encrypt(secret) if secret else None,
            self.clock(),
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
        if params.resource is not None and not self._is_our_resource(params.resource):
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

    def _is_our_resource(self, resource: str) -> bool:
        try:
            given = str(AnyHttpUrl(resource)).removesuffix("/")
        except ValidationError:
            return False
        return given == str(AnyHttpUrl(self.config.resource_url)).removesuffix("/")

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
            await self.store.revoke_grant(stored.grant_id)
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
            await self.store.revoke_grant(stored.grant_id)
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
            await self.store.revoke_grant(token.subject)
            log.info("client %s revoked a grant", token.client_id)

    # helpers --------------------------------------------------------------------------------

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


def granted_scopes(requested: list[str] | None) -> list[str]:
    """What a token carries: what was asked for, and always the one scope /mcp requires."""
    return sorted({*(requested or []), SCOPE})
