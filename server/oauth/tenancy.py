"""Whose Cekura key a tool call uses: the key of the grant behind the caller's access token.

The key is decrypted per call and never leaves memory; the tenant id (an HMAC of the key under the
server secret) marks the tenant's rows in the shared ledger, so two people with different keys see
only their own runs and proposals (and the runs they joined), and a person reconnecting with the
same key finds their history again. A key found under a previous secret (mid-rotation) is stored
again under the new one. When a grant ends, `forget` tells whoever keeps a tenant's client open
(the Runtime's pool) to drop it now.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mcp.server.auth.provider import AccessToken
from pydantic import SecretStr

from server.oauth.crypto import DecryptError, Keyring
from tools.errors import WorkflowError
from tools.ledger.oauth import Grant, OAuthStorage


class TenantKeyError(WorkflowError):
    """The caller's key cannot be used; nothing was sent to Cekura."""


@dataclass(frozen=True)
class Tenant:
    id: str
    api_key: SecretStr


class TenantKeys:
    """Resolves an access token to its tenant: `Runtime` asks on every tool call."""

    def __init__(self, store: OAuthStorage, keyring: Keyring) -> None:
        self.store = store
        self.keyring = keyring
        self._forget_hooks: list[Callable[[str], Awaitable[None]]] = []

    def on_forget(self, hook: Callable[[str], Awaitable[None]]) -> None:
        """Call `hook(tenant_id)` whenever one of that tenant's grants ends."""
        self._forget_hooks.append(hook)

    async def tenant(self, token: AccessToken) -> Tenant:
        """The tenant behind `token`, its grant read off the event loop."""
        grant = await self.store.grant(token.subject) if token.subject else None
        if grant is None:
            raise TenantKeyError(
                "This connection has been revoked. Reconnect the connector to sign in again."
            )
        key = await self._key(grant)
        return Tenant(id=self.keyring.tenant_id(key), api_key=SecretStr(key))

    async def forget(self, grant: Grant) -> None:
        """A grant ended: its tenant's open client (holding the key) is dropped at once."""
        try:
            tenant_id = self.keyring.tenant_id(self.keyring.decrypt(grant.key_enc))
        except DecryptError:
            return
        for hook in self._forget_hooks:
            await hook(tenant_id)

    async def _key(self, grant: Grant) -> str:
        """The grant's decrypted key (stored again under the new secret if it was under a
        previous one), or why the call cannot use it."""
        try:
            key, fresh = self.keyring.decrypt_fresh(grant.key_enc)
        except DecryptError:
            raise TenantKeyError(
                "The Cekura key stored for this connection cannot be decrypted: the server's "
                "CEKURA_OPTIMISE_SECRET has changed or its database was altered. Nothing was sent "
                "to Cekura. Disconnect and reconnect the connector to enter your key again."
            ) from None
        if fresh is not None:
            await self.store.rekey_grant(grant.id, fresh)
        return key
