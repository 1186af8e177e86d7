"""A throwaway PostgreSQL server for the tests: `pg_url` (session) starts one in a temp dir from
the system's binaries and stops it at the end; `pg_database` gives each test a fresh database.

The server binaries come from PATH or /usr/lib/postgresql/*/bin (Debian's `postgresql` package).
`initdb` refuses to run as root, so as root the cluster runs as an unprivileged user (`postgres`,
which that package creates, else `nobody`) through `runuser`, in a temp dir it owns. Without the
binaries every PostgreSQL test skips with one line saying how to enable them."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SKIP_REASON = (
    "PostgreSQL tests skipped: no initdb/pg_ctl found. Install the server binaries to run them "
    "(Debian/Ubuntu: apt-get install -y postgresql)."
)
_names = itertools.count()


def _binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def report_header() -> str:
    """One line at the top of the test run: whether the PostgreSQL tests run, and how to enable
    them when they cannot."""
    bindir = _binaries()
    if bindir is None:
        return SKIP_REASON
    return f"PostgreSQL tests run on a throwaway server from {bindir}"


def _as_server_user() -> tuple[list[str], str | None]:
    """The command prefix that runs the server's tools unprivileged, and that user (as root)."""
    if os.geteuid() != 0:
        return [], None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], name
    pytest.skip("PostgreSQL tests skipped: running as root and no unprivileged user to run it as.")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A throwaway server in a temp dir on a free port: `start()`, `stop()` (it can start again on
    the same port and data), `remove()`; `url` names its `postgres` database (user `postgres`,
    trust). Skips the test when the binaries are missing."""

    def __init__(self) -> None:
        bindir = _binaries()
        if bindir is None:
            pytest.skip(SKIP_REASON)
        prefix, user = _as_server_user()
        self.home = Path(tempfile.mkdtemp(prefix="cekura-pg-"))
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.home, entry.pw_uid, entry.pw_gid)
        data, self.port = self.home / "data", _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        subprocess.run(
            [*prefix, *initdb, "-E", "UTF8", "--no-sync"], check=True, capture_output=True
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        log = str(self.home / "server.log")
        subprocess.run(
            [*self._ctl, "-l", log, "-o", options, "-w", "start"], check=True, capture_output=True
        )

    def stop(self, mode: str = "immediate") -> None:
        subprocess.run([*self._ctl, "-m", mode, "-w", "stop"], capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A running `Cluster`, stopped and removed at exit."""
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


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
