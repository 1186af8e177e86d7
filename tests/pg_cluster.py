"""Starting and stopping a throwaway PostgreSQL server from the system's binaries, for the tests
(`tests/pg.py`) and the benchmarks; no pytest here, so `python -m benchmarks` can use it too.

The server binaries come from PATH or /usr/lib/postgresql/*/bin (Debian's `postgresql` package).
`initdb` refuses to run as root, so as root the cluster runs as an unprivileged user (`postgres`,
which that package creates, else `nobody`) through `runuser`, in a temp dir it owns."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INSTALL_HINT = "Install the server binaries (Debian/Ubuntu: apt-get install -y postgresql)."


class ClusterUnavailable(Exception):
    """No server can be started here; the message says why and what to do."""


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


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
    raise ClusterUnavailable("running as root and no unprivileged user to run PostgreSQL as.")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A throwaway server in a temp dir on a free port: `start()`, `stop()` (it can start again on
    the same port and data), `remove()`; `url` names its `postgres` database (user `postgres`,
    trust). Raises `ClusterUnavailable` when no server can be made here."""

    def __init__(self) -> None:
        bindir = binaries()
        if bindir is None:
            raise ClusterUnavailable(f"no initdb/pg_ctl found. {INSTALL_HINT}")
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
