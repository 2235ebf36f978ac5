"""Load a registered version's model, verifying its artifact's hash first.

A version whose model ships a team's code is never loaded here: it comes back as an `IsolatedModel`
whose worker process loads it, and only while an admin still trusts that code's archive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from appliance.home.context import AppContext
from appliance.artifacts.model_files import load_verified, read_verified
from appliance.registry.versions import get_version, require_artifact


def load_version_model(ctx: AppContext, version_row: dict[str, Any]) -> Any:
    require_artifact(version_row)
    label = f"model {version_row['model_name']} v{version_row['version']}"
    code = (version_row.get("imported_from") or {}).get("code")
    if code:
        from appliance.custom_code.trust import require

        require(ctx.store, str(code["sha256"]), label)
    return load_stored_model(ctx.home.root, version_row, label)


def load_stored_model(home_root: Path, row: dict[str, Any], label: str) -> Any:
    """The version's model from its verified files, without the store (so it also runs in a training
    child): a model shipping a team's code comes back as an `IsolatedModel`. Trust is checked by the
    caller that has the store (`load_version_model`); a champion's code is trusted while it serves,
    since revoking it is refused then."""
    code = (row.get("imported_from") or {}).get("code")
    if code:
        return _isolated(home_root, row, code, label)
    return load_verified(home_root / row["artifact_path"], row["artifact_sha256"], label)


def _isolated(home_root: Path, row: dict[str, Any], code: dict[str, Any], label: str) -> Any:
    from appliance.custom_code.isolated_model import IsolatedModel

    artifact = read_verified(home_root / row["artifact_path"], row["artifact_sha256"], label)
    archive = read_verified(home_root / str(code["path"]), str(code["sha256"]), f"{label}'s code")
    return IsolatedModel(artifact, archive, str(code["sha256"]), label, home_root)


def load_model(ctx: AppContext, model_name: str, number: int) -> Any:
    return load_version_model(ctx, get_version(ctx.store, model_name, number))
