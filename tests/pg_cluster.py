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


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A running server in a temp dir, stopped and removed afterwards; yields the URL of its
    `postgres` database (user `postgres`, trust). Raises `ClusterUnavailable` when it cannot."""
    bindir = binaries()
    if bindir is None:
        raise ClusterUnavailable(f"no initdb/pg_ctl found. {INSTALL_HINT}")
    prefix, user = _as_server_user()
    home = Path(tempfile.mkdtemp(prefix="cekura-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(home, entry.pw_uid, entry.pw_gid)
    data, log, port = home / "data", home / "server.log", _free_port()
    run = {"check": True, "capture_output": True, "text": True}
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    subprocess.run([*prefix, *initdb, "-E", "UTF8", "--no-sync"], **run)
    options = (
        f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
        " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run([*ctl, "-l", str(log), "-o", options, "-w", "start"], **run)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
