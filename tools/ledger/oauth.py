"""What the OAuth authorization server keeps, whatever stores it: registered clients, pending
consents, grants, codes and tokens, and the `OAuthStorage` operations the provider, the consent
page and tenancy use.

Nothing secret is handed to a store in the clear: tokens, codes and pending-request ids arrive as
SHA-256 hashes, a grant's Cekura key and a client's secret as Fernet ciphertext. A grant is one
person's consent: the key, the client and the tokens issued from it; revoking it deletes all of
that. Every operation is one transaction; a backend raises `LedgerUnavailable` when it fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

IDLE_CLIENT_S = 3600.0
UNUSED_CLIENT_S = 600.0

TokenKind = Literal["access", "refresh"]


@dataclass(frozen=True)
class StoredClient:
    """A registered client: its metadata, and its secret only as ciphertext."""

    client_id: str
    metadata: dict[str, Any]
    secret_enc: str | None


@dataclass(frozen=True)
class Pending:
    """An authorization parked until the person answers the consent page."""

    client_id: str
    params: dict[str, Any]
    attempts: int
    expires_at: float


@dataclass(frozen=True)
class Grant:
    """One person's consent: their encrypted Cekura key and the scopes they allowed a client."""

    id: str
    client_id: str
    key_enc: str
    scopes: list[str]
    created_at: float


@dataclass(frozen=True)
class Code:
    """An authorization code (stored by hash), exchangeable once for a grant's first tokens."""

    grant_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    scopes: list[str]
    expires_at: float
    used_at: float | None


@dataclass(frozen=True)
class Token:
    """An access or refresh token (stored by hash); a rotated refresh token stays for replays."""

    kind: TokenKind
    grant_id: str
    client_id: str
    scopes: list[str]
    expires_at: float
    rotated_at: float | None


@dataclass(frozen=True)
class NewToken:
    """A token about to be stored: its hash, never the token."""

    token_hash: str
    kind: TokenKind
    expires_at: float


class OAuthStorage(Protocol):
    """The OAuth state shared by every process of a deployment; each call is one transaction."""

    async def check(self) -> None:
        """Raise LedgerUnavailable unless the database answers and its schema is current."""
        ...

    async def aclose(self) -> None:
        """Release the store's connections (at shutdown)."""
        ...

    async def save_client(
        self,
        client_id: str,
        metadata: dict[str, Any],
        secret_enc: str | None,
        now: float,
        address: str = "",
    ) -> None:
        """Register a client (its secret already encrypted), remembering the address it came
        from for `unused_clients`."""
        ...

    async def client(self, client_id: str) -> StoredClient | None:
        """A registered client, or None."""
        ...

    async def client_count(self) -> int:
        """How many clients are registered, to cap registrations."""
        ...

    async def unused_clients(self, address: str) -> int:
        """How many registrations from `address` no consent has used yet (a per-address quota)."""
        ...

    async def rekey_client(self, client_id: str, secret_enc: str) -> None:
        """Replace a client's encrypted secret (re-encrypted under a new server secret)."""
        ...

    async def add_pending(
        self, id_hash: str, client_id: str, params: dict[str, Any], expires_at: float
    ) -> None:
        """Park an authorization request under the hash of its id until the person consents."""
        ...

    async def pending(self, id_hash: str, now: float) -> Pending | None:
        """A pending consent that has not expired."""
        ...

    async def count_attempt(self, id_hash: str) -> int:
        """One more key submitted for this consent; returns the count so far."""
        ...

    async def take_pending(self, id_hash: str, now: float) -> Pending | None:
        """Remove and return a pending consent: exactly one caller gets it."""
        ...

    async def add_grant_with_code(self, grant: Grant, code_hash: str, code: Code) -> None:
        """Record a consent and the one code that can be exchanged for its first tokens, and mark
        the grant's client used (kept for `IDLE_CLIENT_S` rather than `UNUSED_CLIENT_S`)."""
        ...

    async def grant(self, grant_id: str) -> Grant | None:
        """A grant (with its encrypted key), or None once revoked or purged."""
        ...

    async def rekey_grant(self, grant_id: str, key_enc: str) -> None:
        """Replace a grant's encrypted key (re-encrypted under a new server secret)."""
        ...

    async def code(self, code_hash: str) -> Code | None:
        """A code by its hash, used or not, so a replay can be recognised."""
        ...

    async def redeem_code(
        self, code_hash: str, client_id: str, scopes: list[str], tokens: list[NewToken], now: float
    ) -> bool:
        """Mark an unexpired, unused code used and store its first tokens, atomically. False when
        the code was used already (or expired): nothing is issued then."""
        ...

    async def token(self, token_hash: str, kind: TokenKind) -> Token | None:
        """A token of this kind by its hash, rotated or not."""
        ...

    async def rotate_refresh(
        self, old_hash: str, scopes: list[str], tokens: list[NewToken], now: float
    ) -> bool:
        """Exchange a live refresh token: mark it rotated (kept, so a replay is recognised), drop
        the grant's access tokens and store the new pair, atomically. False if it was not live."""
        ...

    async def revoke_grant(self, grant_id: str) -> None:
        """Forget a consent: its key, codes and every token issued from it."""
        ...

    async def purge(self, now: float) -> None:
        """Drop what can no longer be used: expired consents, codes and tokens, grants left with
        neither a live refresh token nor an unused code (their keys go with them), and client
        registrations with no grant or pending consent that no consent ever used after
        `UNUSED_CLIENT_S`, or older than `IDLE_CLIENT_S`. Deleted rows give their space back."""
        ...

    async def forget_secrets(self) -> None:
        """Forget everything encrypted under an abandoned server secret: every grant (with its
        key), code, token and pending consent, and every client registration holding a secret."""
        ...

    async def setting(self, name: str) -> str | None:
        """A value the authorization server keeps about itself (e.g. the secret canary)."""
        ...

    async def save_setting(self, name: str, value: str) -> None:
        """Set (insert or replace) one such value."""
        ...
