"""A throwaway PostgreSQL server for the tests: `pg_url` (session) starts one in a temp dir from
the system's binaries and stops it at the end (see `pg_cluster`); `pg_database` gives each test a
fresh database. Without the binaries every PostgreSQL test skips with one line saying how to
enable them."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pg_cluster
import pytest
from pg_cluster import INSTALL_HINT, Cluster, ClusterUnavailable, binaries

SKIP_REASON = f"PostgreSQL tests skipped: no initdb/pg_ctl found. {INSTALL_HINT}"
_names = itertools.count()


def report_header() -> str:
    """One line at the top of the test run: whether the PostgreSQL tests run, and how to enable
    them when they cannot."""
    bindir = binaries()
    if bindir is None:
        return SKIP_REASON
    return f"PostgreSQL tests run on a throwaway server from {bindir}"


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A running throwaway `Cluster` (see `pg_cluster`), or the test skipped with how to enable
    PostgreSQL tests."""
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(pg_cluster.throwaway_cluster())
        except ClusterUnavailable as exc:
            pytest.skip(f"PostgreSQL tests skipped: {exc}")
        yield cluster


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The URL of a running throwaway server's `postgres` database (user `postgres`, trust)."""
    with throwaway_cluster() as cluster:
        yield cluster.url


def create_database(pg_url: str) -> str:
    """A new empty database on the server; its URL."""
    import psycopg

    name = f"t{os.getpid()}_{next(_names)}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(pg_url: str, url: str) -> None:
    """Drop a database made by `create_database`, closing whatever still connects to it."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    url = create_database(pg_url)
    yield url
    drop_database(pg_url, url)
