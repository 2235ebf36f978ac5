"""`vigil bundle export|import`: one signed file that carries a version to a box with no network.

A bundle is an uncompressed tar of plain files: `bundle.json` (format, model, version, the exporting
box and person, and every other file's sha256), `signature.json` (Ed25519 over the exact bytes of
`bundle.json`), and the version's artifact, training snapshot, spec, lineage, contract, evaluation,
model card and release policy. Import checks, in order: that the file is a whole bundle, that it is
signed, that the signing key is one this box trusts, that the signature matches, that the format is
one this Vigil reads, and that every file matches its hash — before anything is written. The version
is then registered as an import (evaluated again on its own snapshot, compared with this box's
champion) with where it came from, and promoted only through this box's gates and approval.
"""

from __future__ import annotations

import hashlib
import json
import socket
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from appliance.access.output_paths import new_file, require_absent
from appliance.bundles import keys
from appliance.clock import utc_now
from appliance.errors import ArtifactError
from appliance.plain_tar import pack
from appliance.store import registry_queries as q

FORMAT = 1
MANIFEST = "bundle.json"
SIGNATURE = "signature.json"
MAX_MEMBER_BYTES = 4 << 30
LINEAGE_FIELDS = ("model_name", "version", "task", "origin", "artifact_sha256", "snapshot_id", "snapshot_rows",
                  "snapshot_source", "snapshot_time_min", "snapshot_time_max", "target", "positive_class",
                  "threshold", "features", "segments", "time_column", "holdout_start", "train_rows", "holdout_rows",
                  "spec_sha256", "spec_path", "spec_git_commit", "spec_git_dirty", "estimator", "hyperparameters",
                  "seed", "environment", "parent_version", "imported_from", "retrain_trigger", "created_by",
                  "created_at", "reason", "classes")


class BundleRefused(ArtifactError):
    """A bundle that is not whole, not signed by a trusted key, altered, or from a newer Vigil."""


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, sort_keys=True, default=str).encode("utf-8")


def export_bundle(ctx: Any, model_name: str, number: int, target: Path, actor: str) -> dict[str, Any]:
    from appliance.registry.details import version_details
    from appliance.registry.versions import get_version, require_artifact

    target = require_absent(target.resolve())
    row = get_version(ctx.store, model_name, number)
    require_artifact(row)
    if (row.get("imported_from") or {}).get("code"):
        raise ArtifactError(f"{model_name} v{number} ships a team's code, which a bundle does not carry: on the other "
                            "box, an admin trusts the code and the model is imported with its spec and code there")
    details = version_details(ctx.store, model_name, number)
    root = ctx.home.root
    files = {
        "artifact.skops": (root / row["artifact_path"]).read_bytes(),
        "snapshot.parquet": (root / row["snapshot_path"]).read_bytes(),
        "spec.toml": row["spec_toml"].encode("utf-8"),
        "lineage.json": _json({k: row.get(k) for k in LINEAGE_FIELDS}),
        "contract.json": _json({"revision": details["contract_revision"], "contract": details["contract"]}),
        "evaluation.json": _json({"metrics": details["metrics"], "segment_metrics": details["segment_metrics"],
                                  "comparison": details["comparison"]}),
        "model_card.md": row["model_card"].encode("utf-8"),
        "policy.json": _json(ctx.config.promotion.policy_for(model_name).model_dump()),
    }
    if hashlib.sha256(files["artifact.skops"]).hexdigest() != row["artifact_sha256"]:
        raise ArtifactError(f"the artifact of {model_name} v{number} does not match its recorded sha256; "
                            "it was changed on disk and cannot be bundled")
    manifest = {"format": FORMAT, "model": model_name, "version": number, "task": row["task"],
                "exported_at": utc_now().isoformat(), "exported_by": actor, "box": socket.gethostname(),
                "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
                          for name, data in files.items()}}
    manifest_bytes = _json(manifest)
    signature = keys.sign(root, manifest_bytes)
    with new_file(target) as staged:
        staged.write_bytes(pack([(MANIFEST, manifest_bytes), (SIGNATURE, _json(signature)), *files.items()]))
    with ctx.store.transaction():
        q.insert_audit(ctx.store, utc_now(), actor, "bundle.export", model_name, number,
                       {"file": str(target), "key_id": signature["key_id"]},
                       subject=f"version:{model_name}/v{number}", after={"bundle": str(target),
                                                                         "key_id": signature["key_id"]})
    return {"file": str(target), "model": model_name, "version": number, "key_id": signature["key_id"],
            "bytes": target.stat().st_size}


def _members(file: Path) -> dict[str, bytes]:
    """Every member of the bundle's tar, refusing anything that is not a whole bundle of plain files."""
    if not file.is_file():
        raise BundleRefused(f"{file} does not exist; check the path")
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(file, "r:") as tar:
            for member in tar:
                if not member.isfile() or "/" in member.name or member.name.startswith("."):
                    raise BundleRefused(f"{file.name} holds '{member.name}', which is not a plain bundle file; refused")
                if member.size > MAX_MEMBER_BYTES:
                    raise BundleRefused(f"{file.name}: '{member.name}' is larger than a bundle file may be; refused")
                handle = tar.extractfile(member)
                data = handle.read() if handle else b""
                if len(data) != member.size:
                    raise BundleRefused(f"{file.name} is truncated ('{member.name}' is cut short); refused")
                found[member.name] = data
    except (tarfile.TarError, EOFError) as e:
        raise BundleRefused(f"{file.name} is truncated or not a Vigil bundle ({e}); refused") from e
    return found


