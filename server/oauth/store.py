"""OAuth state at rest: clients, pending consents, codes, grants and tokens, in SQLite.

The tables live in the ledger database file (their own `oauth_*` tables). Nothing secret is stored
in the clear: tokens, codes and pending-request ids only as SHA-256 hashes; a grant's Cekura key and
a client's secret only as Fernet ciphertext. A grant is one person's consent: the key, the client
and the tokens issued from it; revoking it deletes all of that.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.ledger.sqlite_file import SqliteFile

IDLE_CLIENT_S = 3600.0

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


@dataclass(frozen=True)
class StoredClient:
    client_id: str
    metadata: dict[str, Any]
    secret_enc: str | None


@dataclass(frozen=True)
class Pending:
    client_id: str
    params: dict[str, Any]
    attempts: int
    expires_at: float


@dataclass(frozen=True)
class Grant:
    id: str
    client_id: str
    key_enc: str
    scopes: list[str]
    created_at: float


@dataclass(frozen=True)
class Code:
    grant_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    scopes: list[str]
    expires_at: float
    used_at: float | None


@dataclass(frozen=True)
class Token:
    kind: str
    grant_id: str
    client_id: str
    scopes: list[str]
    expires_at: float
    rotated_at: float | None


@dataclass(frozen=True)
class NewToken:
    """A token about to be stored: its hash, never the token."""

    token_hash: str
    kind: str
    expires_at: float


class OAuthStore:
    """Short transactions on the shared database file (WAL, busy timeout), like the ledger."""

    def __init__(self, path: Path | str) -> None:
        self._db = SqliteFile(path, _SCHEMA)
        self.path = self._db.path

    # clients --------------------------------------------------------------------------------

    def save_client(
        self, client_id: str, metadata: dict[str, Any], secret_enc: str | None, now: float
    ) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO oauth_clients (client_id, metadata, secret_enc, created_at)"
                " VALUES (?, ?, ?, ?)",
                (client_id, json.dumps(metadata, sort_keys=True), secret_enc, now),
            )

    def client(self, client_id: str) -> StoredClient | None:
        with self._db.connect() as db:
            row = db.execute(
                "SELECT * FROM oauth_clients WHERE client_id = ?", (client_id,)
            ).fetchone()
        if row is None:
            return None
        return StoredClient(row["client_id"], json.loads(row["metadata"]), row["secret_enc"])

    def client_count(self) -> int:
        with self._db.connect() as db:
            return db.execute("SELECT COUNT(*) FROM oauth_clients").fetchone()[0]

    # pending consents ---------------------------------------------------------------------

    def add_pending(
        self, id_hash: str, client_id: str, params: dict[str, Any], expires_at: float
    ) -> None:
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO oauth_pending (id_hash, client_id, params, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (id_hash, client_id, json.dumps(params, sort_keys=True), expires_at),
            )

    def pending(self, id_hash: str, now: float) -> Pending | None:
        """A pending consent that has not expired."""
        with self._db.connect() as db:
            row = db.execute(
                "SELECT * FROM oauth_pending WHERE id_hash = ? AND expires_at >= ?", (id_hash, now)
            ).fetchone()
        return _pending(row) if row else None

    def count_attempt(self, id_hash: str) -> int:
        """One more key submitted for this consent; returns the count so far."""
        with self._db.transaction() as db:
            db.execute(
                "UPDATE oauth_pending SET attempts = attempts + 1 WHERE id_hash = ?", (id_hash,)
            )
            row = db.execute(
                "SELECT attempts FROM oauth_pending WHERE id_hash = ?", (id_hash,)
            ).fetchone()
        return row["attempts"] if row else 0

    def take_pending(self, id_hash: str, now: float) -> Pending | None:
        """Remove and return a pending consent: exactly one caller gets it."""
        with self._db.transaction() as db:
            row = db.execute(
                "SELECT * FROM oauth_pending WHERE id_hash = ? AND expires_at >= ?", (id_hash, now)
            ).fetchone()
            db.execute("DELETE FROM oauth_pending WHERE id_hash = ?", (id_hash,))
        return _pending(row) if row else None

    # grants and codes ---------------------------------------------------------------------

    def add_grant_with_code(self, grant: Grant, code_hash: str, code: Code) -> None:
        """Record a consent and the one code that can be exchanged for its first tokens."""
        with self._db.transaction() as db:
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

    def grant(self, grant_id: str) -> Grant | None:
        with self._db.connect() as db:
            row = db.execute("SELECT * FROM oauth_grants WHERE id = ?", (grant_id,)).fetchone()
        if row is None:
            return None
        return Grant(
            row["id"], row["client_id"], row["key_enc"], row["scopes"].split(), row["created_at"]
        )

    def code(self, code_hash: str) -> Code | None:
        with self._db.connect() as db:
            row = db.execute(
                "SELECT * FROM oauth_codes WHERE code_hash = ?", (code_hash,)
            ).fetchone()
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

    def redeem_code(
        self, code_hash: str, client_id: str, scopes: list[str], tokens: list[NewToken], now: float
    ) -> bool:
        """Mark an unexpired, unused code used and store its first tokens, atomically. False when
        the code was used already (or expired): nothing is issued then."""
        with self._db.transaction() as db:
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

    # tokens -------------------------------------------------------------------------------

    def token(self, token_hash: str, kind: str) -> Token | None:
        with self._db.connect() as db:
            row = db.execute(
                "SELECT * FROM oauth_tokens WHERE token_hash = ? AND kind = ?", (token_hash, kind)
            ).fetchone()
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

    def rotate_refresh(
        self, old_hash: str, scopes: list[str], tokens: list[NewToken], now: float
    ) -> bool:
        """Exchange a live refresh token: mark it rotated (kept, so a replay is recognised), drop
        the grant's access tokens and store the new pair, atomically. False if it was not live."""
        with self._db.transaction() as db:
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

    def revoke_grant(self, grant_id: str) -> None:
        """Forget a consent: its key, codes and every token issued from it."""
        with self._db.transaction() as db:
            db.execute("DELETE FROM oauth_tokens WHERE grant_id = ?", (grant_id,))
            db.execute("DELETE FROM oauth_codes WHERE grant_id = ?", (grant_id,))
            db.execute("DELETE FROM oauth_grants WHERE id = ?", (grant_id,))

    def purge(self, now: float) -> None:
        """Drop what can no longer be used: expired consents, codes and tokens, grants left with
        neither a live refresh token nor an unexpired code (their keys go with them), and client
        registrations idle for `IDLE_CLIENT_S` with no grant (a client that comes back registers
        again), so registration spam cannot fill the table for good."""
        with self._db.transaction() as db:
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
            db.execute(
                "DELETE FROM oauth_tokens WHERE grant_id NOT IN (SELECT id FROM oauth_grants)"
            )
            db.execute(
                "DELETE FROM oauth_clients WHERE created_at < ?"
                " AND client_id NOT IN (SELECT client_id FROM oauth_grants)"
                " AND client_id NOT IN (SELECT client_id FROM oauth_pending)",
                (now - IDLE_CLIENT_S,),
            )


def _insert_tokens(
    db: sqlite3.Connection, grant_id: str, client_id: str, scopes: list[str], tokens: list[NewToken]
) -> None:
    for token in tokens:
        db.execute(
            "INSERT INTO oauth_tokens (token_hash, kind, grant_id, client_id, scopes, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token.token_hash, token.kind, grant_id, client_id, _words(scopes), token.expires_at),
        )


def _words(scopes: list[str]) -> str:
    return " ".join(scopes)


def _pending(row: sqlite3.Row) -> Pending:
    return Pending(row["client_id"], json.loads(row["params"]), row["attempts"], row["expires_at"])
