"""The OAuth state in SQLite: `oauth_*` tables in the ledger's database file, each operation one
short transaction on a worker thread (`SqliteFile`), so a locked file never blocks the event loop.

Implements `OAuthStorage`; tokens, codes and request ids arrive hashed, keys and secrets encrypted.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tools.ledger.oauth import (
    Code,
    Grant,
    NewToken,
    Pending,
    StoredClient,
    Token,
    TokenKind,
)
from tools.ledger.sqlite_file import SqliteFile
from tools.ledger.sqlite_oauth_sql import (
    SCHEMA,
    give_back_space,
    purge,
    upgrade,
    use_incremental_vacuum,
)


class OAuthStore:
    """`OAuthStorage` on the shared database file (WAL, busy timeout), like the ledger."""

    def __init__(self, path: Path | str) -> None:
        self._db = SqliteFile(path, SCHEMA)
        self.path = self._db.path
        self._db.write_now(upgrade)
        self._db.read_now(use_incremental_vacuum)

    @classmethod
    def open(cls, path: Path | str, now: float) -> OAuthStore:
        """The store at `path` with what expired while the server was down already purged; for
        start-up, outside any event loop."""
        store = cls(path)
        if store._db.write_now(lambda db: purge(db, now)):
            store._db.read_now(give_back_space)
        return store

    async def check(self) -> None:
        """Raise `LedgerUnavailable` unless the file opens and its schema is current."""
        await self._db.check()

    async def aclose(self) -> None:
        """Nothing to release: every operation opens and closes its own connection."""

    # clients --------------------------------------------------------------------------------

    async def save_client(
        self,
        client_id: str,
        metadata: dict[str, Any],
        secret_enc: str | None,
        now: float,
        address: str = "",
    ) -> None:
        """Register a client (its secret already encrypted) from `address`."""
        row = (client_id, json.dumps(metadata, sort_keys=True), secret_enc, now, address)
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO oauth_clients (client_id, metadata, secret_enc, created_at, address)"
                " VALUES (?, ?, ?, ?, ?)",
                row,
            )
        )

    async def client(self, client_id: str) -> StoredClient | None:
        """A registered client, or None."""
        row = await self._db.read(
            lambda db: db.execute(
                "SELECT * FROM oauth_clients WHERE client_id = ?", (client_id,)
            ).fetchone()
        )
        if row is None:
            return None
        return StoredClient(row["client_id"], json.loads(row["metadata"]), row["secret_enc"])

    async def client_count(self) -> int:
        """How many clients are registered."""
        return await self._db.read(
            lambda db: db.execute("SELECT COUNT(*) FROM oauth_clients").fetchone()[0]
        )

    async def unused_clients(self, address: str) -> int:
        """How many registrations from `address` no consent has used yet."""
        return await self._db.read(
            lambda db: db.execute(
                "SELECT COUNT(*) FROM oauth_clients WHERE address = ? AND used_at IS NULL",
                (address,),
            ).fetchone()[0]
        )

    async def rekey_client(self, client_id: str, secret_enc: str) -> None:
        """Replace a client's encrypted secret."""
        await self._db.write(
            lambda db: db.execute(
                "UPDATE oauth_clients SET secret_enc = ? WHERE client_id = ?",
                (secret_enc, client_id),
            )
        )

    # pending consents ---------------------------------------------------------------------

    async def add_pending(
        self, id_hash: str, client_id: str, params: dict[str, Any], expires_at: float
    ) -> None:
        """Park an authorization request until the person consents."""
        row = (id_hash, client_id, json.dumps(params, sort_keys=True), expires_at)
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO oauth_pending (id_hash, client_id, params, expires_at)"
                " VALUES (?, ?, ?, ?)",
                row,
            )
        )

    async def pending(self, id_hash: str, now: float) -> Pending | None:
        """A pending consent that has not expired."""
        row = await self._db.read(lambda db: _live_pending(db, id_hash, now))
        return _pending(row) if row else None

    async def count_attempt(self, id_hash: str) -> int:
        """One more key submitted for this consent; returns the count so far."""

        def count(db: sqlite3.Connection) -> int:
            db.execute(
                "UPDATE oauth_pending SET attempts = attempts + 1 WHERE id_hash = ?", (id_hash,)
            )
            row = db.execute(
                "SELECT attempts FROM oauth_pending WHERE id_hash = ?", (id_hash,)
            ).fetchone()
            return row["attempts"] if row else 0

        return await self._db.write(count)

    async def take_pending(self, id_hash: str, now: float) -> Pending | None:
        """Remove and return a pending consent: exactly one caller gets it."""

        def take(db: sqlite3.Connection) -> sqlite3.Row | None:
            row = _live_pending(db, id_hash, now)
            db.execute("DELETE FROM oauth_pending WHERE id_hash = ?", (id_hash,))
            return row

        row = await self._db.write(take)
        return _pending(row) if row else None

    # grants and codes ---------------------------------------------------------------------

    async def add_grant_with_code(self, grant: Grant, code_hash: str, code: Code) -> None:
        """Record a consent and the one code that can be exchanged for its first tokens."""

        def add(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO oauth_grants (id, client_id, key_enc, scopes, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (grant.id, grant.client_id, grant.key_enc, _words(grant.scopes), grant.created_at),
            )
            db.execute(
                "INSERT INTO oauth_codes (code_hash, grant_id, client_id, redirect_uri,"
                " code_challenge, scopes, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    code_hash,
                    grant.id,
                    code.client_id,
                    code.redirect_uri,
                    code.code_challenge,
                    _words(code.scopes),
                    code.expires_at,
                ),
            )
            db.execute(
                "UPDATE oauth_clients SET used_at = ? WHERE client_id = ? AND used_at IS NULL",
                (grant.created_at, grant.client_id),
            )

        await self._db.write(add)

    async def grant(self, grant_id: str) -> Grant | None:
        """A grant (with its encrypted key), or None once revoked or purged."""
        return await self._db.read(lambda db: _grant(db, grant_id))

    async def rekey_grant(self, grant_id: str, key_enc: str) -> None:
        """Replace a grant's encrypted key."""
        await self._db.write(
            lambda db: db.execute(
                "UPDATE oauth_grants SET key_enc = ? WHERE id = ?", (key_enc, grant_id)
            )
        )

    async def code(self, code_hash: str) -> Code | None:
        """A code by its hash, used or not."""
        row = await self._db.read(
            lambda db: db.execute(
                "SELECT * FROM oauth_codes WHERE code_hash = ?", (code_hash,)
            ).fetchone()
        )
        if row is None:
            return None
        return Code(
            row["grant_id"],
            row["client_id"],
            row["redirect_uri"],
            row["code_challenge"],
            row["scopes"].split(),
            row["expires_at"],
            row["used_at"],
        )

    async def redeem_code(
        self, code_hash: str, client_id: str, scopes: list[str], tokens: list[NewToken], now: float
    ) -> bool:
        """Mark an unexpired, unused code used and store its first tokens, atomically. False when
        the code was used already (or expired): nothing is issued then."""

        def redeem(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT grant_id FROM oauth_codes WHERE code_hash = ? AND used_at IS NULL"
                " AND expires_at >= ? AND client_id = ?",
                (code_hash, now, client_id),
            ).fetchone()
            if row is None:
                return False
            db.execute("UPDATE oauth_codes SET used_at = ? WHERE code_hash = ?", (now, code_hash))
            _insert_tokens(db, row["grant_id"], client_id, scopes, tokens)
            return True

        return await self._db.write(redeem)

    # tokens -------------------------------------------------------------------------------

    async def token(self, token_hash: str, kind: TokenKind) -> Token | None:
        """A token of this kind by its hash, rotated or not."""
        row = await self._db.read(
            lambda db: db.execute(
                "SELECT * FROM oauth_tokens WHERE token_hash = ? AND kind = ?", (token_hash, kind)
            ).fetchone()
        )
        if row is None:
            return None
        return Token(
            row["kind"],
            row["grant_id"],
            row["client_id"],
            row["scopes"].split(),
            row["expires_at"],
            row["rotated_at"],
        )

    async def rotate_refresh(
        self, old_hash: str, scopes: list[str], tokens: list[NewToken], now: float
    ) -> bool:
        """Exchange a live refresh token: mark it rotated (kept, so a replay is recognised), drop
        the grant's access tokens and store the new pair, atomically. False if it was not live."""

        def rotate(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT grant_id, client_id FROM oauth_tokens WHERE token_hash = ?"
                " AND kind = 'refresh' AND rotated_at IS NULL AND expires_at >= ?",
                (old_hash, now),
            ).fetchone()
            if row is None:
                return False
            db.execute(
                "UPDATE oauth_tokens SET rotated_at = ? WHERE token_hash = ?", (now, old_hash)
            )
            db.execute(
                "DELETE FROM oauth_tokens WHERE grant_id = ? AND kind = 'access'",
                (row["grant_id"],),
            )
            _insert_tokens(db, row["grant_id"], row["client_id"], scopes, tokens)
            return True

        return await self._db.write(rotate)

    async def revoke_grant(self, grant_id: str) -> None:
        """Forget a consent: its key, codes and every token issued from it."""

        def revoke(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM oauth_tokens WHERE grant_id = ?", (grant_id,))
            db.execute("DELETE FROM oauth_codes WHERE grant_id = ?", (grant_id,))
            db.execute("DELETE FROM oauth_grants WHERE id = ?", (grant_id,))

        await self._db.write(revoke)

    async def purge(self, now: float) -> None:
        """Drop what can no longer be used (see `purge`) and give the space back."""
        if await self._db.write(lambda db: purge(db, now)):
            await self._db.read(give_back_space)

    async def forget_secrets(self) -> None:
        """Forget every grant, code, token, pending consent and client secret."""

        def forget(db: sqlite3.Connection) -> None:
            for table in ("oauth_tokens", "oauth_codes", "oauth_grants", "oauth_pending"):
                db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM oauth_clients WHERE secret_enc IS NOT NULL")

        await self._db.write(forget)
        await self._db.read(give_back_space)

    # settings -----------------------------------------------------------------------------

    async def setting(self, name: str) -> str | None:
        """A value the authorization server keeps about itself."""
        row = await self._db.read(
            lambda db: db.execute(
                "SELECT value FROM oauth_settings WHERE name = ?", (name,)
            ).fetchone()
        )
        return row["value"] if row else None

    async def save_setting(self, name: str, value: str) -> None:
        """Insert or replace one setting."""
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO oauth_settings (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
        )


def _live_pending(db: sqlite3.Connection, id_hash: str, now: float) -> sqlite3.Row | None:
    """The pending row for this id hash, unless it has expired."""
    return db.execute(
        "SELECT * FROM oauth_pending WHERE id_hash = ? AND expires_at >= ?", (id_hash, now)
    ).fetchone()


def _grant(db: sqlite3.Connection, grant_id: str) -> Grant | None:
    """The grant row as a `Grant`, or None."""
    row = db.execute("SELECT * FROM oauth_grants WHERE id = ?", (grant_id,)).fetchone()
    if row is None:
        return None
    return Grant(
        row["id"], row["client_id"], row["key_enc"], row["scopes"].split(), row["created_at"]
    )


def _insert_tokens(
    db: sqlite3.Connection, grant_id: str, client_id: str, scopes: list[str], tokens: list[NewToken]
) -> None:
    """Store new tokens (by hash) under their grant."""
    for token in tokens:
        db.execute(
            "INSERT INTO oauth_tokens (token_hash, kind, grant_id, client_id, scopes, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token.token_hash, token.kind, grant_id, client_id, _words(scopes), token.expires_at),
        )


def _words(scopes: list[str]) -> str:
    """Scopes as one space-separated column."""
    return " ".join(scopes)


def _pending(row: sqlite3.Row) -> Pending:
    """A pending row as a `Pending`."""
    return Pending(row["client_id"], json.loads(row["params"]), row["attempts"], row["expires_at"])
