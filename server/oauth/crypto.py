"""Keys derived from CEKURA_OPTIMISE_SECRET, and the one-way forms we store instead of secrets.

One secret, several independent keys (HKDF with a label per use): Fernet for what must come back
(Cekura keys, client secrets), HMAC for tenant ids and consent-form tokens. Bearer tokens, codes
and pending-request ids are stored only as SHA-256 hashes: they are 256-bit random, so a hash
cannot be reversed or guessed.

During a rotation the setting lists the new secret first and the previous ones after it (comma
separated): what was encrypted under any of them decrypts, and `decrypt_fresh` hands back a
ciphertext under the new one for the caller to store. The tenant-id key is not tied to the secret
once the canary holds it (see `canary`), so tenant ids survive a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SALT = b"cekura-optimise oauth v1"


REQUEST_STATE = "mcp-request-state"


class DecryptError(Exception):
    """A stored ciphertext does not decrypt under this server's secret (changed or altered)."""


def derive_key(secret: bytes, label: str) -> bytes:
    """A 32-byte key for one use (`label`) from a secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=label.encode()).derive(
        secret
    )


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(secret.encode(), "fernet")))


class Keyring:
    """The server secret (and, while rotating, the previous ones) turned into the keys each job
    needs. Holds no copy of a secret."""

    def __init__(self, secret: str, *previous: str) -> None:
        self._fernet = _fernet(secret)
        self._previous = MultiFernet([_fernet(old) for old in previous]) if previous else None
        self._tenant = derive_key(secret.encode(), "tenant-id")
        self._first_tenant = derive_key(
            (previous[-1] if previous else secret).encode(), "tenant-id"
        )
        self._csrf = derive_key(secret.encode(), "consent-csrf")
        self.request_state_keys = [
            derive_key(each.encode(), REQUEST_STATE) for each in (secret, *previous)
        ]

    @classmethod
    def from_setting(cls, value: str) -> Keyring:
        """The keyring for CEKURA_OPTIMISE_SECRET's value: `new` or `new,previous,...`."""
        secret, *previous = [part.strip() for part in value.split(",")]
        return cls(secret, *previous)

    def __repr__(self) -> str:
        return "Keyring(<derived keys>)"

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self.decrypt_fresh(token)[0]

    def decrypt_fresh(self, token: str) -> tuple[str, str | None]:
        """The plaintext, and a ciphertext under the new secret when `token` was made under a
        previous one (None when it is current)."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode(), None
        except (InvalidToken, UnicodeError, ValueError):
            pass
        try:
            if self._previous is None:
                raise InvalidToken
            text = self._previous.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise DecryptError(
                "stored ciphertext does not decrypt under this server secret"
            ) from None
        return text, self.encrypt(text)

    def first_tenant_key(self) -> bytes:
        """The tenant-id key the oldest listed secret gives: what named tenants before the
        canary kept it (so an upgrade, even mid-rotation, keeps every tenant's ledger)."""
        return self._first_tenant

    def use_tenant_key(self, key: bytes) -> None:
        """Name tenants with `key` (the one the canary keeps), whatever the current secret."""
        self._tenant = key

    def tenant_id(self, api_key: str) -> str:
        """A stable, non-reversible name for the owner of a Cekura key (the tenant's directory)."""
        return hmac.new(self._tenant, api_key.encode(), hashlib.sha256).hexdigest()[:24]

    def csrf_token(self, request_id: str, browser_nonce: str) -> str:
        """The consent form's token: tied to one pending authorization and one browser."""
        message = f"{request_id}\x00{browser_nonce}".encode()
        return hmac.new(self._csrf, message, hashlib.sha256).hexdigest()

    def csrf_ok(self, given: str, request_id: str, browser_nonce: str) -> bool:
        if not given or not browser_nonce:
            return False
        return hmac.compare_digest(
            given.encode(), self.csrf_token(request_id, browser_nonce).encode()
        )


def digest(token: str) -> str:
    """What the store keeps instead of a token, code or request id."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = "") -> str:
    """A fresh unguessable value (256 bits), with an optional readable prefix."""
    return prefix + secrets.token_urlsafe(32)
