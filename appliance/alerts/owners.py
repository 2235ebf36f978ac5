"""Who owns a model, as alerts, incidents and reports name it: `team <contact>` from the configuration's
`[owners.models.NAME]`, or None for a model nobody owns (`vigil doctor` names those)."""

from __future__ import annotations

from typing import Any

from appliance.config import Owner, VigilConfig


def owner_of(config: VigilConfig, model_name: str) -> Owner | None:
    return config.owners.owner_of(model_name)


def owner_label(config: VigilConfig, model_name: str) -> str | None:
    """`team <contact>` of the model's owner; None when it has none."""
    owner = owner_of(config, model_name)
    return owner.label if owner is not None else None


def unowned(config: VigilConfig, model_names: list[str]) -> list[str]:
    """The models among `model_names` without an owner, sorted."""
    return sorted(name for name in model_names if owner_of(config, name) is None)


def with_owner(config: VigilConfig, models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each model row (with its `name`) with its owner's label beside it."""
    return [{**model, "owner": owner_label(config, str(model["name"]))} for model in models]
