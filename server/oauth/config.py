"""OAuth mode's settings: the public URL, the server secret, lifetimes, the rate limit, the
trusted proxies, and who may register (redirect-host allow-list, registration on or off,
loopback metadata documents for local trials).

Read from the environment (and `--public-url`) once at start-up; anything unusable is a
SettingsError naming the variable, so `serve` exits 2 with one clear line instead of starting.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import SecretStr

from server.settings import SettingsError

SECRET_ENV = "CEKURA_OPTIMISE_SECRET"
PUBLIC_URL_ENV = "CEKURA_OPTIMISE_PUBLIC_URL"
ACCESS_TTL_ENV = "CEKURA_OPTIMISE_OAUTH_ACCESS_TTL"
REFRESH_TTL_ENV = "CEKURA_OPTIMISE_OAUTH_REFRESH_TTL"
CODE_TTL_ENV = "CEKURA_OPTIMISE_OAUTH_CODE_TTL"
RATE_LIMIT_ENV = "CEKURA_OPTIMISE_OAUTH_RATE_LIMIT"
TRUSTED_PROXIES_ENV = "CEKURA_OPTIMISE_TRUSTED_PROXIES"
REDIRECT_HOSTS_ENV = "CEKURA_OPTIMISE_OAUTH_REDIRECT_HOSTS"
REGISTRATION_ENV = "CEKURA_OPTIMISE_OAUTH_REGISTRATION"
CIMD_LOOPBACK_ENV = "CEKURA_OPTIMISE_OAUTH_CIMD_ALLOW_LOOPBACK"

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
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    redirect_hosts: frozenset[str] = field(default_factory=frozenset)
    registration_open: bool = True
    cimd_allow_loopback: bool = False

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
        """Read CEKURA_OPTIMISE_SECRET, CEKURA_OPTIMISE_PUBLIC_URL (unless `public_url` is given),
        CEKURA_OPTIMISE_TRUSTED_PROXIES and the optional CEKURA_OPTIMISE_OAUTH_* settings."""
        env = os.environ if env is None else env
        url = check_public_url(public_url or env.get(PUBLIC_URL_ENV, ""))
        loopback_documents = env.get(CIMD_LOOPBACK_ENV, "").strip() == "1"
        if loopback_documents and (urlsplit(url).hostname or "") not in LOOPBACK_HOSTS:
            raise SettingsError(
                f"{CIMD_LOOPBACK_ENV}=1 is for tests and local trials only and does not mix with "
                f"a public --public-url ({url}); unset it."
            )
        return cls(
            public_url=url,
            secret=SecretStr(check_secret(env.get(SECRET_ENV, ""))),
            access_ttl_s=_positive_int(env, ACCESS_TTL_ENV, 3600),
            refresh_ttl_s=_positive_int(env, REFRESH_TTL_ENV, 30 * 24 * 3600),
            code_ttl_s=_positive_int(env, CODE_TTL_ENV, 120),
            rate_limit_per_minute=_positive_int(env, RATE_LIMIT_ENV, 60),
            trusted_proxies=_networks(env.get(TRUSTED_PROXIES_ENV, "")),
            redirect_hosts=frozenset(_words(env.get(REDIRECT_HOSTS_ENV, ""))),
            registration_open=_registration(env.get(REGISTRATION_ENV, "")),
            cimd_allow_loopback=loopback_documents,
        )


def check_secret(text: str) -> str:
    """CEKURA_OPTIMISE_SECRET: one secret, or while rotating `new,previous` (each long enough)."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise SettingsError(
            f"OAuth mode needs {SECRET_ENV}: the secret that encrypts each person's Cekura key "
            "at rest. Make one with `openssl rand -hex 32`, keep it, and set it in the "
            "server's environment."
        )
    if any(len(part) < MIN_SECRET_CHARS for part in parts):
        raise SettingsError(
            f"{SECRET_ENV} must be at least {MIN_SECRET_CHARS} characters long (while rotating, "
            "each of `new,previous`); make one with `openssl rand -hex 32`."
        )
    return ",".join(parts)


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


def _words(text: str) -> list[str]:
    return [word.strip().lower() for word in text.split(",") if word.strip()]


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """CEKURA_OPTIMISE_TRUSTED_PROXIES: addresses or CIDR ranges, comma separated."""
    try:
        return tuple(ipaddress.ip_network(word, strict=False) for word in _words(text))
    except ValueError:
        raise SettingsError(
            f"{TRUSTED_PROXIES_ENV} must list IP addresses or CIDR ranges separated by commas "
            f"(e.g. 10.0.0.0/8,127.0.0.1), got {text!r}."
        ) from None


def _registration(text: str) -> bool:
    value = text.strip().lower() or "open"
    if value not in ("open", "off"):
        raise SettingsError(f"{REGISTRATION_ENV} must be open or off, got {text!r}.")
    return value == "open"
