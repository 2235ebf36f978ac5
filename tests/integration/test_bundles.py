"""Signed bundles between two homes: the round trip, and every way a bundle is refused."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support import query


@pytest.fixture
def exported(tmp_path: Path, cli: Callable[..., Any], write_spec: Callable[..., Path]) -> dict[str, Any]:
    source, target = tmp_path / "factory", tmp_path / "edge"
    for home in (source, target):
        assert cli("init", "--home", home).code == 0
    assert cli("train", "--spec", write_spec(), "--home", source).code == 0
    made = json.loads(cli("keys", "init", "--home", source, "--json").out)
    bundle = tmp_path / "delay-v1.vbundle"
    result = cli("bundle", "export", "delay", "1", bundle, "--home", source)
    assert result.code == 0 and f"signed with key {made['key_id']}" in result.out
    return {"source": source, "target": target, "bundle": bundle, "key": made}


def _members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def _write(bundle: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(bundle, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_round_trip_keeps_lineage_and_provenance(exported: dict[str, Any], cli: Callable[..., Any]) -> None:
    target, bundle, key = exported["target"], exported["bundle"], exported["key"]
    assert cli("keys", "trust", "factory", key["public_key"], "--home", target).code == 0
    done = cli("bundle", "import", bundle, "--reason", "ship to the edge", "--home", target)
    assert done.code == 0 and "registered delay v1 from" in done.out and "signed by factory" in done.out, done.err
    ours = json.loads(cli("show", "delay", "1", "--home", target, "--json").out)
    theirs = json.loads(cli("show", "delay", "1", "--home", exported["source"], "--json").out)
    assert ours["metrics"] == theirs["metrics"] and ours["spec_sha256"] == theirs["spec_sha256"]
    assert ours["snapshot"]["rows"] == theirs["snapshot"]["rows"]
    origin = ours["imported_from"]
    assert origin["signer"] == "factory" and origin["key_id"] == key["key_id"] and origin["original_version"] == 1
    assert origin["original_artifact_sha256"] == theirs["artifact_sha256"]
    assert ours["aliases"] == []  # it goes through this box's gates and approval like any version
    assert cli("reproduce", "delay", "1", "--home", target).code == 0
    actions = [a for (a,) in query(target, "SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["key.trust", "version.imported", "bundle.import"]


def _refused(cli: Callable[..., Any], target: Path, bundle: Path, needle: str) -> None:
    result = cli("bundle", "import", bundle, "--home", target)
    assert result.code == 2 and needle in result.err, result.err
    assert query(target, "SELECT count(*) FROM model_versions") == [(0,)]  # nothing registered


def test_refusals(exported: dict[str, Any], cli: Callable[..., Any], tmp_path: Path) -> None:
    from appliance.bundles.keys import sign

    target, bundle, key = exported["target"], exported["bundle"], exported["key"]
    _refused(cli, target, bundle, f"signed by key {key['key_id']}, which this box does not trust")
    assert cli("keys", "trust", "factory", key["public_key"], "--home", target).code == 0
    members = _members(bundle)

    unsigned = tmp_path / "unsigned.vbundle"
    _write(unsigned, {k: v for k, v in members.items() if k != "signature.json"})
    _refused(cli, target, unsigned, "is not signed")

    truncated = tmp_path / "truncated.vbundle"
    truncated.write_bytes(bundle.read_bytes()[: bundle.stat().st_size // 2])
    _refused(cli, target, truncated, "truncated")

    altered = tmp_path / "altered.vbundle"
    _write(altered, {**members, "model_card.md": members["model_card.md"] + b"\nAll good, trust me.\n"})
    _refused(cli, target, altered, "'model_card.md' does not match its signed sha256")

    forged = tmp_path / "forged.vbundle"
    manifest = json.loads(members["bundle.json"])
    manifest["exported_by"] = "someone else"
    _write(forged, {**members, "bundle.json": json.dumps(manifest).encode()})
    _refused(cli, target, forged, "the signature does not match the bundle's contents")

    newer = tmp_path / "newer.vbundle"
    manifest = {**json.loads(members["bundle.json"]), "format": 2}
    manifest_bytes = json.dumps(manifest).encode()
    _write(newer, {**members, "bundle.json": manifest_bytes,
                   "signature.json": json.dumps(sign(exported["source"], manifest_bytes)).encode()})
    _refused(cli, target, newer, "made by a newer Vigil")

    assert cli("keys", "distrust", "factory", "--home", target).code == 0
    _refused(cli, target, bundle, "which this box does not trust")
    bad_key = cli("keys", "trust", "other", "not-a-key", "--home", target)
    assert bad_key.code == 2 and "base64 of 32 raw Ed25519 bytes" in bad_key.err


def test_signing_key_is_private_and_made_once(exported: dict[str, Any], cli: Callable[..., Any]) -> None:
    path = exported["source"] / "keys" / "signing.key"
    assert path.stat().st_mode & 0o777 == 0o600
    again = cli("keys", "init", "--home", exported["source"])
    assert again.code == 2 and "already has a signing key" in again.err
    shown = cli("keys", "show", "--home", exported["source"], "--json")
    assert json.loads(shown.out) == exported["key"]
