"""Linear models (LogisticRegression, LinearRegression and its regularised kin) as plan estimators.

scikit-learn scores a linear model as `X @ coef_.T + intercept_` (`coef_` one-dimensional: `X @
coef_`) and, for a binary LogisticRegression, `scipy.special.expit` in place, then `[1 - p, p]`. The
plan stores `coef_` and `intercept_` as they are and makes the same calls: the same BLAS product on a
C-ordered float64 matrix of the same rows, the same expit, so the answers are the same bits (checked
when the plan is compiled; a product that differed would leave the model to scikit-learn).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from appliance.plans.steps import StepData

REGRESSORS = ("LinearRegression", "Ridge", "Lasso", "ElasticNet")


def compile_linear(estimator: Any, task: str) -> StepData | None:
    """A fitted linear estimator as (spec, arrays), None when it is not one; NoPlan when it cannot be."""
    from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge

    from appliance.plans.boosters import NoPlan

    name = type(estimator).__name__
    if isinstance(estimator, LogisticRegression):
        if len(estimator.classes_) != 2:
            raise NoPlan(f"its {name} has {len(estimator.classes_)} classes (plans cover binary and regression)")
        if task != "binary":
            raise NoPlan(f"its {name} is a classifier, and the version is a {task} model")
        output = "proba"
    elif isinstance(estimator, (LinearRegression, Ridge, Lasso, ElasticNet)):
        if task != "regression":
            raise NoPlan(f"its {name} is a regressor, and the version is a {task} model")
        if np.ndim(estimator.coef_) != 1:
            raise NoPlan(f"its {name} predicts several targets")
        output = "value"
    else:
        return None
    coef, intercept = np.asarray(estimator.coef_), np.asarray(estimator.intercept_)
    if coef.dtype != np.float64 or intercept.dtype != np.float64:
        raise NoPlan(f"its {name} holds {coef.dtype} coefficients (plans compute in float64)")
    return {"kind": "linear", "output": output}, {"coef": np.ascontiguousarray(coef), "intercept": intercept}


def linear_runner(spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """X (float64, the estimator's input columns) → predict_proba (binary) or predict (regression)."""
    from scipy.special import expit  # what scikit-learn's LogisticRegression calls

    coef, intercept = arrays["coef"], arrays["intercept"]
    weights = coef.T if coef.ndim == 2 else coef
    proba = spec["output"] == "proba"

    def predict(X: np.ndarray) -> np.ndarray:
        scores = np.ascontiguousarray(X, dtype=np.float64) @ weights + intercept
        if scores.ndim > 1 and scores.shape[1] == 1:
            scores = np.reshape(scores, (-1,))
        if not proba:
            return scores
        positive = expit(scores, out=scores)
        return np.stack([1 - positive, positive], axis=1)

    return predict
