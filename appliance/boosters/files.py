"""Reading a model file in its library's own format into a `NativeBooster`, checked against the spec.

Accepted: XGBoost JSON and UBJSON (`Booster.save_model` / `XGBModel.save_model`, `.json`, `.ubj`),
LightGBM text models (`Booster.save_model`, `.txt`), CatBoost `.cbm` and JSON (`save_model(...,
format="json")`, `.json`). A `.json` file is told apart by its content. Nothing here unpickles: each
file is parsed by the library's own model loader.

The spec says what the model's inputs are. Where the file names its features, they must be exactly
the spec's (in any order; the model's order is kept); where it does not, the spec's order (numeric,
then categorical) is the model's. The file's categorical features must be the spec's categorical
features, and each needs its categories: from the file when it carries them (XGBoost and LightGBM
models trained on pandas categories), else from the spec's `[encoding] categories`.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from appliance.boosters.native import CATEGORICAL, NUMERIC, NativeBooster, load_booster
from appliance.errors import ArtifactError

SUFFIXES = (".json", ".ubj", ".txt", ".cbm")
ACCEPTS = ("XGBoost .json/.ubj (Booster.save_model), LightGBM .txt (Booster.save_model), "
           "CatBoost .cbm/.json (save_model)")
_DEFAULT_NAMES = re.compile(r"^(f|Column_|feature_)?\d+$")


def library_of(file_name: str, data: bytes) -> str:
    """Which library wrote the file, from its suffix and first bytes."""
    suffix = Path(file_name).suffix.lower()
    if suffix == ".ubj":
        return "xgboost"
    if suffix == ".cbm":
        if not data.startswith(b"CBM1"):
            raise ArtifactError(f"{file_name} is not a CatBoost .cbm model (it lacks the CBM1 header); save it with "
                                "CatBoost's save_model")
        return "catboost"
    if suffix == ".txt":
        if not data.lstrip().startswith(b"tree\n") or b"version=" not in data[:200]:
            raise ArtifactError(f"{file_name} is not a LightGBM text model (it should begin 'tree' and "
                                "'version='); save it with LightGBM's Booster.save_model")
        return "lightgbm"
    if suffix == ".json":
        head = _json(file_name, data)
        if isinstance(head, dict) and "learner" in head:
            return "xgboost"
        if isinstance(head, dict) and "oblivious_trees" in head and "features_info" in head:
            return "catboost"
        raise ArtifactError(f"{file_name} is JSON but neither an XGBoost model (no 'learner') nor a CatBoost "
                            f"model (no 'oblivious_trees'); Vigil reads {ACCEPTS}")
    raise ArtifactError(f"{file_name}: '{suffix}' is not a boosting model format Vigil reads; it reads {ACCEPTS}")


def read_native(file_name: str, data: bytes, spec: Any) -> NativeBooster:
    """A `NativeBooster` for the file, whose task, features and categories agree with `spec`."""
    library = library_of(file_name, data)
    if library == "catboost" and Path(file_name).suffix.lower() == ".json":
        data = _catboost_json_to_cbm(file_name, data)
    booster = load_booster(library, data)
    described = _DESCRIBE[library](booster, data)
    _check_task(file_name, library, described["objective"], spec.task)
    inputs = _inputs(file_name, described, spec)
    categories = _categories(file_name, library, described, inputs, spec)
    if library == "xgboost":
        data = bytes(booster.save_raw(raw_format="ubj"))  # one stored form for both XGBoost formats
    classes = ["0", "1"] if spec.task == "binary" else _spec_classes(file_name, spec)
    model = NativeBooster(library, data, spec.task, inputs, categories, classes, spec.encoding.missing_category)
    if spec.task == "multiclass":
        _check_class_count(file_name, model)
    return model


def _check_class_count(file_name: str, model: NativeBooster) -> None:
    """The model's probability columns are as many as the classes the spec names."""
    import polars as pl

    empty = pl.DataFrame({name: pl.Series([None], dtype=pl.Float64 if kind == NUMERIC else pl.String)
                          for name, kind in model.inputs})
    width = model.predict_proba(empty).shape[1]
    if width != len(model.classes):
        raise ArtifactError(f"{file_name} answers {width} class probabilities; the spec's classes name "
                            f"{len(model.classes)} ({', '.join(model.classes)}); list exactly the model's classes")


