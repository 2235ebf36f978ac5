"""The box's Ed25519 signing key and the public keys it trusts.

The private key is `<home>/keys/signing.key` (PKCS#8 PEM, mode 0600, created once, never exported);
its public key is shown as base64 of the raw 32 bytes, with a key id (the first 16 hex digits of
its sha256) that bundles name. Trusting and distrusting keys are audited.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any

from appliance.clock import utc_now
from appliance.errors import BundleError, NotFound
from appliance.signing import create_key, key_id, load_key, raw_public
from appliance.signing import verify as signed_by
from appliance.store import key_queries as kq
from appliance.store import registry_queries as q
from appliance.store.connection import Store

KEY_FILE = Path("keys") / "signing.key"


def _private(home_root: Path) -> Any:
    path = home_root / KEY_FILE
    if not path.exists():
        raise BundleError(f"this box has no signing key; create one with `vigil keys init` (it stays in {path})")
    return load_key(path)


def init_key(home_root: Path) -> dict[str, str]:
    """Create the box's signing key (refusing to replace one)."""
    path = home_root / KEY_FILE
    try:
        create_key(path)
    except FileExistsError:
        raise BundleError(f"this box already has a signing key ({path}); `vigil keys show` prints its public key") \
            from None
    return show_key(home_root)


def show_key(home_root: Path) -> dict[str, str]:
    raw = raw_public(_private(home_root))
    return {"public_key": base64.b64encode(raw).decode(), "key_id": key_id(raw)}


def sign(home_root: Path, message: bytes) -> dict[str, str]:
    private = _private(home_root)
    raw = raw_public(private)
    return {"algorithm": "ed25519", "key_id": key_id(raw), "public_key": base64.b64encode(raw).decode(),
            "signature": base64.b64encode(private.sign(message)).decode()}


def decode_public(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise BundleError("a public key is the base64 of 32 raw Ed25519 bytes, as `vigil keys show` prints it")
    return raw


def verify(public_raw: bytes, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64)
    except (binascii.Error, ValueError):
        return False
    return signed_by(public_raw, message, signature)


def trust(store: Store, name: str, public_key: str, actor: str) -> dict[str, Any]:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", name):
        raise BundleError("a key name is 1-64 letters, digits, '.', '_' or '-'")
    raw = decode_public(public_key)
    at = utc_now()
    with store.transaction():
        if kq.listed_count(store, name, key_id(raw)):
            raise BundleError(f"a key named '{name}' or with id {key_id(raw)} is already listed; "
                                "`vigil keys list` shows them")
        kq.insert(store, name, key_id(raw), base64.b64encode(raw).decode(), actor, at)
        q.insert_audit(store, at, actor, "key.trust", None, None, {"key_id": key_id(raw)},
                       subject=f"key:{name}", before=None, after={"key_id": key_id(raw), "trusted": True})
    return {"name": name, "key_id": key_id(raw)}


def distrust(store: Store, name: str, actor: str) -> dict[str, Any]:
    at = utc_now()
    with store.transaction():
        found = kq.active_by_name(store, name)
        if found is None:
            raise NotFound(f"no trusted key named '{name}'; `vigil keys list` shows them")
        kq.revoke(store, name, at)
        q.insert_audit(store, at, actor, "key.distrust", None, None, {"key_id": found["key_id"]},
                       subject=f"key:{name}", before={"trusted": True}, after={"trusted": False})
    return {"name": name, "key_id": found["key_id"], "trusted": False}


def trusted(store: Store, key: str) -> dict[str, Any] | None:
    return kq.active_by_key_id(store, key)


def list_keys(store: Store) -> list[dict[str, Any]]:
    return kq.all_keys(store)
