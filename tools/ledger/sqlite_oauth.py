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
    IDLE_CLIENT_S,
    Code,
    Grant,
    NewToken,
    Pending,
    StoredClient,
    Token,
    TokenKind,
)
from tools.ledger.sqlite_file import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_clients (
    client_id TEXT PRIMARY KEY,
    metadata TEXT NOT NULL,
    secret_enc TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_pending (
    id_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    params TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    key_enc TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS oauth_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
CREATE TABLE IF NOT EXISTS oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at REAL NOT NULL,
    rotated_at REAL
);
CREATE INDEX IF NOT EXISTS oauth_tokens_by_grant ON oauth_tokens(grant_id);
CREATE INDEX IF NOT EXISTS oauth_codes_by_grant ON oauth_codes(grant_id);
"""


class OAuthStore:
    """`OAuthStorage` on the shared database file (WAL, busy timeout), like the ledger."""

    def __init__(self, path: Path | str) -> None:
        self._db = SqliteFile(path, _SCHEMA)
        self.path = self._db.path

    @classmethod
    def open(cls, path: Path | str, now: float) -> OAuthStore:
        """The store at `path` with what expired while the server was down already purged; for
        start-up, outside any event loop."""
        store = cls(path)
        store._db.write_now(lambda db: _purge(db, now))
        return store

    async def check(self) -> None:
        """The file answers and holds the OAuth tables."""
        await self._db.read(lambda db: db.execute("SELECT 1 FROM oauth_tokens LIMIT 1").fetchall())

    async def aclose(self) -> None:
        """Nothing to release: every operation opens and closes its own connection."""

    # clients --------------------------------------------------------------------------------

    async def save_client(
        self, client_id: str, metadata: dict[str, Any], secret_enc: str | None, now: float
    ) -> None:
        """Register a client (its secret already encrypted)."""
        row = (client_id, json.dumps(metadata, sort_keys=True), secret_enc, now)
        await self._db.write(
            lambda db: db.execute(
                "INSERT INTO oauth_clients (client_id, metadata, secret_enc, created_at)"
                " VALUES (?, ?, ?, ?)",
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

        await self._db.write(add)

    async def grant(self, grant_id: str) -> Grant | None:
        """A grant (with its encrypted key), or None once revoked or purged."""
        return await self._db.read(lambda db: _grant(db, grant_id))

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
        """Drop what can no longer be used (see `_purge`)."""
        await self._db.write(lambda db: _purge(db, now))


def _purge(db: sqlite3.Connection, now: float) -> None:
    """Drop expired consents, codes and tokens, grants left with neither a live refresh token nor
    an unused code (their keys go with them), and client registrations idle for `IDLE_CLIENT_S`
    with no grant or pending consent (a client that comes back registers again), so registration
    spam cannot fill the table for good."""
    db.execute("DELETE FROM oauth_pending WHERE expires_at < ?", (now,))
    db.execute("DELETE FROM oauth_codes WHERE expires_at < ?", (now,))
    db.execute("DELETE FROM oauth_tokens WHERE expires_at < ?", (now,))
    db.execute(
        "DELETE FROM oauth_grants WHERE"
        " NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = oauth_grants.id"
        "  AND t.kind = 'refresh' AND t.rotated_at IS NULL)"
        " AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.grant_id = oauth_grants.id"
        "  AND c.used_at IS NULL)"
    )
    db.execute("DELETE FROM oauth_tokens WHERE grant_id NOT IN (SELECT id FROM oauth_grants)")
    db.execute(
        "DELETE FROM oauth_clients WHERE created_at < ?"
        " AND client_id NOT IN (SELECT client_id FROM oauth_grants)"
        " AND client_id NOT IN (SELECT client_id FROM oauth_pending)",
        (now - IDLE_CLIENT_S,),
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