def _spec_classes(file_name: str, spec: Any) -> list[str]:
    """A multiclass model file numbers its classes 0..k-1 without naming them: the spec names them."""
    if spec.task != "multiclass":
        return []
    if spec.classes is None:
        raise ArtifactError(f"{file_name} numbers its classes but does not name them; list them in the spec in "
                            "the model's class order: classes = [\"first\", \"second\", \"third\", ...]")
    return list(spec.classes)


# -- what each library's file says --------------------------------------------------------------

def _describe_xgboost(booster: Any, data: bytes) -> dict[str, Any]:
    config = json.loads(booster.save_raw(raw_format="json").decode("utf-8"))
    learner = config["learner"]
    names = list(booster.feature_names or [])
    types = list(booster.feature_types or [])
    count = int(learner["learner_model_param"]["num_feature"])
    categorical = [i for i, t in enumerate(types) if t == "c"]
    stored = _xgboost_categories(learner.get("gradient_booster", {}).get("model", {}).get("cats"), count)
    return {"objective": learner["objective"]["name"], "names": names, "count": count,
            "categorical": categorical, "categories": stored}


def _xgboost_categories(cats: Any, count: int) -> dict[int, list[str]]:
    """Categories XGBoost stored for features trained from pandas categories, by feature position."""
    if not isinstance(cats, dict) or not isinstance(cats.get("enc"), list):
        return {}
    found: dict[int, list[str]] = {}
    for position, encoded in enumerate(cats["enc"][:count]):
        offsets, values = encoded.get("offsets", []), encoded.get("values", [])
        if len(offsets) > 1:
            raw = bytes(int(v) & 0xFF for v in values)
            found[position] = [raw[offsets[i]:offsets[i + 1]].decode("utf-8", "replace")
                               for i in range(len(offsets) - 1)]
    return found


def _describe_lightgbm(booster: Any, data: bytes) -> dict[str, Any]:
    names = list(booster.feature_name())
    categorical = _lightgbm_categorical(data)
    stored = {position: [str(v) for v in values]
              for position, values in zip(categorical, booster.pandas_categorical or [])}
    objective = str(booster.params.get("objective") or _lightgbm_field(data, "objective") or "")
    return {"objective": objective.split()[0] if objective else "", "names": names, "count": len(names),
            "categorical": categorical, "categories": stored}


def _lightgbm_categorical(data: bytes) -> list[int]:
    text = data.decode("utf-8", "replace")
    match = re.search(r"^\[categorical_feature: ([0-9,]*)\]", text, re.MULTILINE)
    return [int(v) for v in match.group(1).split(",") if v] if match else []


def _lightgbm_field(data: bytes, name: str) -> str | None:
    match = re.search(rf"^{name}=(.*)$", data[:20000].decode("utf-8", "replace"), re.MULTILINE)
    return match.group(1).strip() if match else None


def _describe_catboost(booster: Any, data: bytes) -> dict[str, Any]:
    names = list(booster.feature_names_ or [])
    params = booster.get_all_params() or {}
    return {"objective": str(params.get("loss_function", "")).split(":")[0], "names": names, "count": len(names),
            "categorical": list(booster.get_cat_feature_indices()), "categories": {}}


_DESCRIBE = {"xgboost": _describe_xgboost, "lightgbm": _describe_lightgbm, "catboost": _describe_catboost}

_OBJECTIVES = {
    "binary": {"xgboost": ("binary:logistic",), "lightgbm": ("binary", "cross_entropy", "xentropy"),
               "catboost": ("Logloss", "CrossEntropy")},
    # XGBoost's multi:softmax answers the class number, not probabilities: it is refused
    "multiclass": {"xgboost": ("multi:softprob",), "lightgbm": ("multiclass", "softmax", "multiclassova"),
                   "catboost": ("MultiClass", "MultiClassOneVsAll")},
}


