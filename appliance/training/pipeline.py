"""Build the scikit-learn Pipeline a spec names: preprocessing of its features plus the estimator."""

from __future__ import annotations

from typing import Any

from appliance.contracts.features import CATEGORICAL, NUMERIC, Feature
from appliance.errors import SpecError
from appliance.training.spec import TrainingSpec

MISSING_CATEGORY = "__missing__"


def build_pipeline(spec: TrainingSpec, features: list[Feature]) -> Any:
    """An unfitted Pipeline: impute, encode (scale for linear models), then the estimator."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    numeric = [f.name for f in features if f.kind == NUMERIC]
    categorical = [f.name for f in features if f.kind == CATEGORICAL]
    kind = spec.estimator.kind
    steps = []
    if numeric:
        steps.append(("numeric", _numeric_steps(kind), numeric))
    if categorical:
        steps.append(("categorical", _categorical_steps(kind), categorical))
    preprocess = ColumnTransformer(steps, remainder="drop", verbose_feature_names_out=False)
    estimator = _estimator(spec, n_numeric=len(numeric), n_categorical=len(categorical))
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def _numeric_steps(kind: str) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median"))]
    if kind in ("logistic_regression", "linear_regression"):
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def _categorical_steps(kind: str) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

    impute = SimpleImputer(missing_values=None, strategy="constant", fill_value=MISSING_CATEGORY)
    if kind == "hist_gradient_boosting":
        encode: Any = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, max_categories=250
        )
    else:
        encode = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False)
    return Pipeline([("impute", impute), ("encode", encode)])


def _estimator(spec: TrainingSpec, *, n_numeric: int, n_categorical: int) -> Any:
    kind = spec.estimator.kind
    params = dict(spec.estimator.params)
    if kind == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls: Any = HistGradientBoostingClassifier if spec.task == "binary" else HistGradientBoostingRegressor
        if n_categorical and "categorical_features" not in params:
            params["categorical_features"] = list(range(n_numeric, n_numeric + n_categorical))
        params.setdefault("random_state", spec.seed)
    elif kind == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestClassifier if spec.task == "binary" else RandomForestRegressor
        params.setdefault("random_state", spec.seed)
        params.setdefault("n_jobs", 1)
    elif kind == "logistic_regression":
        from sklearn.linear_model import LogisticRegression

        cls = LogisticRegression
        params.setdefault("random_state", spec.seed)
        params.setdefault("max_iter", 1000)
    else:
        from sklearn.linear_model import LinearRegression

        cls = LinearRegression
    return _construct(cls, params)


def _construct(cls: Any, params: dict[str, Any]) -> Any:
    allowed = set(cls().get_params())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise SpecError(
            f"estimator.params {unknown} are not parameters of {cls.__name__}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    estimator = cls(**params)
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as e:
        raise SpecError(f"estimator.params: {e}") from e
    return estimator
