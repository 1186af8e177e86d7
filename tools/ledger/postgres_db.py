"""One PostgreSQL database shared by every replica: an async connection pool, opened on first use
(where the schema is brought up to date), transactions, the database's clock, and the one place
that names psycopg's errors, turning them into `LedgerUnavailable`.

The ledger and the OAuth store each sit on one of these. The database URL may hold a password, so
no error, log line or result ever carries it: errors are rebuilt from the driver's message with
the URL and the password cut out, and not chained to the driver's exception."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import anyio
import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from tools.ledger import LedgerUnavailable
from tools.ledger.postgres_clock import DatabaseClock
from tools.ledger.postgres_schema import (
    SCHEMA_VERSION,
    ensure_schema,
    not_current,
    schema_version,
)

T = TypeVar("T")
Connection = AsyncConnection[dict[str, Any]]
CONNECT_TIMEOUT_S = 10.0
CHECK_TIMEOUT_S = 5.0
TRANSACTION_TIMEOUT_S = 30.0
POOL_SIZE = 10
_CONNECTION: dict[str, Any] = {
    "autocommit": True,
    "row_factory": dict_row,
    "connect_timeout": int(CONNECT_TIMEOUT_S),
}


class PgDatabase:
    """A pool of connections to one database; `transaction(fn)` runs `fn(connection)` in one
    transaction (rolled back if it raises)."""

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        password = _password(url)
        self._url = url
        self._secrets = [s for s in (url, password, password and unquote(password)) if s]
        self._pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            url,
            open=False,
            min_size=1,
            max_size=pool_size,
            timeout=CONNECT_TIMEOUT_S,
            kwargs=_CONNECTION,
            check=AsyncConnectionPool.check_connection,
        )
        self.clock = DatabaseClock()
        self._ready = False
        self._opening = anyio.Lock()

    async def transaction(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        """`fn` inside one transaction on a pooled connection. A caller cancelled meanwhile still
        gets the outcome (cancelled at its next checkpoint), as with SQLite's worker threads: a
        claim committed while its COMMIT was in flight must not be lost to its caller, or it
        would hold the metric for a whole lease. Bounded by TRANSACTION_TIMEOUT_S."""
        deadline = anyio.current_time() + TRANSACTION_TIMEOUT_S
        with anyio.CancelScope(shield=True, deadline=deadline):
            return await self._transaction(fn)
        raise self.unavailable(
            TimeoutError(f"no answer from the database within {TRANSACTION_TIMEOUT_S:.0f} s")
        )

    async def _transaction(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        try:
            await self._open()
            async with self._pool.connection() as conn:
                await self._resync(conn)
                async with conn.transaction():
                    return await fn(conn)
        except PoolTimeout:
            raise self.unavailable(await self._why_unreachable()) from None
        except psycopg.Error as exc:
            raise self.unavailable(exc) from None

    async def check(self) -> None:
        """Raise LedgerUnavailable unless the database answers within `CHECK_TIMEOUT_S` and its
        schema is this server's version."""
        try:
            await self._open()
            async with self._pool.connection(timeout=CHECK_TIMEOUT_S) as conn:
                await self._resync(conn)
                version = await schema_version(conn)
        except PoolTimeout:
            raise self.unavailable(await self._why_unreachable()) from None
        except psycopg.Error as exc:
            raise self.unavailable(exc) from None
        if version != SCHEMA_VERSION:
            raise LedgerUnavailable(not_current(version))

    async def aclose(self) -> None:
        """Close the pool's connections."""
        await self._pool.close()

    def unavailable(self, exc: BaseException) -> LedgerUnavailable:
        """The driver's error as LedgerUnavailable, with the URL and password cut out."""
        error = LedgerUnavailable(exc)
        text = str(error)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        error.args = (text,)
        return error

    async def _open(self) -> None:
        """Open the pool, bring the schema up to date and anchor the clock, once per process.
        A database that is down keeps the pool open and retrying (never closed by a timeout), so
        a server started before its database works once the database is up."""
        if self._ready:
            return
        async with self._opening:
            if self._ready:
                return
            # one direct connection first: a database that cannot be reached says why at once
            async with await psycopg.AsyncConnection.connect(self._url, **_CONNECTION) as conn:
                await ensure_schema(conn)
                await self._resync(conn)
            await self._pool.open()
            self._ready = True

    async def _why_unreachable(self) -> BaseException:
        """The pool waited in vain for a connection: the error one direct attempt gets now (the
        pool only says it timed out)."""
        try:
            conn = await psycopg.AsyncConnection.connect(self._url, **_CONNECTION)
        except psycopg.Error as exc:
            return exc
        await conn.close()
        return RuntimeError(f"no free database connection within {CONNECT_TIMEOUT_S:.0f} s")

    async def _resync(self, conn: Connection) -> None:
        """Re-anchor the clock on the server's time when its anchor is old."""
        if not self.clock.stale:
            return

        async def server_time() -> float:
            cursor = await conn.execute("SELECT extract(epoch FROM clock_timestamp()) AS t")
            row = await cursor.fetchone()
            return float(row["t"]) if row else 0.0

        await self.clock.anchor(server_time)


async def fetch_one(conn: Connection, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
    """The first row of a query, or None."""
    return await (await conn.execute(sql, params)).fetchone()


def _password(url: str) -> str | None:
    """The password in a database URL, if any (to keep it out of errors)."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None
