"""Shared set-up for end-to-end tests: the sandbox on loopback and the server as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sandbox import BackgroundServer, SandboxState, start_background

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "e2e-key-7f3a9c1d"
READ_ONLY_PASS = {
    101: "proposed",
    102: "proposed",
    103: "needs_answers",
    104: "proposed",
    105: "not_ready",
    106: "proposed",
}


@contextmanager
def loopback_sandbox() -> Iterator[BackgroundServer]:
    """The seeded sandbox on 127.0.0.1, with runs that finish at the first poll (no waiting)."""
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[API_KEY])
    with start_background(state) as server:
        yield server


def server_env(sandbox_url: str, state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a server subprocess that talks to the loopback sandbox."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(state_dir),
        "CEKURA_API_KEY": API_KEY,
        "CEKURA_BASE_URL": sandbox_url,
        "CEKURA_OPTIMISE_STATE_DIR": str(state_dir),
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(
    port: int, proc: subprocess.Popen, output: Callable[[], str], timeout: float = 20
) -> None:
    """Return once 127.0.0.1:`port` accepts connections; fail with the process's output if it
    exits first or the port stays closed for `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {output()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def http_server(env: dict[str, str], *args: str, stderr_path: Path | None = None) -> Iterator[str]:
    """`python -m server --transport http` on a free loopback port; yields the /mcp URL. Its stderr
    goes to `stderr_path` (a temporary file by default), so a chatty server never blocks on it."""
    with http_process(env, *args, stderr_path=stderr_path) as (_proc, url):
        yield url


def _server_command(port: int) -> list[str]:
    return [sys.executable, "-m", "server", "--transport", "http", "--port", str(port)]


@contextmanager
def http_process(
    env: dict[str, str],
    *args: str,
    stderr_path: Path | None = None,
    prefix: Sequence[str] = (),
) -> Iterator[tuple[subprocess.Popen, str]]:
    """`http_server`, yielding the process too (to signal it); terminated at exit if still up.
    `prefix` runs the server through a command that ends by exec-ing it (same process id)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log = stderr_path or Path(tmp) / "stderr.log"
        with open(log, "wb") as stderr:
            proc = subprocess.Popen(
                [*prefix, *_server_command(port), *args],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            try:
                wait_for_port(port, proc, log.read_text)
                yield proc, f"http://127.0.0.1:{port}/mcp"
            finally:
                if proc.poll() is None:
                    proc.terminate()
                proc.wait(timeout=15)


# OAuth mode (issue 6) --------------------------------------------------------------------------

SERVER_SECRET = "e2e-server-secret-5d9c0b7e2a41f8c3e6b19d70"


@contextmanager
def oauth_server(
    env: dict[str, str], stderr_path: Path, *args: str, verbose: bool = False
) -> Iterator[str]:
    """`python -m server --transport http --oauth` on a free loopback port, its stderr in a file
    (with `verbose`, at debug level); yields the public URL (http://127.0.0.1:PORT)."""
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "server", "--transport", "http", "--port", str(port)]
    command += ["--oauth", "--public-url", public, *(["-vv"] if verbose else []), *args]
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            wait_for_port(port, proc, stderr_path.read_text)
            yield public
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def oauth_env(sandbox_url: str, state_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for an OAuth-mode server: no CEKURA_API_KEY (each person brings theirs)."""
    env = server_env(sandbox_url, state_dir, CEKURA_OPTIMISE_SECRET=SERVER_SECRET, **extra)
    del env["CEKURA_API_KEY"]
    return env


CALLBACK = "http://127.0.0.1:53682/callback"


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def form_field(page: str, name: str) -> str:
    """The value of a hidden input on the consent page ('' when absent)."""
    import html
    import re

    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else ""


def redirect_params(response) -> dict[str, str]:
    """The query parameters of a redirect's Location."""
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


class OAuthUser:
    """One person's client doing the OAuth dance step by step with a real HTTP client (httpx),
    as claude.ai or Claude Code would: discovery, registration, authorize, consent, token."""

    def __init__(self, http, public_url: str, redirect_uri: str = CALLBACK) -> None:
        self.http = http
        self.public_url = public_url
        self.redirect_uri = redirect_uri
        self.meta: dict = {}
        self.client: dict = {}
        self.responses: list = []

    async def _keep(self, response):
        self.responses.append(response)
        return response

    async def discover(self) -> dict:
        """401 from /mcp → protected-resource metadata → authorization-server metadata."""
        first = await self.http.post(
            f"{self.public_url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        )
        assert first.status_code == 401, first.text
        challenge = first.headers["www-authenticate"]
        resource_meta_url = challenge.split('resource_metadata="')[1].split('"')[0]
        resource = (await self._keep(await self.http.get(resource_meta_url))).json()
        issuer = resource["authorization_servers"][0].rstrip("/")
        meta_url = f"{issuer}/.well-known/oauth-authorization-server"
        self.meta = (await self._keep(await self.http.get(meta_url))).json()
        self.resource_meta = resource
        return self.meta

    async def register(self, name: str = "e2e client", **extra) -> dict:
        body = {"client_name": name, "redirect_uris": [self.redirect_uri], **extra}
        response = await self._keep(
            await self.http.post(self.meta["registration_endpoint"], json=body)
        )
        assert response.status_code == 201, response.text
        self.client = response.json()
        return self.client

    async def authorize(self, challenge: str, state: str = "state-1", **override):
        params = {
            "response_type": "code",
            "client_id": self.client["client_id"],
            "redirect_uri": self.redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
            "resource": self.resource_meta["resource"],
        }
        params.update(override)
        params = {k: v for k, v in params.items() if v is not None}
        return await self._keep(
            await self.http.get(self.meta["authorization_endpoint"], params=params)
        )

    async def consent_page(self, authorize_response) -> tuple[str, str, object]:
        """Follow the authorize redirect to the consent page: (request id, CSRF token, response)."""
        assert authorize_response.status_code == 302, authorize_response.text
        page = await self._keep(await self.http.get(authorize_response.headers["location"]))
        assert page.status_code == 200, page.text
        return form_field(page.text, "request"), form_field(page.text, "csrf_token"), page

    async def submit(self, request_id: str, csrf: str, api_key: str, decision: str = "allow"):
        form = {"request": request_id, "csrf_token": csrf, "api_key": api_key}
        form["decision"] = decision
        return await self._keep(await self.http.post(f"{self.public_url}/oauth/consent", data=form))

    async def token(self, code: str, verifier: str, redirect_uri: str | None = None):
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri or self.redirect_uri,
            **self._credentials(),
        }
        return await self._keep(await self.http.post(self.meta["token_endpoint"], data=form))

    async def refresh(self, refresh_token: str):
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        form.update(self._credentials())
        return await self._keep(await self.http.post(self.meta["token_endpoint"], data=form))

    async def revoke(self, token: str):
        form = {"token": token, **self._credentials()}
        return await self._keep(await self.http.post(self.meta["revocation_endpoint"], data=form))

    def _credentials(self) -> dict[str, str]:
        creds = {"client_id": self.client["client_id"]}
        if self.client.get("client_secret"):
            creds["client_secret"] = self.client["client_secret"]
        return creds

    async def code_for(self, api_key: str, state: str = "state-1") -> tuple[str, str]:
        """Authorize and consent with `api_key`: (code, verifier)."""
        verifier, challenge = pkce_pair()
        request_id, csrf, _page = await self.consent_page(await self.authorize(challenge, state))
        done = await self.submit(request_id, csrf, api_key)
        assert done.status_code == 303, done.text
        params = redirect_params(done)
        assert params["state"] == state
        return params["code"], verifier

    async def sign_in(self, api_key: str) -> dict:
        """The whole dance for a new person: the token response (access and refresh tokens)."""
        if not self.meta:
            await self.discover()
        if not self.client:
            await self.register()
        code, verifier = await self.code_for(api_key)
        response = await self.token(code, verifier)
        assert response.status_code == 200, response.text
        return response.json()


def bearer_client(public_url: str, access_token: str):
    """An MCP client over streamable HTTP carrying the bearer token (an async context manager)."""
    from contextlib import AsyncExitStack, asynccontextmanager

    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    @asynccontextmanager
    async def connect():
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {access_token}"})
            )
            client = await stack.enter_async_context(
                Client(streamable_http_client(f"{public_url}/mcp", http_client=http))
            )
            yield client

    return connect()
