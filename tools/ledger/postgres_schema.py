"""The PostgreSQL schema of the ledger and the OAuth store, as numbered migrations.

One database holds both, under one `schema_version` row. Start-up applies the missing migrations
inside one transaction holding an advisory lock, so replicas starting together against an empty
database wait for one another and exactly one of them creates each version. Times are Unix
seconds (`DOUBLE PRECISION`); JSON columns hold text, as in SQLite, so the two backends share one
way of reading rows."""

from __future__ import annotations

from psycopg import AsyncConnection

from tools.ledger import LedgerUnavailable
from tools.ledger.models import INFLIGHT, LIVE_APPLY, WRITING

LOCK_KEY = 0x63656B75  # "ceku": the advisory lock all replicas take to create or upgrade


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


_LEDGER = f"""
CREATE TABLE runs (
    id BIGSERIAL PRIMARY KEY,
    metric_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    progress_id TEXT,
    fingerprint TEXT NOT NULL,
    owner TEXT NOT NULL,
    test_set_ids TEXT,
    started_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    proposal_id TEXT,
    metric_fingerprint TEXT,
    result TEXT,
    note TEXT,
    tenant TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX one_inflight_run ON runs(metric_id) WHERE status IN ({_quoted(INFLIGHT)});
CREATE INDEX runs_by_metric ON runs(metric_id, tenant);
CREATE INDEX runs_by_progress_id ON runs(progress_id);
CREATE TABLE run_joins (
    run_id BIGINT NOT NULL REFERENCES runs(id),
    tenant TEXT NOT NULL,
    PRIMARY KEY (run_id, tenant)
);
CREATE INDEX run_joins_by_tenant ON run_joins(tenant);
CREATE TABLE proposal_joins (
    proposal_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    PRIMARY KEY (proposal_id, tenant)
);
CREATE TABLE proposals (
    id TEXT PRIMARY KEY,
    seq BIGSERIAL,
    metric_id BIGINT NOT NULL,
    run_id BIGINT,
    progress_id TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    metric_fingerprint TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX proposals_by_metric ON proposals(metric_id);
CREATE TABLE applies (
    id BIGSERIAL PRIMARY KEY,
    proposal_id TEXT NOT NULL,
    metric_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL,
    lease BIGINT NOT NULL DEFAULT 0,
    history_id_before BIGINT,
    replaced TEXT,
    started_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    body TEXT,
    tenant TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX one_live_apply ON applies(proposal_id) WHERE status IN ({_quoted(LIVE_APPLY)});
CREATE UNIQUE INDEX one_write_per_metric ON applies(metric_id) WHERE status IN ({_quoted(WRITING)});
CREATE INDEX applies_by_metric ON applies(metric_id, tenant);
"""

_OAUTH = """
CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY,
    metadata TEXT NOT NULL,
    secret_enc TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    used_at DOUBLE PRECISION
);
CREATE TABLE oauth_pending (
    id_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    params TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    key_enc TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    used_at DOUBLE PRECISION
);
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    grant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    rotated_at DOUBLE PRECISION
);
CREATE TABLE oauth_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens(grant_id);
CREATE INDEX oauth_codes_by_grant ON oauth_codes(grant_id);
CREATE INDEX oauth_clients_by_address ON oauth_clients(address, used_at);
"""

# Migration n (1-based) brings the schema from version n-1 to n. Append; never edit a released one.
MIGRATIONS: tuple[str, ...] = (_LEDGER + _OAUTH,)
SCHEMA_VERSION = len(MIGRATIONS)


async def ensure_schema(conn: AsyncConnection) -> None:
    """Create or upgrade the schema to `SCHEMA_VERSION`, one process at a time (advisory lock
    held to the end of the transaction). A database newer than this server is refused."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = await (await conn.execute("SELECT version FROM schema_version")).fetchone()
        current = 0 if row is None else row["version"]
        if current > SCHEMA_VERSION:
            raise LedgerUnavailable(_newer(current))
        for migration in MIGRATIONS[current:]:
            await conn.execute(migration)
        if row is None:
            await conn.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
        elif current != SCHEMA_VERSION:
            await conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION,))


async def schema_version(conn: AsyncConnection) -> int | None:
    """The database's schema version, or None when it has none yet."""
    exists = await (
        await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL AS present")
    ).fetchone()
    if not exists or not exists["present"]:
        return None
    row = await (await conn.execute("SELECT version FROM schema_version")).fetchone()
    return None if row is None else row["version"]


def _newer(version: int) -> RuntimeError:
    return RuntimeError(
        f"the database's schema is version {version}, newer than this server's "
        f"{SCHEMA_VERSION}; upgrade cekura-optimise on every replica"
    )


def not_current(version: int | None) -> RuntimeError:
    """Why a database at `version` cannot be used by this server."""
    if version is not None and version > SCHEMA_VERSION:
        return _newer(version)
    return RuntimeError(
        f"the database's schema is version {version or 0}, this server needs {SCHEMA_VERSION}; "
        "restart a replica to upgrade it"
    )
