"""A model in XGBoost's, LightGBM's or CatBoost's own file format, scoring the frames Vigil passes.

`NativeBooster` keeps the library's model file as bytes (XGBoost UBJSON, LightGBM text, CatBoost
`.cbm`) and what Vigil needs to feed it: the model's columns in its own order, each categorical
feature's categories in code order, and the task. Stored with skops, its state is those plain values
only; the booster is parsed from the bytes by the library's own loader on first use, so loading a
stored version runs no code from the file.

Inputs are encoded the way each library expects: XGBoost and LightGBM get a float matrix whose
categorical columns hold category codes (unknown or missing values: NaN, which both send down their
learned default branch); CatBoost gets the category text itself (missing: `missing_category`).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import polars as pl

from appliance.boosters.structure import check_booster
from appliance.errors import ArtifactError
from appliance.core.threads import PREDICT_THREADS

TASKS = ("binary", "regression", "multiclass")
FORMATS = {"xgboost": "ubj", "lightgbm": "txt", "catboost": "cbm"}
NUMERIC, CATEGORICAL = "numeric", "categorical"


class NativeBooster:
    """predict / predict_proba over a polars frame holding the model's input columns."""

    def __init__(self, library: str, data: bytes, task: str, inputs: list[tuple[str, str]],
                 categories: dict[str, list[str]], classes: list[str], missing_category: str = "__missing__") -> None:
        self.__setstate__({"library": library, "data": data, "task": task, "inputs": [list(i) for i in inputs],
                           "categories": categories, "classes": classes, "missing_category": missing_category})

    # -- stored state: plain values only --------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {"library": self.library, "data": self.data, "task": self.task,
                "inputs": [list(i) for i in self.inputs], "categories": self.categories,
                "classes": list(self.classes), "missing_category": self.missing_category}

    def __setstate__(self, state: dict[str, Any]) -> None:
        _check_state(state)
        self.library: str = state["library"]
        self.data: bytes = bytes(state["data"])
        self.task: str = state["task"]
        self.inputs: list[tuple[str, str]] = [(str(n), str(k)) for n, k in state["inputs"]]
        self.categories: dict[str, list[str]] = {str(k): [str(v) for v in vs] for k, vs in state["categories"].items()}
        self.classes = list(state["classes"])
        self.missing_category: str = state["missing_category"]
        self._booster: Any = None
        self._lock = threading.Lock()
        self._codes = {name: {value: float(i) for i, value in enumerate(values)}
                       for name, values in self.categories.items()}

    # -- the scikit-learn face Vigil calls ------------------------------------------------------
    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.classes)

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.asarray([name for name, _ in self.inputs], dtype=object)

    def predict_proba(self, frame: pl.DataFrame) -> np.ndarray:
        if self.task == "regression":
            raise AttributeError("a regression model has no predict_proba")
        raw = self._raw(frame)
        if self.task == "binary":
            positive = raw.reshape(-1)
            return np.column_stack([1.0 - positive, positive])
        return raw.reshape(len(frame), -1)

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        if self.task == "regression":
            return self._raw(frame).reshape(-1)
        chosen = np.argmax(self.predict_proba(frame), axis=1)
        return np.asarray(self.classes)[chosen]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"library": self.library, "task": self.task}

    # -- library calls --------------------------------------------------------------------------
    def booster(self) -> Any:
        """The library's booster, parsed from the stored bytes on first use (one thread parses)."""
        with self._lock:
            if self._booster is None:
                self._booster = load_booster(self.library, self.data)
            return self._booster

    def _raw(self, frame: pl.DataFrame) -> np.ndarray:
        booster = self.booster()
        if self.library == "xgboost":
            import xgboost

            matrix = xgboost.DMatrix(self.matrix(frame), feature_names=[n for n, _ in self.inputs],
                                     feature_types=["c" if k == CATEGORICAL else "float" for _, k in self.inputs],
                                     enable_categorical=True, nthread=PREDICT_THREADS)
            return np.asarray(booster.predict(matrix), dtype=np.float64)
        if self.library == "lightgbm":
            return np.asarray(booster.predict(self.matrix(frame), num_threads=PREDICT_THREADS), dtype=np.float64)
        from catboost import Pool

        pool = Pool(self.text_matrix(frame), cat_features=self.categorical_positions())
        kind = "RawFormulaVal" if self.task == "regression" else "Probability"
        out = np.asarray(booster.predict(pool, prediction_type=kind, thread_count=PREDICT_THREADS), dtype=np.float64)
        return out[:, 1] if self.task == "binary" and out.ndim == 2 else out

    def categorical_positions(self) -> list[int]:
        return [i for i, (_, kind) in enumerate(self.inputs) if kind == CATEGORICAL]

    def matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """Float matrix in the model's column order; categories as codes, unknown or missing as NaN."""
        columns = []
        for name, kind in self.inputs:
            column = frame[name]
            if kind == NUMERIC:
                columns.append(column.cast(pl.Float64).to_numpy().astype(np.float64))
            else:
                codes = self._codes.get(name, {})
                columns.append(np.fromiter((codes.get(v, np.nan) if v is not None else np.nan
                                            for v in column.cast(pl.String).to_list()), dtype=np.float64,
                                           count=len(column)))
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))

    def text_matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """Object matrix for CatBoost: numbers as floats, categories as their text."""
        out = np.empty((len(frame), len(self.inputs)), dtype=object)
        for i, (name, kind) in enumerate(self.inputs):
            if kind == NUMERIC:
                out[:, i] = frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
            else:
                out[:, i] = frame[name].cast(pl.String).fill_null(self.missing_category).to_list()
        return out


def load_booster(library: str, data: bytes) -> Any:
    """Parse a model file's bytes with the library's own loader (never unpickling), then check its trees
    (`structure`) before anything predicts with them."""
    booster = _parse(library, data)
    check_booster(library, booster, f"the {library} model")
    return booster


def _parse(library: str, data: bytes) -> Any:
    from appliance.boosters.libraries import require

    module = require(library, "this model")
    try:
        if library == "xgboost":
            booster = module.Booster()
            booster.load_model(bytearray(data))
            booster.set_param({"nthread": PREDICT_THREADS})
            return booster
        if library == "lightgbm":
            return module.Booster(model_str=data.decode("utf-8"))
        booster = module.CatBoost()
        booster.load_model(blob=data)
        return booster
    except Exception as e:  # each library raises its own error types for a malformed file
        raise ArtifactError(f"the {library} model could not be read: {str(e).strip().splitlines()[-1][:300]}") from e


def _check_state(state: Any) -> None:
    """A stored state holds exactly the plain values Vigil wrote."""
    ok = (isinstance(state, dict) and state.get("library") in FORMATS and isinstance(state.get("data"), (bytes, bytearray))
          and state.get("task") in TASKS and isinstance(state.get("inputs"), list)
          and all(isinstance(i, (list, tuple)) and len(i) == 2 and i[1] in (NUMERIC, CATEGORICAL)
                  for i in state["inputs"])
          and isinstance(state.get("categories"), dict) and isinstance(state.get("classes"), list)
          and isinstance(state.get("missing_category"), str))
    if not ok:
        raise ArtifactError("a stored boosting model has an unexpected state; restore the artifact from a backup")
