"""A scoring-plan package: its files, its signed manifest, and the checks that come before anything is read.

A package is a directory of plain files (`vigil plan export` writes it):

    plan.npz        the version's scoring plan, byte for byte as the box stores and serves it
    contract.json   model, version, features in model order, the contract's columns and revision, and the
                    serving policy (reject or flag unknown categories and out-of-range numbers)
    lineage.json    task, threshold, classes, snapshot, spec, artifact and plan hashes, the library
                    versions the plan was checked with, who exported it, from which box and when
    manifest.json   format, model, version, and every file above with its sha256 and size
    signature.json  Ed25519 over the exact bytes of manifest.json, with the key id and public key

`verified_files` checks, in order: that the manifest and its signature are there, that the signature is
by the key the caller trusts and matches the manifest's bytes, that the format is one this code reads,
that no file is missing, unlisted or altered; only then are the files' bytes returned. NumPy is not even
imported here: the checks need the standard library and `cryptography` (for Ed25519).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from appliance.errors import PlanRefused
from appliance.signing import key_id, verify

FORMAT = 1
KIND = "vigil-scoring-plan"
PLAN = "plan.npz"
CONTRACT = "contract.json"
LINEAGE = "lineage.json"
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
CONTENTS = (PLAN, CONTRACT, LINEAGE)
MAX_FILE_BYTES = 4 << 30
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")

TrustedKey = str | bytes  # base64 of the 32 raw Ed25519 bytes (as `vigil keys show` prints it), or the raw bytes


def manifest_for(files: Mapping[str, bytes], header: Mapping[str, Any]) -> bytes:
    """The manifest's exact bytes: `header` (model, version, ...) with the format and each file's hash."""
    listed = {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)} for name, data in files.items()}
    return to_json({**header, "format": FORMAT, "kind": KIND, "files": listed})


def to_json(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, default=str).encode("utf-8")


def read_directory(path: str | Path) -> dict[str, bytes]:
    """Every plain file of a package directory by name (hidden files, such as `.crc` checksums a cluster's
    file system adds, are left out); refuses anything that is no package directory."""
    folder = Path(path)
    if not folder.is_dir():
        raise PlanRefused(f"{folder} is not a scoring-plan package (a directory `vigil plan export` wrote)")
    found: dict[str, bytes] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_file() or not _PLAIN_NAME.fullmatch(entry.name):
            raise PlanRefused(f"{folder.name} holds '{entry.name}', which is not a plain package file; refused",
                              entry.name)
        if entry.stat().st_size > MAX_FILE_BYTES:
            raise PlanRefused(f"{folder.name}: '{entry.name}' is larger than a package file may be; refused",
                              entry.name)
        found[entry.name] = entry.read_bytes()
    return found


def verified_files(members: Mapping[str, bytes], trusted_key: TrustedKey | Iterable[TrustedKey],
                   where: str = "the package") -> tuple[dict[str, Any], dict[str, bytes], str]:
    """(manifest, listed files by name, signer's key id) of a package that passes every check; else
    PlanRefused naming the first failure and its file."""
    trusted = _trusted(trusted_key)
    if MANIFEST not in members:
        raise PlanRefused(f"{where} has no {MANIFEST}: incomplete, or not a scoring-plan package; refused", MANIFEST)
    if SIGNATURE not in members:
        raise PlanRefused(f"{where} is not signed ({SIGNATURE} is missing); only signed plans are loaded", SIGNATURE)
    public, signature = _signature(members[SIGNATURE], where)
    if public not in trusted:
        raise PlanRefused(f"{where} is signed by key {key_id(public)}, which is not the trusted key "
                          f"({', '.join(sorted(key_id(k) for k in trusted))}); refused", SIGNATURE)
    if not verify(public, members[MANIFEST], signature):
        raise PlanRefused(f"{where}: the signature does not match {MANIFEST}; it was altered; refused", MANIFEST)
    manifest = json.loads(members[MANIFEST])
    if manifest.get("kind") != KIND:
        raise PlanRefused(f"{where}: {MANIFEST} is not a scoring plan's manifest; refused", MANIFEST)
    if int(manifest.get("format", 0)) > FORMAT:
        raise PlanRefused(f"{where} is plan package format {manifest['format']}, made by a newer Vigil; this code "
                          f"reads format {FORMAT}: upgrade it to load the plan", MANIFEST)
    return manifest, _listed(members, manifest.get("files", {}), where), key_id(public)


def _listed(members: Mapping[str, bytes], listed: Mapping[str, Any], where: str) -> dict[str, bytes]:
    for name in CONTENTS:
        if name not in listed:
            raise PlanRefused(f"{where}: its signed manifest lists no {name}; refused", name)
    for name, meta in listed.items():
        if name not in members:
            raise PlanRefused(f"{where} lacks '{name}', which its signed manifest lists; refused", name)
        if hashlib.sha256(members[name]).hexdigest() != meta.get("sha256"):
            raise PlanRefused(f"{where}: '{name}' does not match its signed sha256; it was altered; refused", name)
    extra = sorted(set(members) - set(listed) - {MANIFEST, SIGNATURE})
    if extra:
        raise PlanRefused(f"{where} holds files its signed manifest does not list ({', '.join(extra)}); refused",
                          extra[0])
    return {name: members[name] for name in listed}


def _signature(data: bytes, where: str) -> tuple[bytes, bytes]:
    """(raw public key, raw signature) of the signature record."""
    try:
        record = json.loads(data)
        public = base64.b64decode(str(record["public_key"]), validate=True)
        signature = base64.b64decode(str(record["signature"]), validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as e:
        raise PlanRefused(f"{where}: its signature record is damaged ({e}); refused", SIGNATURE) from e
    if record.get("algorithm") != "ed25519" or len(public) != 32:
        raise PlanRefused(f"{where}: its signature record is not an Ed25519 signature; refused", SIGNATURE)
    return public, signature


def _trusted(trusted_key: TrustedKey | Iterable[TrustedKey]) -> set[bytes]:
    keys = [trusted_key] if isinstance(trusted_key, (str, bytes)) else list(trusted_key)
    if not keys:
        raise PlanRefused("no trusted key given: pass the exporting box's public key (`vigil keys show` there)")
    return {_raw(key) for key in keys}


def _raw(key: TrustedKey) -> bytes:
    if isinstance(key, bytes) and len(key) == 32:
        return key
    try:
        raw = base64.b64decode(key.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise PlanRefused("a trusted key is the base64 of 32 raw Ed25519 bytes, as `vigil keys show` prints it")
    return raw
