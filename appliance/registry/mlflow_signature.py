"""An MLflow model's input signature, checked against the training spec's features.

MLflow records a model's inputs in `MLmodel` as JSON: named columns with a type (`double`, `long`,
`string`, ...) and whether each is required, or unnamed tensors. Vigil's features are numeric or
categorical, so a column's type says which kinds it can be: `double` and `float` numeric, `string`
categorical, `integer`, `long` and `boolean` either. The spec and the signature must list the same
columns with agreeing kinds; each difference is named. A column the signature declares optional may
be missing in any share of rows, and the contract says so.

An unnamed tensor signature (a model trained on a NumPy matrix) names no columns; only its width is
checked against the spec's feature count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from appliance.errors import ArtifactError

NUMERIC_TYPES = ("double", "float", "integer", "long", "boolean")
CATEGORICAL_TYPES = ("string", "integer", "long", "boolean")
_KINDS = {"numeric": NUMERIC_TYPES, "categorical": CATEGORICAL_TYPES}
_FIX = ("list exactly the signature's columns in the spec's [features], numeric ones (MLflow types double, float, "
        "integer, long, boolean) under numeric and categorical ones (string, integer, long, boolean) under "
        "categorical")


@dataclass(frozen=True, slots=True)
class Column:
    """One named input of the signature."""

    name: str
    type: str
    required: bool

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required}


def read_signature(signature: Any, spec: Any, where: str) -> list[Column] | None:
    """The signature's columns, agreeing with the spec's features; None when it names none."""
    if signature is None:
        return None
    inputs = _inputs(signature, where)
    if inputs is None:
        return None
    if inputs and all(isinstance(i, dict) and i.get("type") == "tensor" for i in inputs):
        _check_tensor(inputs, spec, where)
        return None
    columns = [_column(item, index, where) for index, item in enumerate(inputs)]
    check_columns(columns, spec, where)
    return columns


def check_columns(columns: list[Column], spec: Any, where: str) -> None:
    """Refuse, naming each difference, unless the signature and the spec list the same features."""
    kinds = {name: "numeric" for name in spec.features.numeric} | {name: "categorical" for name in
                                                                    spec.features.categorical}
    differences: list[str] = []
    seen: set[str] = set()
    for column in columns:
        if column.name in seen:
            differences.append(f"'{column.name}' is in the signature twice")
        seen.add(column.name)
        kind = kinds.get(column.name)
        if kind is None:
            differences.append(f"'{column.name}' ({column.type}) is in the signature but not in the spec")
        elif column.type not in _KINDS[kind]:
            differences.append(f"'{column.name}' is {column.type} in the signature but {kind} in the spec")
    differences += [f"'{name}' is in the spec but not in the signature" for name in kinds if name not in seen]
    if differences:
        raise ArtifactError(f"{where}: the model's signature and the spec disagree: {'; '.join(differences)}; "
                            f"{_FIX}")


def _inputs(signature: Any, where: str) -> list[Any] | None:
    if not isinstance(signature, dict):
        raise ArtifactError(f"{where}: 'signature' must be a mapping with 'inputs'")
    inputs = signature.get("inputs")
    if inputs is None:
        return None
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs)
        except json.JSONDecodeError as e:
            raise ArtifactError(f"{where}: the signature's inputs are not valid JSON ({e})") from e
    if not isinstance(inputs, list):
        raise ArtifactError(f"{where}: the signature's inputs must be a list of columns")
    return inputs


def _column(item: Any, index: int, where: str) -> Column:
    if not isinstance(item, dict):
        raise ArtifactError(f"{where}: signature input {index + 1} is not a column")
    name, kind, required = item.get("name"), item.get("type"), item.get("required", True)
    if not isinstance(name, str) or not name or len(name) > 256 or not name.isprintable():
        raise ArtifactError(f"{where}: signature input {index + 1} has no usable name; Vigil's features are "
                            "named columns")
    if not isinstance(kind, str) or len(kind) > 64 or not kind.isprintable():
        raise ArtifactError(f"{where}: signature input '{name}' has no type")
    if kind == "tensor":
        raise ArtifactError(f"{where}: signature input '{name}' is a tensor among columns; Vigil reads columns, "
                            "or one unnamed tensor")
    return Column(name, kind, required is not False)


def _check_tensor(inputs: list[dict[str, Any]], spec: Any, where: str) -> None:
    """One unnamed 2-D tensor whose width is the spec's feature count (or open)."""
    count = len(spec.features.numeric) + len(spec.features.categorical)
    shape = (inputs[0].get("tensor-spec") or {}).get("shape") if isinstance(inputs[0].get("tensor-spec"), dict) \
        else None
    if len(inputs) != 1 or inputs[0].get("name") or not isinstance(shape, list) or len(shape) != 2:
        raise ArtifactError(f"{where}: the signature's inputs are tensors Vigil cannot map to features; it reads "
                            "named columns, or one unnamed 2-D tensor (a matrix of the spec's features)")
    width = shape[1]
    if width not in (-1, count):
        raise ArtifactError(f"{where}: the signature's input tensor has {width} columns; the spec lists {count} "
                            "features; list exactly the model's features, in its column order")
