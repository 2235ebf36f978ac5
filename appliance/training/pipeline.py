"""Build the scikit-learn Pipeline a spec names: preprocessing of its features plus the estimator.

XGBoost, LightGBM and CatBoost estimators see their inputs the way each library expects: numeric
features as they are (each library learns where missing values go), categorical features as codes
declared categorical (XGBoost `feature_types` "c", LightGBM `categorical_feature`; unknown or missing
values become NaN), or for CatBoost as text with `cat_features`. Each trains on one thread with the
spec's seed, so `vigil reproduce` gives identical predictions.
"""

from __future__ import annotations

from typing import Any

from appliance.contracts.features import CATEGORICAL, NUMERIC, Feature
from appliance.errors import SpecError
from appliance.training.spec import BOOSTING_LIBRARIES, TrainingSpec

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
        steps.append(("numeric", "passthrough" if kind in BOOSTING_LIBRARIES else _numeric_steps(kind), numeric))
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

    import numpy as np

    impute = SimpleImputer(missing_values=None, strategy="constant", fill_value=MISSING_CATEGORY)
    if kind in ("xgboost", "lightgbm"):
        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan)
    if kind == "catboost":
        return impute
    if kind == "hist_gradient_boosting":
        encode: Any = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, max_categories=250
        )
    else:
        encode = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False)
    return Pipeline([("impute", impute), ("encode", encode)])


def fit_params(spec: TrainingSpec, features: list[Feature]) -> dict[str, Any]:
    """Arguments the pipeline's `fit` needs besides the rows (LightGBM takes its categoricals there)."""
    if spec.estimator.kind != "lightgbm":
        return {}
    n_numeric = sum(1 for f in features if f.kind == NUMERIC)
    return {"estimator__categorical_feature": list(range(n_numeric, len(features)))}


def _estimator(spec: TrainingSpec, *, n_numeric: int, n_categorical: int) -> Any:
    kind = spec.estimator.kind
    params = dict(spec.estimator.params)
    if kind in BOOSTING_LIBRARIES:
        return _booster(spec, params, n_numeric=n_numeric, n_categorical=n_categorical)
    if kind == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls: Any = HistGradientBoostingRegressor if spec.task == "regression" else HistGradientBoostingClassifier
        if n_categorical and "categorical_features" not in params:
            params["categorical_features"] = list(range(n_numeric, n_numeric + n_categorical))
        params.setdefault("random_state", spec.seed)
    elif kind == "random_forest":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestRegressor if spec.task == "regression" else RandomForestClassifier
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


# Settings Vigil fixes for a booster: one thread and the spec's seed (reproducible, and the daemon's
# scoring keeps the other core), no files written next to the spec.
_PINNED: dict[str, dict[str, Any]] = {
    "xgboost": {"n_jobs": 1, "tree_method": "hist", "enable_categorical": True},
    "lightgbm": {"n_jobs": 1, "verbose": -1, "deterministic": True, "force_row_wise": True},
    "catboost": {"thread_count": 1, "verbose": 0, "allow_writing_files": False},
}
_SEED = {"xgboost": "random_state", "lightgbm": "random_state", "catboost": "random_seed"}
_CLASSES = {
    "xgboost": ("xgboost", "XGBClassifier", "XGBRegressor"),
    "lightgbm": ("lightgbm", "LGBMClassifier", "LGBMRegressor"),
    "catboost": ("catboost", "CatBoostClassifier", "CatBoostRegressor"),
}


def _booster(spec: TrainingSpec, params: dict[str, Any], *, n_numeric: int, n_categorical: int) -> Any:
    from appliance.boosters.libraries import require

    kind = spec.estimator.kind
    module_name, classifier, regressor = _CLASSES[kind]
    module = require(module_name, f"estimator '{kind}'")
    cls = getattr(module, regressor if spec.task == "regression" else classifier)
    fixed = sorted(set(params) & (set(_PINNED[kind]) | {"thread_count", "nthread", "num_threads", "n_jobs"}))
    if fixed:
        raise SpecError(f"estimator.params {fixed} are set by Vigil for {kind} (one thread, so training is "
                        "reproducible and scoring keeps a core); remove them")
    _check_names(cls, params)  # the spec's own params; Vigil's settings below are known to the library
    params = {**params, **_PINNED[kind]}
    params.setdefault(_SEED[kind], spec.seed)
    if kind == "xgboost":
        params["feature_types"] = ["q"] * n_numeric + ["c"] * n_categorical
    if kind == "catboost" and n_categorical:
        params["cat_features"] = list(range(n_numeric, n_numeric + n_categorical))
    return cls(**params)


def _check_names(cls: Any, params: dict[str, Any]) -> None:
    """Refuse a parameter the estimator's constructor does not name (the boosting libraries only warn)."""
    import inspect

    allowed = set(cls().get_params()) | {
        name for name in inspect.signature(cls.__init__).parameters if name not in ("self", "kwargs")}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise SpecError(
            f"estimator.params {unknown} are not parameters of {cls.__name__}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _construct(cls: Any, params: dict[str, Any]) -> Any:
    _check_names(cls, params)
    estimator = cls(**params)
    try:
        estimator._validate_params()
    except (ValueError, TypeError) as e:
        raise SpecError(f"estimator.params: {e}") from e
    return estimator
