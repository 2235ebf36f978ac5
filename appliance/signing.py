"""Ed25519 keys on disk, signatures and their checks: shared by the box's bundle key (bundles/keys.py)
and the audit-anchor key (store/audit_anchors.py). A key file is PKCS#8 PEM, mode 0600, in a 0700
folder, created once and never replaced. `cryptography` is imported only when a key is used."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any


def key_id(public_raw: bytes) -> str:
    """The first 16 hex digits of the raw public key's sha256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def create_key(path: Path) -> None:
    """Write a new key to `path`; FileExistsError if one is there (another process may just have made it)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    path.parent.mkdir(mode=0o700, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def load_key(path: Path) -> Any:
    """The private key in `path` (OSError or ValueError when it is missing or damaged)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(path.read_bytes(), password=None)


def raw_public(private: Any) -> bytes:
    """The 32 raw bytes of a private key's public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return bytes(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def verify(public_raw: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is the key's signature of `message`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