def _check_task(file_name: str, library: str, objective: str, task: str) -> None:
    if objective == "multi:softmax":
        raise ArtifactError(f"{file_name} has objective 'multi:softmax', a classifier that answers class numbers, not "
                            "probabilities; train it with objective 'multi:softprob' (the same trees, with each "
                            "class's probability)")
    if task == "regression":
        probability = {o for t in _OBJECTIVES.values() for o in t[library]}
        if objective in probability:
            raise ArtifactError(f"{file_name} has objective '{objective}', a classifier's; the spec's task is "
                                "'regression'")
        return
    accepted = _OBJECTIVES[task][library]
    if objective not in accepted:
        raise ArtifactError(f"{file_name} has objective '{objective}'; a {task} model from {library} needs one of "
                            f"{', '.join(accepted)} (it answers probabilities)")


def _inputs(file_name: str, described: dict[str, Any], spec: Any) -> list[tuple[str, str]]:
    """The model's columns in its order, each with the kind the spec gives it."""
    kinds = {name: NUMERIC for name in spec.features.numeric} | {name: CATEGORICAL for name in spec.features.categorical}
    names = described["names"]
    if names and not all(_DEFAULT_NAMES.match(n) for n in names):
        missing, extra = sorted(set(kinds) - set(names)), sorted(set(names) - set(kinds))
        if missing or extra:
            raise ArtifactError(f"{file_name} was trained on features {names}; the spec lists {list(kinds)}"
                                + (f" (not in the model: {missing})" if missing else "")
                                + (f" (not in the spec: {extra})" if extra else "") + "; make them the same")
        ordered = names
    else:
        if described["count"] != len(kinds):
            raise ArtifactError(f"{file_name} takes {described['count']} features without names; the spec lists "
                                f"{len(kinds)}; list exactly the model's features, in its column order")
        ordered = list(kinds)
    inputs = [(name, kinds[name]) for name in ordered]
    declared = {ordered[i] for i in described["categorical"] if i < len(ordered)}
    spec_categorical = set(spec.features.categorical)
    if declared != spec_categorical:
        raise ArtifactError(f"{file_name} treats {sorted(declared) or 'no features'} as categorical; the spec's "
                            f"categorical features are {sorted(spec_categorical) or 'none'}; make them the same")
    return inputs


def _categories(file_name: str, library: str, described: dict[str, Any], inputs: list[tuple[str, str]],
                spec: Any) -> dict[str, list[str]]:
    """Each categorical feature's categories in code order: the spec's, else the file's (CatBoost reads
    the text itself and needs none)."""
    if library == "catboost":
        return {}
    found: dict[str, list[str]] = {}
    for position, (name, kind) in enumerate(inputs):
        if kind != CATEGORICAL:
            continue
        if name in spec.encoding.categories:
            found[name] = list(spec.encoding.categories[name])
        elif position in described["categories"]:
            found[name] = described["categories"][position]
        else:
            raise ArtifactError(f"{file_name} does not carry the categories of '{name}' (it was not trained on "
                                "pandas categories); list them in the spec in code order: [encoding] categories = "
                                f"{{ {name} = [\"first\", \"second\", ...] }}")
    return found


def _json(file_name: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{file_name} is not valid JSON ({e}); Vigil reads {ACCEPTS}") from e


def _catboost_json_to_cbm(file_name: str, data: bytes) -> bytes:
    """CatBoost reads JSON models only from a file; the stored form is its binary format."""
    from appliance.boosters.libraries import require

    from appliance.boosters.structure import check_catboost_document

    catboost = require("catboost", file_name)
    document = _json(file_name, data)
    if not isinstance(document, dict):
        raise ArtifactError(f"{file_name} is not a CatBoost JSON model")
    check_catboost_document(document, file_name)  # CatBoost's JSON reader trusts the sizes it is given
    with tempfile.TemporaryDirectory(prefix="vigil-catboost-") as scratch:
        source = Path(scratch) / "model.json"
        source.write_bytes(data)
        try:
            model = catboost.CatBoost()
            model.load_model(str(source), format="json")
        except Exception as e:
            raise ArtifactError(f"{file_name} could not be read as a CatBoost JSON model: "
                                f"{str(e).strip().splitlines()[-1][:300]}") from e
        target = Path(scratch) / "model.cbm"
        model.save_model(str(target))
        return target.read_bytes()
