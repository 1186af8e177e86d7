"""Client ID Metadata Documents: the SDK's own OAuth client completes the dance with a document
served on loopback (HTTPS, a throwaway certificate) while dynamic registration is off, and every
document that must not be used (at a private or loopback address, with a foreign client_id, too
large, too slow, redirected elsewhere, with a secret) is refused."""

import logging

import httpx
import httpx2
import pytest
from cimd_support import Page, document_host
from e2e import CALLBACK, form_field, oauth_env, oauth_server, redirect_params
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata
from pydantic import AnyUrl

from sandbox import SandboxState, start_background
from server.oauth.cimd import MAX_DOCUMENT_BYTES, ClientDocuments

KEY = "ck_cimd_0a9b8c7d"


class Memory:
    """Token storage for the SDK's OAuth client."""

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


def _document(url: str, **extra) -> dict:
    return {
        "client_id": url,
        "client_name": "metadata-document connector",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        **extra,
    }


@pytest.mark.anyio
async def test_the_sdk_client_signs_in_with_a_metadata_document(tmp_path):
    state = SandboxState.seeded(optimiser_polls=0, run_reviews_polls=0, api_keys=[KEY])
    with start_background(state) as sandbox, document_host(tmp_path) as host:
        url = host.base + "/connector/client.json"
        host.document("/connector/client.json", _document(url), **{"Cache-Control": "max-age=60"})
        env = oauth_env(
            sandbox.url,
            tmp_path / "state",
            SSL_CERT_FILE=str(host.cert),
            CEKURA_OPTIMISE_OAUTH_CIMD_ALLOW_LOOPBACK="1",
            CEKURA_OPTIMISE_OAUTH_REGISTRATION="off",
            CEKURA_OPTIMISE_OAUTH_REDIRECT_HOSTS="127.0.0.1",
        )
        with oauth_server(env, tmp_path / "log") as public:
            person = httpx.AsyncClient(timeout=20)
            landed: dict[str, str] = {}

            async def open_browser(authorize_url: str) -> None:
                page = await person.get(authorize_url)
                assert page.status_code == 302, page.text
                consent = await person.get(page.headers["location"])
                assert "metadata-document connector" in consent.text
                form = {
                    "request": form_field(consent.text, "request"),
                    "csrf_token": form_field(consent.text, "csrf_token"),
                    "api_key": KEY,
                    "decision": "allow",
                }
                done = await person.post(f"{public}/oauth/consent", data=form)
                assert done.status_code == 303, done.text
                landed.update(redirect_params(done))

            async def callback() -> AuthorizationCodeResult:
                return AuthorizationCodeResult(code=landed["code"], state=landed["state"])

            storage = Memory()
            auth = OAuthClientProvider(
                server_url=f"{public}/mcp",
                client_metadata=OAuthClientMetadata(
                    client_name="metadata-document connector", redirect_uris=[AnyUrl(CALLBACK)]
                ),
                storage=storage,
                redirect_handler=open_browser,
                callback_handler=callback,
                client_metadata_url=url,
            )
            async with (
                person,
                httpx2.AsyncClient(auth=auth, timeout=60) as http,
                Client(streamable_http_client(f"{public}/mcp", http_client=http)) as client,
            ):
                tools = {t.name for t in (await client.list_tools()).tools}
                status = await client.call_tool("lab_status", {"metric_id": 101})
            async with httpx.AsyncClient(timeout=20) as plain:
                registered = await plain.post(
                    f"{public}/register", json={"redirect_uris": [CALLBACK]}
                )
    assert storage.client.client_id == url  # no registration: the URL is the client id
    assert "optimise_metrics" in tools and not status.is_error
    assert registered.status_code in (404, 405)  # dynamic registration is off
    assert host.asked == ["/connector/client.json"]  # fetched once, then cached (max-age)


@pytest.fixture
def host(tmp_path, monkeypatch):
    with document_host(tmp_path) as running:
        monkeypatch.setenv("SSL_CERT_FILE", str(running.cert))
        yield running


