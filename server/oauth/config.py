"""OAuth mode's settings: the public URL, the server secret, lifetimes and the rate limit.

Read from the environment (and `--public-url`) once at start-up; anything unusable is a
SettingsError naming the variable, so `serve` exits 2 with one clear line instead of starting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from server.settings import SettingsError

SECRET_ENV = "CEKURA_OPTIMISE_SECRET"
PUBLIC_URL_ENV = "CEKURA_OPTIMISE_PUBLIC_URL"
ACCESS_TTL_ENV = "CEKURA_OPTIMISE_OAUTH_ACCESS_TTL"
REFRESH_TTL_ENV = "CEKURA_OPTIMISE_OAUTH_REFRESH_TTL"
CODE_TTL_ENV = "CEKURA_OPTIMISE_OAUTH_CODE_TTL"
RATE_LIMIT_ENV = "CEKURA_OPTIMISE_OAUTH_RATE_LIMIT"

MIN_SECRET_CHARS = 32
SCOPE = "optimise"
MCP_PATH = "/mcp"
# The SDK's authorization routes accept plain http only for these hosts (RFC 8414 wants https).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class OAuthConfig:
    """Everything OAuth mode needs besides the shared Settings."""

    public_url: str
    secret: SecretStr
    access_ttl_s: int = 3600
    refresh_ttl_s: int = 30 * 24 * 3600
    code_ttl_s: int = 120
    consent_ttl_s: int = 600
    rate_limit_per_minute: int = 60
    max_consent_attempts: int = 5

    @property
    def issuer_url(self) -> str:
        """The authorization server's issuer: the public URL itself (no path, no slash)."""
        return self.public_url

    @property
    def resource_url(self) -> str:
        """The protected resource (RFC 9728): the MCP endpoint."""
        return self.public_url + MCP_PATH

    @property
    def public_host(self) -> str:
        """host[:port] as clients send it in the Host header."""
        return urlsplit(self.public_url).netloc

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(
        cls, public_url: str | None = None, env: Mapping[str, str] | None = None
    ) -> OAuthConfig:
        """Read CEKURA_OPTIMISE_SECRET, CEKURA_OPTIMISE_PUBLIC_URL (unless `public_url` is given)
        and the optional CEKURA_OPTIMISE_OAUTH_* lifetimes and rate limit."""
        env = os.environ if env is None else env
        url = check_public_url(public_url or env.get(PUBLIC_URL_ENV, ""))
        secret = env.get(SECRET_ENV, "")
        if not secret.strip():
            raise SettingsError(
                f"OAuth mode needs {SECRET_ENV}: the secret that encrypts each person's Cekura key "
                "at rest. Make one with `openssl rand -hex 32`, keep it, and set it in the "
                "server's environment."
            )
        if len(secret.strip()) < MIN_SECRET_CHARS:
            raise SettingsError(
                f"{SECRET_ENV} must be at least {MIN_SECRET_CHARS} characters long; make one with "
                "`openssl rand -hex 32`."
            )
        return cls(
            public_url=url,
            secret=SecretStr(secret.strip()),
            access_ttl_s=_positive_int(env, ACCESS_TTL_ENV, 3600),
            refresh_ttl_s=_positive_int(env, REFRESH_TTL_ENV, 30 * 24 * 3600),
            code_ttl_s=_positive_int(env, CODE_TTL_ENV, 120),
            rate_limit_per_minute=_positive_int(env, RATE_LIMIT_ENV, 60),
        )


def check_public_url(text: str) -> str:
    """The URL people's clients reach the server at: https (plain http only on loopback), with no
    path, query or fragment, since the OAuth endpoints and /mcp hang off its root."""
    text = text.strip()
    if not text:
        raise SettingsError(
            "OAuth mode needs --public-url (or CEKURA_OPTIMISE_PUBLIC_URL): the https:// address "
            "people's clients reach this server at, e.g. https://optimise.example.com."
        )
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise SettingsError(f"--public-url must be an https:// URL, got {text!r}.")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise SettingsError(
            f"--public-url must use https:// (plain http is allowed only on loopback), got {text!r}."
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise SettingsError(
            f"--public-url must not carry credentials, a query or a fragment: {text!r}."
        )
    if parts.path not in ("", "/"):
        raise SettingsError(
            f"--public-url must be the server's root (no path such as {parts.path!r}): the OAuth "
            "endpoints and /mcp are served from the root."
        )
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"--public-url has an invalid port: {text!r}.") from None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"https": 443, "http": 80}[parts.scheme]:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}"


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {text!r}.") from None
    if value < 1:
        raise SettingsError(f"{name} must be 1 or more, got {value}.")
    return value
