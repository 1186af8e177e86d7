"""The README's "Use it from claude.ai and `/schedule`" walk-through, step by step, on loopback
against the sandbox, as a new person would follow it: the server started by the README's command,
an off-the-shelf MCP OAuth client (the SDK's) adding the connector, the person authorising on the
consent page, the tools listed, the routine run, and what is stored.

The README starts the sandbox with `cekura-optimise sandbox --port 8765` (tested in test_cli); here
the same sandbox app, accepting any key as that command does, is served in-process with optimiser
runs that finish at their first poll, so the test does not sit through the real poll intervals."""

import re
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import httpx2
import pytest
from e2e import CALLBACK, ROOT, SERVER_SECRET, form_field, free_port, redirect_params
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from pydantic import AnyUrl

from sandbox import SandboxState, start_background

pytestmark = pytest.mark.anyio
README = (ROOT / "README.md").read_text()
RUN = "import sys; from server.cli import main; sys.exit(main(sys.argv[1:]))"
KEY = "ck_walkthrough_any_key_42"


def _section() -> str:
    start = README.index("## Use it from claude.ai and `/schedule`")
    end = README.find("\n## ", start + 5)
    return README[start : end if end != -1 else None]


def _commands(section: str) -> list[str]:
    """The shell commands of the section's code blocks, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [line for block in blocks for line in block.replace("\\\n", " ").splitlines() if line]


@contextmanager
def _run(args: list[str], env: dict[str, str], port: int, log: Path):
    """Start `cekura-optimise <args>` (the console script's entry point) and wait for `port`."""
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", RUN, *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(log.read_text())
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.05)
            yield
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _as_args(command: str, ports: dict[str, str]) -> list[str]:
    """A README command line as arguments for the CLI, with the loopback ports swapped in."""
    for fixed, free in ports.items():
        command = command.replace(fixed, free)
    words = command.replace("&", "").split()
    start = next(i for i, w in enumerate(words) if w.endswith("cekura-optimise"))
    return words[start + 1 :]


class Memory:
    """Token storage for the SDK's OAuth client (what a connector keeps)."""

    def __init__(self) -> None:
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens) -> None:
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info) -> None:
        self.client = client_info


async def test_the_readme_walkthrough_on_loopback(tmp_path):
    section = _section()
    commands = _commands(section)
    local = [c for c in commands if "8765" in c]
    assert any(c.startswith(".venv/bin/cekura-optimise sandbox --port 8765") for c in local)
    serve_cmd = next(c for c in local if " serve " in c and "--oauth" in c)
    assert "--public-url http://127.0.0.1:8000" in serve_cmd
    assert "--base-url http://127.0.0.1:8765" in serve_cmd
    assert any("claude mcp add --transport http" in c and "8000/mcp" in c for c in commands)
    assert any(c.startswith("export CEKURA_OPTIMISE_SECRET=") for c in commands)
    sandbox = start_background(SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0))
    ports = {"8000": str(free_port()), "http://127.0.0.1:8765": sandbox.url}  # in this order
    env = {
        "PATH": "",
        "HOME": str(tmp_path),
        "CEKURA_OPTIMISE_STATE_DIR": str(tmp_path / "state"),
        "CEKURA_OPTIMISE_SECRET": SERVER_SECRET,
    }
    public = f"http://127.0.0.1:{ports['8000']}"

    # 1. deploy: the server, exactly as the README starts it, in front of the sandbox
    with sandbox, _run(_as_args(serve_cmd, ports), env, int(ports["8000"]), tmp_path / "log"):
        # 2.-3. add the connector and authorise: the client discovers, registers and sends the
        # person to the consent page, where they paste their key and allow
        person = httpx.AsyncClient(timeout=20)
        landed: dict[str, str] = {}

        async def open_browser(url: str) -> None:
            page = await person.get(url)
            assert page.status_code == 302
            consent = await person.get(page.headers["location"])
            assert "Your Cekura API key" in consent.text
            form = {
                "request": form_field(consent.text, "request"),
                "csrf_token": form_field(consent.text, "csrf_token"),
                "api_key": KEY,
                "decision": "allow",
            }
            done = await person.post(f"{public}/oauth/consent", data=form)
            assert done.status_code == 303, done.text
            assert done.headers["location"].startswith(CALLBACK)
            landed.update(redirect_params(done))

        async def callback() -> AuthorizationCodeResult:
            return AuthorizationCodeResult(code=landed["code"], state=landed["state"])

        auth = OAuthClientProvider(
            server_url=f"{public}/mcp",
            client_metadata=OAuthClientMetadata(
                client_name="walkthrough connector", redirect_uris=[AnyUrl(CALLBACK)]
            ),
            storage=Memory(),
            redirect_handler=open_browser,
            callback_handler=callback,
        )
        async with (
            person,
            httpx2.AsyncClient(auth=auth, timeout=60) as http,
            Client(streamable_http_client(f"{public}/mcp", http_client=http)) as client,
        ):
            # 4. allow the tools: these are the ones a routine calls
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert "optimise_metrics" in tools
            assert tools["diff_proposal"].annotations.read_only_hint
            # 5. paste the routine: its text asks for one optimise_metrics call
            routine = await client.get_prompt("optimise_routine_apply", {"metric_ids": "101,104"})
            assert "optimise_metrics" in routine.messages[0].content.text
            result = await client.call_tool(
                "optimise_metrics",
                {"metric_ids": [101, 104], "apply": True, "on_questions": "stop"},
            )
    statuses = {m["metric_id"]: m["status"] for m in result.structured_content["metrics"]}
    assert statuses == {101: "applied", 104: "not_applied_regressed"}

    # what the README says the server stores about each person
    state = tmp_path / "state"
    assert "in the one shared ledger, each row under your tenant id" in section
    assert not (state / "tenants").exists()
    ledger = sqlite3.connect(state / "ledger.sqlite3")
    (tenants,) = ledger.execute("SELECT COUNT(DISTINCT tenant) FROM runs WHERE tenant != ''")
    ledger.close()
    assert tenants == (1,)
    assert KEY.encode() not in b"".join(p.read_bytes() for p in state.rglob("*") if p.is_file())