def _refused(caplog, words: str) -> bool:
    return any(words in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_documents_that_must_not_be_used_are_refused(host, caplog):
    caplog.set_level(logging.WARNING, logger="cekura_optimise.oauth")
    documents = ClientDocuments(allow_loopback=True, timeout_s=0.5)
    good = host.document("/good.json", _document(host.base + "/good.json"))
    assert (await documents.client(good)).client_name == "metadata-document connector"

    cases = {
        "/foreign.json": ("client_id is not the URL", _document(host.base + "/other.json")),
        "/secret.json": ("client_secret", _document(host.base + "/secret.json", client_secret="s")),
        "/basic.json": (
            "token_endpoint_auth_method",
            _document(host.base + "/basic.json", token_endpoint_auth_method="client_secret_basic"),
        ),
        "/evil-redirect.json": (
            "plain http redirect URIs",
            _document(host.base + "/evil-redirect.json", redirect_uris=["http://evil.example/cb"]),
        ),
    }
    for path, (words, document) in cases.items():
        assert await documents.client(host.document(path, document)) is None, path
        assert _refused(caplog, words), (path, caplog.text)

    listed = ClientDocuments(allow_loopback=True, allowed_hosts={"claude.ai"})
    assert await listed.client(good) is None  # its loopback callback is not on the allow-list
    assert _refused(caplog, "sends sign-ins only to claude.ai")

    padded = _document(host.base + "/large.json", client_name="x", padding="p" * MAX_DOCUMENT_BYTES)
    assert await documents.client(host.document("/large.json", padded)) is None
    assert _refused(caplog, f"larger than {MAX_DOCUMENT_BYTES} bytes")

    host.pages["/slow.json"] = Page(hang=True)
    assert await documents.client(host.base + "/slow.json") is None
    assert _refused(caplog, "no complete answer within 0.5 s")

    elsewhere = "https://localhost:" + host.base.rsplit(":", 1)[1] + "/good.json"
    host.pages["/moved.json"] = Page(status=302, headers={"Location": elsewhere})
    assert await documents.client(host.base + "/moved.json") is None
    assert _refused(caplog, "redirected to another host")
    host.pages["/here.json"] = Page(status=302, headers={"Location": "/good.json"})
    host.document("/good.json", _document(host.base + "/here.json"))
    assert await documents.client(host.base + "/here.json") is not None  # same origin is fine


@pytest.mark.asyncio
async def test_private_loopback_and_link_local_addresses_are_never_fetched(host, caplog):
    caplog.set_level(logging.WARNING, logger="cekura_optimise.oauth")
    documents = ClientDocuments(timeout_s=2)  # the default: no loopback
    url = host.document("/client.json", _document(host.base + "/client.json"))
    for target in (
        url,  # a real document, but on loopback
        "https://localhost:" + host.base.rsplit(":", 1)[1] + "/client.json",
        "https://10.0.0.1/client.json",
        "https://192.168.1.1/client.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/client.json",
        "https://[::ffff:127.0.0.1]/client.json",
    ):
        assert await documents.client(target) is None, target
        assert _refused(caplog, "not public"), target
        caplog.clear()
    assert host.asked == []  # nothing reached the loopback host
    assert await documents.client("http://127.0.0.1/client.json") is None  # https only
    assert not ClientDocuments().handles("https://client.example")  # a URL needs a path


@pytest.mark.asyncio
async def test_documents_are_cached_as_their_headers_allow(host):
    now = [0.0]
    documents = ClientDocuments(allow_loopback=True, clock=lambda: now[0])
    cached = host.document(
        "/c.json", _document(host.base + "/c.json"), **{"Cache-Control": "max-age=60"}
    )
    fresh = host.document(
        "/n.json", _document(host.base + "/n.json"), **{"Cache-Control": "no-store"}
    )
    for _ in range(2):
        assert await documents.client(cached) and await documents.client(fresh)
    now[0] = 61.0
    assert await documents.client(cached)
    assert host.asked.count("/c.json") == 2  # once, then again after its max-age
    assert host.asked.count("/n.json") == 2  # every time
