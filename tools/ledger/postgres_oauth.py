"""The OAuth state in PostgreSQL: the `oauth_*` tables beside the ledger's, each operation one
transaction, so every replica sees the same clients, consents, codes and tokens at once: a code
redeems once and a refresh token rotates once whichever replica is asked.

Implements `OAuthStorage`; tokens, codes and request ids arrive hashed, keys and secrets encrypted.
"""

from __future__ import annotations

import json
from typing import Any

from tools.ledger.oauth import (
    IDLE_CLIENT_S,
    UNUSED_CLIENT_S,
    Code,
    Grant,
    NewToken,
    Pending,
    StoredClient,
    Token,
    TokenKind,
)
from tools.ledger.postgres_db import Connection, PgDatabase, fetch_one


class PgOAuthStore:
    """`OAuthStorage` on a PostgreSQL database (its own small pool)."""

    def __init__(self, url: str) -> None:
        self._db = PgDatabase(url, pool_size=5)

    async def check(self) -> None:
        await self._db.check()

    async def aclose(self) -> None:
        await self._db.aclose()

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
        await self._run(
            "INSERT INTO oauth_clients (client_id, metadata, secret_enc, created_at, address)"
            " VALUES (%s, %s, %s, %s, %s)",
            row,
        )

    async def client(self, client_id: str) -> StoredClient | None:
        row = await self._one("SELECT * FROM oauth_clients WHERE client_id = %s", (client_id,))
        if row is None:
            return None
        return StoredClient(row["client_id"], json.loads(row["metadata"]), row["secret_enc"])

    async def client_count(self) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM oauth_clients", ())
        return int(row["n"]) if row else 0

    async def unused_clients(self, address: str) -> int:
        """How many registrations from `address` no consent has used yet."""
        row = await self._one(
            "SELECT COUNT(*) AS n FROM oauth_clients WHERE address = %s AND used_at IS NULL",
            (address,),
        )
        return int(row["n"]) if row else 0

    async def rekey_client(self, client_id: str, secret_enc: str) -> None:
        """Replace a client's encrypted secret."""
        await self._run(
            "UPDATE oauth_clients SET secret_enc = %s WHERE client_id = %s",
            (secret_enc, client_id),
        )

    # pending consents ---------------------------------------------------------------------

    async def add_pending(
        self, id_hash: str, client_id: str, params: dict[str, Any], expires_at: float
    ) -> None:
        await self._run(
            "INSERT INTO oauth_pending (id_hash, client_id, params, expires_at)"
            " VALUES (%s, %s, %s, %s)",
            (id_hash, client_id, json.dumps(params, sort_keys=True), expires_at),
        )

    async def pending(self, id_hash: str, now: float) -> Pending | None:
        row = await self._one(
            "SELECT * FROM oauth_pending WHERE id_hash = %s AND expires_at >= %s", (id_hash, now)
        )
        return _pending(row) if row else None

    async def count_attempt(self, id_hash: str) -> int:
        row = await self._one(
            "UPDATE oauth_pending SET attempts = attempts + 1 WHERE id_hash = %s"
            " RETURNING attempts",
            (id_hash,),
        )
        return int(row["attempts"]) if row else 0

    async def take_pending(self, id_hash: str, now: float) -> Pending | None:
        row = await self._one(
            "DELETE FROM oauth_pending WHERE id_hash = %s RETURNING *", (id_hash,)
        )
        return _pending(row) if row and row["expires_at"] >= now else None

    # grants and codes ---------------------------------------------------------------------

    async def add_grant_with_code(self, grant: Grant, code_hash: str, code: Code) -> None:
        async def add(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO oauth_grants (id, client_id, key_enc, scopes, created_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (grant.id, grant.client_id, grant.key_enc, _words(grant.scopes), grant.created_at),
            )
            await conn.execute(
                "INSERT INTO oauth_codes (code_hash, grant_id, client_id, redirect_uri,"
                " code_challenge, scopes, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
            await conn.execute(
                "UPDATE oauth_clients SET used_at = %s WHERE client_id = %s AND used_at IS NULL",
                (grant.created_at, grant.client_id),
            )

        await self._db.transaction(add)

    async def grant(self, grant_id: str) -> Grant | None:
        row = await self._one("SELECT * FROM oauth_grants WHERE id = %s", (grant_id,))
        if row is None:
            return None
        return Grant(
            row["id"], row["client_id"], row["key_enc"], row["scopes"].split(), row["created_at"]
        )

    async def rekey_grant(self, grant_id: str, key_enc: str) -> None:
        """Replace a grant's encrypted key."""
        await self._run("UPDATE oauth_grants SET key_enc = %s WHERE id = %s", (key_enc, grant_id))

    async def code(self, code_hash: str) -> Code | None:
        row = await self._one("SELECT * FROM oauth_codes WHERE code_hash = %s", (code_hash,))
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
        async def redeem(conn: Connection) -> bool:
            row = await fetch_one(
                conn,
                "UPDATE oauth_codes SET used_at = %s WHERE code_hash = %s AND used_at IS NULL"
                " AND expires_at >= %s AND client_id = %s RETURNING grant_id",
                (now, code_hash, now, client_id),
            )
            if row is None:
                return False
            await _insert_tokens(conn, row["grant_id"], client_id, scopes, tokens)
            return True

        return await self._db.transaction(redeem)

    # tokens -------------------------------------------------------------------------------

    async def token(self, token_hash: str, kind: TokenKind) -> Token | None:
        row = await self._one(
            "SELECT * FROM oauth_tokens WHERE token_hash = %s AND kind = %s", (token_hash, kind)
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
        async def rotate(conn: Connection) -> bool:
            row = await fetch_one(
                conn,
                "UPDATE oauth_tokens SET rotated_at = %s WHERE token_hash = %s"
                " AND kind = 'refresh' AND rotated_at IS NULL AND expires_at >= %s"
                " RETURNING grant_id, client_id",
                (now, old_hash, now),
            )
            if row is None:
                return False
            await conn.execute(
                "DELETE FROM oauth_tokens WHERE grant_id = %s AND kind = 'access'",
                (row["grant_id"],),
            )
            await _insert_tokens(conn, row["grant_id"], row["client_id"], scopes, tokens)
            return True

        return await self._db.transaction(rotate)

    async def revoke_grant(self, grant_id: str) -> None:
        async def revoke(conn: Connection) -> None:
            await conn.execute("DELETE FROM oauth_tokens WHERE grant_id = %s", (grant_id,))
            await conn.execute("DELETE FROM oauth_codes WHERE grant_id = %s", (grant_id,))
            await conn.execute("DELETE FROM oauth_grants WHERE id = %s", (grant_id,))

        await self._db.transaction(revoke)

    async def purge(self, now: float) -> None:
        """Drop what can no longer be used (as the SQLite store's `_purge` says)."""

        async def purge(conn: Connection) -> None:
            await conn.execute("DELETE FROM oauth_pending WHERE expires_at < %s", (now,))
            await conn.execute("DELETE FROM oauth_codes WHERE expires_at < %s", (now,))
            await conn.execute("DELETE FROM oauth_tokens WHERE expires_at < %s", (now,))
            await conn.execute(
                "DELETE FROM oauth_grants g WHERE"
                " NOT EXISTS (SELECT 1 FROM oauth_tokens t WHERE t.grant_id = g.id"
                "  AND t.kind = 'refresh' AND t.rotated_at IS NULL)"
                " AND NOT EXISTS (SELECT 1 FROM oauth_codes c WHERE c.grant_id = g.id"
                "  AND c.used_at IS NULL)"
            )
            await conn.execute(
                "DELETE FROM oauth_tokens WHERE grant_id NOT IN (SELECT id FROM oauth_grants)"
            )
            await conn.execute(
                "DELETE FROM oauth_clients WHERE"
                " (created_at < %s OR (used_at IS NULL AND created_at < %s))"
                " AND client_id NOT IN (SELECT client_id FROM oauth_grants)"
                " AND client_id NOT IN (SELECT client_id FROM oauth_pending)",
                (now - IDLE_CLIENT_S, now - UNUSED_CLIENT_S),
            )

        await self._db.transaction(purge)

    async def forget_secrets(self) -> None:
        """Forget every grant, code, token, pending consent and client secret."""

        async def forget(conn: Connection) -> None:
            for statement in (
                "DELETE FROM oauth_tokens",
                "DELETE FROM oauth_codes",
                "DELETE FROM oauth_grants",
                "DELETE FROM oauth_pending",
                "DELETE FROM oauth_clients WHERE secret_enc IS NOT NULL",
            ):
                await conn.execute(statement)

        await self._db.transaction(forget)

    # settings -----------------------------------------------------------------------------

    async def setting(self, name: str) -> str | None:
        """A value the authorization server keeps about itself."""
        row = await self._one("SELECT value FROM oauth_settings WHERE name = %s", (name,))
        return row["value"] if row else None

    async def save_setting(self, name: str, value: str) -> None:
        """Insert or replace one setting."""
        await self._run(
            "INSERT INTO oauth_settings (name, value) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    async def _one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        """The first row of one statement, in its own transaction."""
        return await self._db.transaction(lambda conn: fetch_one(conn, sql, params))

    async def _run(self, sql: str, params: tuple[Any, ...]) -> None:
        """One statement in its own transaction."""

        async def run(conn: Connection) -> None:
            await conn.execute(sql, params)

        await self._db.transaction(run)


async def _insert_tokens(
    conn: Connection, grant_id: str, client_id: str, scopes: list[str], tokens: list[NewToken]
) -> None:
    """Store new tokens (by hash) under their grant."""
    for token in tokens:
        await conn.execute(
            "INSERT INTO oauth_tokens (token_hash, kind, grant_id, client_id, scopes, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (token.token_hash, token.kind, grant_id, client_id, _words(scopes), token.expires_at),
        )


def _words(scopes: list[str]) -> str:
    """Scopes as one space-separated column."""
    return " ".join(scopes)


def _pending(row: dict[str, Any]) -> Pending:
    """A pending row as a `Pending`."""
    return Pending(row["client_id"], json.loads(row["params"]), row["attempts"], row["expires_at"])
