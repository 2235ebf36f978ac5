"""Load a registered version's model, verifying its artifact's hash first."""

from __future__ import annotations

from typing import Any

from appliance.context import AppContext
from appliance.registry.artifacts import load_verified
from appliance.registry.versions import get_version, require_artifact


def load_version_model(ctx: AppContext, version_row: dict[str, Any]) -> Any:
    require_artifact(version_row)
    label = f"model {version_row['model_name']} v{version_row['version']}"
    return load_verified(ctx.home.root / version_row["artifact_path"], version_row["artifact_sha256"], label)


def load_model(ctx: AppContext, model_name: str, number: int) -> Any:
    return load_version_model(ctx, get_version(ctx.store, model_name, number))
