"""The OAuth store's SQLite schema, its in-place upgrades and its purge, apart from the
operations in `sqlite_oauth` so each stays short.

Registrations remember the address they came from (for the per-address quota) and when a consent
first used them; never-used ones go after `UNUSED_CLIENT_S`. The file uses incremental
auto-vacuum, so what a purge deletes is given back to the file system.
"""

from __future__ import annotations

import sqlite3

from tools.ledger.oauth import IDLE_CLIENT_S, UNUSED_CLIENT_S

SCHEMA = """
CREATE TABLE IF NOT EXISTS oauth_clients (
    client_id TEXT PRIMARY KEY,
    metadata TEXT NOT NULL,
    secret_enc TEXT,
    created_at REAL NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    used_at REAL
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
CREATE TABLE IF NOT EXISTS oauth_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS oauth_tokens_by_grant ON oauth_tokens(grant_id);
CREATE INDEX IF NOT EXISTS oauth_codes_by_grant ON oauth_codes(grant_id);
"""

_ADDED_CLIENT_COLUMNS = {
    "address": "ALTER TABLE oauth_clients ADD COLUMN address TEXT NOT NULL DEFAULT ''",
    "used_at": "ALTER TABLE oauth_clients ADD COLUMN used_at REAL",
}


def upgrade(db: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to SCHEMA (columns added since)."""
    have = {row["name"] for row in db.execute("PRAGMA table_info(oauth_clients)")}
    for column, statement in _ADDED_CLIENT_COLUMNS.items():
        if column not in have:
            db.execute(statement)
    db.execute(
        "CREATE INDEX IF NOT EXISTS oauth_clients_by_address ON oauth_clients(address, used_at)"
    )


def use_incremental_vacuum(db: sqlite3.Connection) -> bool:
    """Switch a file made without auto-vacuum to incremental auto-vacuum (one VACUUM, outside any
    transaction); False when another connection kept it busy (tried again at the next start)."""
    if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 0:
        return True
    try:
        db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        db.execute("VACUUM")
    except sqlite3.OperationalError:
        return False
    return True


def give_back_space(db: sqlite3.Connection) -> None:
    """Return the pages purges freed to the file system (outside any transaction)."""
    if db.execute("PRAGMA freelist_count").fetchone()[0]:
        db.executescript("PRAGMA incremental_vacuum;")


def purge(db: sqlite3.Connection, now: float) -> int:
    """Drop expired consents, codes and tokens, grants left with neither a live refresh token nor
    an unused code (their keys go with them), registrations no consent ever used after
    `UNUSED_CLIENT_S` and others idle for `IDLE_CLIENT_S` with no grant (neither while a pending
    consent holds them); returns how many rows went."""
    statements: list[tuple[str, tuple[float, ...]]] = [
        ("DELETE FROM oauth_pending WHERE expires_at < ?", (now,)),
        ("DELETE FROM oauth_codes WHERE expires_at < ?", (now,)),
        ("DELETE FROM oauth_tokens WHERE expires_at < ?", (now,)),
        (
            "DELETE FROM oauth_grants WHERE"
            " NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = oauth_grants.id"
            "  AND t.kind = 'refresh' AND t.rotated_at IS NULL)"
            " AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.grant_id = oauth_grants.id"
            "  AND c.used_at IS NULL)",
            (),
        ),
        ("DELETE FROM oauth_tokens WHERE grant_id NOT IN (SELECT id FROM oauth_grants)", ()),
        (
            "DELETE FROM oauth_clients WHERE"
            " (created_at < ? OR (used_at IS NULL AND created_at < ?))"
            " AND client_id NOT IN (SELECT client_id FROM oauth_grants)"
            " AND client_id NOT IN (SELECT client_id FROM oauth_pending)",
            (now - IDLE_CLIENT_S, now - UNUSED_CLIENT_S),
        ),
    ]
    return sum(db.execute(sql, args).rowcount for sql, args in statements)
