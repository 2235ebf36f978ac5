"""The training spec: a TOML file, validated by pydantic, that says how to build a model version.

    model = "flight_delay"
    task = "binary"                  # or "regression", "multiclass"
    target = "delayed"
    seed = 42
    [source]
    query = "SELECT * FROM 'flights.parquet' WHERE month <= 6"   # or: path = "flights.parquet"
    [features]
    numeric = ["distance"]
    categorical = ["carrier"]
    segments = ["origin"]
    [split]
    time_column = "time_hour"
    holdout_fraction = 0.2           # or: holdout_start = 2013-06-01T00:00:00
    [estimator]
    kind = "hist_gradient_boosting"  # or logistic_regression, linear_regression, random_forest,
    params = { max_iter = 200 }      #    xgboost, lightgbm, catboost (optional extras)
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from appliance.errors import SpecError
from appliance.field_errors import describe

MODEL_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,62}$")
ESTIMATORS = ("hist_gradient_boosting", "logistic_regression", "linear_regression", "random_forest",
              "xgboost", "lightgbm", "catboost")
BOOSTING_LIBRARIES = ("xgboost", "lightgbm", "catboost")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Exactly one of a Parquet (.parquet, .pq)/CSV file path or a DuckDB query (relative paths: the spec's
    folder)."""

    path: str | None = None
    query: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Source":
        if (self.path is None) == (self.query is None):
            raise ValueError("give exactly one of 'path' or 'query'")
        if self.path is not None and not self.path.lower().endswith((".parquet", ".pq", ".csv", ".csv.gz")):
            raise ValueError("path must be a .parquet, .pq, .csv or .csv.gz file")
        return self


class Features(_Strict):
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list)
    max_missing_rate: float = Field(0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _distinct(self) -> "Features":
        both = self.numeric + self.categorical
        if not both:
            raise ValueError("list at least one numeric or categorical feature")
        repeated = sorted({c for c in both if both.count(c) > 1})
        if repeated:
            raise ValueError(f"features listed twice: {repeated}")
        return self


class Split(_Strict):
    time_column: str
    holdout_fraction: float | None = Field(None, gt=0.0, lt=1.0)
    holdout_start: datetime | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> "Split":
        if self.holdout_fraction is not None and self.holdout_start is not None:
            raise ValueError("give one of 'holdout_fraction' or 'holdout_start'")
        return self

    @property
    def fraction(self) -> float | None:
        """The holdout share when no start time is given (default 0.2)."""
        if self.holdout_start is not None:
            return None
        return self.holdout_fraction if self.holdout_fraction is not None else 0.2


class Fairness(_Strict):
    """Protected attributes: columns of the data (features or not) whose groups are evaluated apart."""

    protected: list[str] = Field(default_factory=list)


class Estimator(_Strict):
    kind: Literal[
        "hist_gradient_boosting", "logistic_regression", "linear_regression", "random_forest",
        "xgboost", "lightgbm", "catboost"
    ]
    params: dict[str, Any] = Field(default_factory=dict)


class Encoding(_Strict):
    """How categorical inputs reach a model brought in its library's own file format.

    `categories` lists, per categorical feature, its values in the order of the codes the model was
    trained on (needed only when the model file does not carry them: XGBoost and LightGBM models
    trained from pandas categories carry them). CatBoost reads the text itself; a missing value is
    passed as `missing_category`.
    """

    categories: dict[str, list[str]] = Field(default_factory=dict)
    missing_category: str = "__missing__"

    @field_validator("categories")
    @classmethod
    def _distinct_values(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, values in value.items():
            if len(set(values)) != len(values):
                raise ValueError(f"categories of '{name}' list a value twice")
        return value


class Code(_Strict):
    """A team's own code the model needs (transformer classes, functions): Python files or package
    folders next to the spec, each importable by its name. It runs only in a separate process, and
    only once an admin trusts exactly these bytes (`vigil code trust`); see docs/models.md."""

    paths: list[str] = Field(default_factory=list)


class TrainingSpec(_Strict):
    model: str
    description: str = ""
    task: Literal["binary", "regression", "multiclass"]
    target: str
    positive_class: str | int | bool | None = None
    classes: list[str] | None = None  # multiclass: the class names (as text) in the model's probability order
    threshold: float = Field(0.5, gt=0.0, lt=1.0)
    seed: int = 0
    source: Source
    features: Features
    split: Split
    estimator: Estimator
    fairness: Fairness = Field(default_factory=Fairness)
    encoding: Encoding = Field(default_factory=Encoding)
    code: Code = Field(default_factory=Code)

    @field_validator("model")
    @classmethod
    def _model_name(cls, value: str) -> str:
        if not MODEL_NAME.match(value):
            raise ValueError("use lower-case letters, digits, '_' or '-', starting with a letter")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "TrainingSpec":
        kind = self.estimator.kind
        if self.task != "regression" and kind == "linear_regression":
            raise ValueError("estimator 'linear_regression' is for task 'regression'")
        if self.task == "regression" and kind == "logistic_regression":
            raise ValueError("estimator 'logistic_regression' is for task 'binary' or 'multiclass'")
        self._check_classes()
        inputs = self.features.numeric + self.features.categorical
        if self.target in inputs:
            raise ValueError(f"target '{self.target}' is also listed as a feature")
        strangers = sorted(set(self.encoding.categories) - set(self.features.categorical))
        if strangers:
            raise ValueError(f"encoding.categories names {strangers}, which are not categorical features")
        return self

    def _check_classes(self) -> None:
        if self.task != "multiclass":
            if self.classes is not None:
                raise ValueError("'classes' is for task 'multiclass'")
            return
        if self.positive_class is not None:
            raise ValueError("'positive_class' is for task 'binary'; a multiclass model names 'classes'")
        if self.classes is not None and (len(self.classes) < 3 or len(set(self.classes)) != len(self.classes)):
            raise ValueError("'classes' lists at least 3 distinct class names (for two, use task 'binary')")

    @property
    def feature_names(self) -> list[str]:
        return self.features.numeric + self.features.categorical


class LoadedSpec:
    """A validated spec with its text, sha256 and the folder relative paths resolve against."""

    def __init__(self, spec: TrainingSpec, text: str, path: Path | None) -> None:
        self.spec = spec
        self.text = text
        self.path = path
        self.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def parse_spec(text: str, source: str = "spec", path: Path | None = None) -> LoadedSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{source} is not valid TOML ({e}); fix the file") from e
    try:
        return LoadedSpec(TrainingSpec.model_validate(data), text, path)
    except ValidationError as e:
        raise SpecError(f"{source}: {describe(e)}") from e


def load_spec(path: Path) -> LoadedSpec:
    if not path.is_file():
        raise SpecError(f"training spec {path} does not exist; check the path")
    return parse_spec(path.read_text(encoding="utf-8"), str(path), path.resolve())
