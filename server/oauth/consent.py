"""The consent step: the page that asks for a Cekura API key and, once Cekura accepts it, issues
the authorization code bound to that key.

GET shows the form for a pending authorization (parked by the provider's `authorize`). POST checks,
in order: the pending request exists and has not expired; the CSRF token matches this request and
this browser (an HMAC of the request id and a SameSite=Strict cookie set with the form); the person
allowed; attempts are within bounds; the key is well formed and Cekura accepts it. Only then is the
request consumed (single use), the key encrypted into a grant, and the browser sent back to the
registered redirect URI with the code and the client's `state`.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.oauth.config import OAuthConfig
from server.oauth.crypto import Keyring, digest, new_token
from server.oauth.keycheck import KeyChecker, normalise_key
from server.oauth.page import consent_page, message_page, security_headers
from server.oauth.provider import CODE_PREFIX, CONSENT_PATH
from tools.ledger.oauth import Code, Grant, OAuthStorage, Pending

log = logging.getLogger("cekura_optimise.oauth")

MAX_FORM_BYTES = 16_384
MAX_ID_CHARS = 100

EXPIRED = (
    "This sign-in request has expired or was already used",
    "Go back to your client (claude.ai, Claude Code…) and start connecting again.",
)


class ConsentEndpoints:
    """GET and POST handlers for the consent page."""

    def __init__(
        self,
        config: OAuthConfig,
        store: OAuthStorage,
        keyring: Keyring,
        check_key: KeyChecker,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.keyring = keyring
        self.check_key = check_key
        self.clock = clock
        self.cookie = "__Host-cekura-consent" if config.secure_cookies else "cekura-consent"

    def routes(self) -> list[tuple[str, Callable[[Request], Any], list[str]]]:
        return [(CONSENT_PATH, self.handle, ["GET", "POST"])]

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.submit(request)
        return await self.show(request)

    # GET ------------------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        request_id = request.query_params.get("request", "")
        pending = await self._pending(request_id)
        if pending is None:
            return message_page(*EXPIRED, status_code=400)
        nonce = self._nonce(request)
        response = self._form(request_id, pending, nonce)
        if nonce != request.cookies.get(self.cookie):
            self._set_cookie(response, nonce)
        return response

    # POST -----------------------------------------------------------------------------------

    async def submit(self, request: Request) -> Response:
        form = await _read_form(request)
        if form is None:
            return message_page(
                "Cannot read the form", "Submit the consent form from its page.", status_code=400
            )
        request_id = form.get("request", "")
        pending = await self._pending(request_id)
        if pending is None:
            return message_page(*EXPIRED, status_code=400)
        nonce = request.cookies.get(self.cookie, "")
        if not self.keyring.csrf_ok(form.get("csrf_token", ""), request_id, nonce):
            log.warning("consent: CSRF check failed for client %s", pending.client_id)
            return message_page(
                "Security check failed",
                "This form was not submitted from the page this server showed you (or your "
                "browser blocked its cookie). Reload the page and try again.",
                status_code=403,
            )
        params = pending.params
        if form.get("decision") == "deny":
            await self.store.take_pending(digest(request_id), self.clock())
            return self._redirect(
                params["redirect_uri"],
                error="access_denied",
                error_description="The person declined to connect.",
                state=params["state"],
            )
        if form.get("decision") != "allow":
            return self._form(request_id, pending, nonce, "Choose Allow or Deny.", 400)
        if await self.store.count_attempt(digest(request_id)) > self.config.max_consent_attempts:
            await self.store.take_pending(digest(request_id), self.clock())
            return message_page(
                "Too many attempts",
                "Too many keys were tried for this sign-in request. Start connecting again from "
                "your client.",
                status_code=429,
            )
        key, verdict = normalise_key(form.get("api_key", ""))
        if verdict is None:
            verdict = await self.check_key(key)
        if not verdict.ok:
            log.info("consent: key %s for client %s", verdict.outcome, pending.client_id)
            status = 502 if verdict.outcome == "unavailable" else 400
            return self._form(request_id, pending, nonce, verdict.message, status)
        return await self._issue_code(request_id, key)

    async def _issue_code(self, request_id: str, key: str) -> Response:
        now = self.clock()
        pending = await self.store.take_pending(digest(request_id), now)
        if pending is None:
            return message_page(*EXPIRED, status_code=400)
        params = pending.params
        code = new_token(CODE_PREFIX)
        grant = Grant(
            id=secrets.token_hex(16),
            client_id=pending.client_id,
            key_enc=self.keyring.encrypt(key),
            scopes=params["scopes"],
            created_at=now,
        )
        await self.store.add_grant_with_code(
            grant,
            digest(code),
            Code(
                grant_id=grant.id,
                client_id=pending.client_id,
                redirect_uri=params["redirect_uri"],
                code_challenge=params["code_challenge"],
                scopes=params["scopes"],
                expires_at=now + self.config.code_ttl_s,
                used_at=None,
            ),
        )
        log.info("consent: key accepted; code issued to client %s", pending.client_id)
        return self._redirect(params["redirect_uri"], code=code, state=params["state"])

    # helpers --------------------------------------------------------------------------------

    async def _pending(self, request_id: str) -> Pending | None:
        if not request_id or len(request_id) > MAX_ID_CHARS:
            return None
        return await self.store.pending(digest(request_id), self.clock())

    def _nonce(self, request: Request) -> str:
        given = request.cookies.get(self.cookie, "")
        if 20 <= len(given) <= 64 and given.replace("-", "").replace("_", "").isalnum():
            return given
        return secrets.token_urlsafe(24)

    def _form(
        self,
        request_id: str,
        pending: Pending,
        nonce: str,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        return consent_page(
            action=CONSENT_PATH,
            request_id=request_id,
            csrf_token=self.keyring.csrf_token(request_id, nonce),
            client_name=pending.params.get("client_name", ""),
            redirect_uri=pending.params["redirect_uri"],
            error=error,
            status_code=status_code,
        )

    def _set_cookie(self, response: Response, nonce: str) -> None:
        response.set_cookie(
            self.cookie,
            nonce,
            max_age=self.config.consent_ttl_s,
            path="/",
            secure=self.config.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def _redirect(self, redirect_uri: str, **params: str) -> Response:
        return RedirectResponse(
            construct_redirect_uri(redirect_uri, **params),
            status_code=303,
            headers=security_headers(redirect_uri),
        )


async def _read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form, at most MAX_FORM_BYTES; None for anything else."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form
