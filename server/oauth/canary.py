"""The secret canary: proof, at start-up, that CEKURA_OPTIMISE_SECRET is the secret the stored
keys were encrypted with.

The store keeps the tenant-id key encrypted under the secret. At start-up it must decrypt: under
the new secret (nothing to do), under a previous one listed for rotation (it is re-encrypted under
the new one), or not at all, and then the server refuses to start unless the operator accepts the
new secret, which deletes every stored connection (everyone signs in again). Keeping the tenant-id
key here, rather than deriving it from the secret, keeps tenant ids (and so each person's ledger)
through a rotation.
"""

from __future__ import annotations

import logging

from server.oauth.config import SECRET_ENV
from server.oauth.crypto import DecryptError, Keyring
from server.settings import SettingsError
from tools.ledger.oauth import OAuthStorage

log = logging.getLogger("cekura_optimise.oauth")

CANARY = "secret_canary"

MISMATCH = (
    f"{SECRET_ENV} is not the secret this server's stored connections were encrypted with. "
    "Starting with it would delete every stored connection and Cekura key: everyone would have "
    "to connect and sign in again (their ledgers stay). To do that, start once with "
    "`serve --accept-new-secret`. To change the secret without that, rotate: set "
    f"{SECRET_ENV}=new,previous (the new secret, a comma, then the one in use) and drop the "
    "previous one once everyone has used the server."
)


async def check_secret(store: OAuthStorage, keyring: Keyring, *, accept_new: bool) -> None:
    """Refuse (SettingsError) a secret the canary does not decrypt under, unless `accept_new`;
    then the keyring names tenants with the canary's key."""
    stored = await store.setting(CANARY)
    if stored is None:
        await store.save_setting(CANARY, keyring.encrypt(keyring.first_tenant_key().hex()))
        keyring.use_tenant_key(keyring.first_tenant_key())
        return
    try:
        text, fresh = keyring.decrypt_fresh(stored)
    except DecryptError:
        if not accept_new:
            raise SettingsError(MISMATCH) from None
        await store.forget_secrets()
        key = keyring.first_tenant_key()
        await store.save_setting(CANARY, keyring.encrypt(key.hex()))
        keyring.use_tenant_key(key)
        log.warning(
            "accepted a new %s: every stored connection was deleted; people sign in again",
            SECRET_ENV,
        )
        return
    if fresh is not None:
        await store.save_setting(CANARY, fresh)
        log.info("secret rotation: the canary is now under the new secret")
    keyring.use_tenant_key(bytes.fromhex(text))
