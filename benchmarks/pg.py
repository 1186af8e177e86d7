"""PostgreSQL for the benchmarks: a fresh database on the server `--database-url` names, or on a
throwaway server started from the system's binaries (the tests' `tests/pg_cluster.py`).

    with pg_database(None) as (url, why):   # url is None (and `why` says why) when no server can run
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from tests.pg_cluster import ClusterUnavailable, throwaway_cluster

_names = itertools.count()


@contextmanager
def pg_server(url: str | None) -> Iterator[tuple[str | None, str]]:
    """`url` itself, or a throwaway server's URL for the duration; (None, why) when there is none."""
    if url:
        yield url, ""
        return
    with ExitStack() as stack:
        try:
            started = stack.enter_context(throwaway_cluster()).url
        except (ClusterUnavailable, OSError) as exc:
            yield None, f"no PostgreSQL server: {exc}"
            return
        yield started, ""


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server, dropped afterwards; its URL."""
    import psycopg

    name = f"bench{os.getpid()}_{next(_names)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