def verify_bundle(store: Any, file: Path) -> tuple[dict[str, Any], dict[str, bytes], dict[str, Any]]:
    """(manifest, files, signer) of a bundle that passes every check; raises BundleRefused naming the first failure."""
    members = _members(file)
    if MANIFEST not in members:
        raise BundleRefused(f"{file.name} has no {MANIFEST}: truncated or not a Vigil bundle; refused")
    if SIGNATURE not in members:
        raise BundleRefused(f"{file.name} is not signed; only signed bundles are imported")
    try:
        signature = json.loads(members[SIGNATURE])
        key, public_key, signed = signature["key_id"], signature["public_key"], signature["signature"]
    except (ValueError, KeyError, TypeError) as e:
        raise BundleRefused(f"{file.name}: its signature record is damaged ({e}); refused") from e
    signer = keys.trusted(store, str(key))
    if signer is None or signer["public_key"] != public_key:
        raise BundleRefused(f"{file.name} is signed by key {key}, which this box does not trust; if you trust its "
                            "sender, add their public key with `vigil keys trust NAME PUBKEY`")
    if not keys.verify(keys.decode_public(signer["public_key"]), members[MANIFEST], str(signed)):
        raise BundleRefused(f"{file.name}: the signature does not match the bundle's contents; it was altered; refused")
    manifest = json.loads(members[MANIFEST])
    if int(manifest.get("format", 0)) > FORMAT:
        raise BundleRefused(f"{file.name} is bundle format {manifest['format']}, made by a newer Vigil; this one reads "
                            f"format {FORMAT}: upgrade Vigil on this box to import it")
    listed = manifest.get("files", {})
    for name, meta in listed.items():
        if name not in members:
            raise BundleRefused(f"{file.name} lacks '{name}', which its manifest lists; refused")
        if hashlib.sha256(members[name]).hexdigest() != meta["sha256"]:
            raise BundleRefused(f"{file.name}: '{name}' does not match its signed sha256; it was altered; refused")
    extra = sorted(set(members) - set(listed) - {MANIFEST, SIGNATURE})
    if extra:
        raise BundleRefused(f"{file.name} holds files its signed manifest does not list ({', '.join(extra)}); refused")
    return manifest, {name: members[name] for name in listed}, signer


def import_bundle(ctx: Any, file: Path, actor: str, reason: str) -> dict[str, Any]:
    from appliance.contracts.contract import Contract
    from appliance.registry.contracts import apply_contract, current_contract
    from appliance.training.importing import import_version
    from appliance.training.spec import LoadedSpec, Source, parse_spec

    file = file.resolve()
    manifest, files, signer = verify_bundle(ctx.store, file)
    lineage = json.loads(files["lineage.json"])
    provenance = {"bundle": file.name, "box": manifest["box"], "signer": signer["name"], "key_id": signer["key_id"],
                  "exported_at": manifest["exported_at"], "exported_by": manifest["exported_by"],
                  "original_version": manifest["version"], "original_artifact_sha256": lineage["artifact_sha256"],
                  "original_snapshot_id": lineage["snapshot_id"], "original_created_by": lineage["created_by"],
                  "original_created_at": lineage["created_at"]}
    earlier = q.bundle_import(ctx.store, manifest["model"], manifest["box"], int(manifest["version"]),
                              lineage["artifact_sha256"])
    if earlier is not None:  # the same version from the same box: importing it again changes nothing
        return {"model": manifest["model"], "version": earlier, "already_imported": True, "provenance": provenance}
    text = files["spec.toml"].decode("utf-8")
    with tempfile.TemporaryDirectory(prefix="vigil-bundle-") as scratch:
        folder = Path(scratch)
        (folder / "artifact.skops").write_bytes(files["artifact.skops"])
        (folder / "snapshot.parquet").write_bytes(files["snapshot.parquet"])
        parsed = parse_spec(text, f"the spec in {file.name}").spec
        spec = parsed.model_copy(update={"source": Source(path=str(folder / "snapshot.parquet")),
                                         **_carried_classes(parsed, lineage)})
        registered = import_version(ctx, manifest["model"], folder / "artifact.skops", LoadedSpec(spec, text, None),
                                    trust=False, actor=actor, reason=reason or f"bundle from {manifest['box']}",
                                    provenance=provenance)
    bundled = json.loads(files["contract.json"])["contract"]
    _, contract = current_contract(ctx.store, manifest["model"], registered.version)
    if contract.model_dump(mode="json") != bundled:
        apply_contract(ctx.store, manifest["model"], registered.version, Contract.model_validate(bundled),
                       actor=actor, reason=f"the contract the version carried in {file.name}")
    with ctx.store.transaction():
        q.insert_audit(ctx.store, utc_now(), actor, "bundle.import", manifest["model"], registered.version,
                       provenance, subject=f"version:{manifest['model']}/v{registered.version}",
                       after={"from_box": manifest["box"], "signer": signer["name"]},
                       reason=reason or f"bundle from {manifest['box']}")
    return {**registered.as_dict(), "already_imported": False, "provenance": provenance}


def _carried_classes(spec: Any, lineage: dict[str, Any]) -> dict[str, Any]:
    """A multiclass version's class names, as its lineage carries them: a version Vigil trained holds a
    model fitted on class positions (0..k-1), so only the lineage knows what the classes are called."""
    classes = lineage.get("classes")
    if spec.task != "multiclass" or not classes:
        return {}
    return {"classes": list(classes)}
