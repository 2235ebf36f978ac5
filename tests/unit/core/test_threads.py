"""One thread per predict call, set in one place for the daemon and for the latency gate that measures it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import numpy as np
import polars as pl
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_info

from appliance.contracts.contract import infer_contract
from appliance.contracts.features import Feature
from appliance.release.gates import WARM_UP_CALLS, predict_latency_ms
from appliance.serving.cost_meter import METER
from appliance.core.inputs import Inputs
from appliance.serving.loaded import LoadedVersion
from appliance.core.threads import PREDICT_THREADS, observed_threads, pin_library_threads, predict_threads

FEATURES = [Feature("x", "numeric"), Feature("y", "numeric")]
MORE_THAN_ONE_CORE = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to limit")


def _data(rows: int = 400) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    frame = pl.DataFrame({"x": rng.normal(size=rows), "y": rng.normal(size=rows)})
    return frame, (frame["x"] + frame["y"] > 0).to_numpy().astype(int)


def _most_threads() -> int:
    return max(int(found["num_threads"]) for found in threadpool_info())


@MORE_THAN_ONE_CORE
def test_predict_threads_limits_openmp_and_blas_in_the_calling_thread_and_restores_them() -> None:
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    before = _most_threads()
    with predict_threads():
        assert _most_threads() == PREDICT_THREADS == observed_threads()
        assert _openmp_effective_n_threads() == PREDICT_THREADS  # what HistGradientBoosting's predict asks
    assert _most_threads() == before > PREDICT_THREADS


@MORE_THAN_ONE_CORE
def test_the_gate_measures_the_daemons_predict_under_its_thread_limit() -> None:
    """A scikit-learn boosting pipeline, scored through LoadedVersion.predict (the daemon's call): every
    call the gate makes, warm-up included, runs with one OpenMP and BLAS thread, and its CPU time is not
    added to the version's serving cost."""
    seen: list[int] = []

    def record(x: Any) -> Any:  # a pipeline step: what OpenMP and BLAS would use inside the measured call
        seen.append(_most_threads())
        return x

    frame, labels = _data()
    model = Pipeline([("record", FunctionTransformer(record)), ("scale", StandardScaler()),
                      ("trees", HistGradientBoostingClassifier(max_iter=20, random_state=0))]).fit(frame, labels)
    loaded = LoadedVersion("gate_threads", 1, "binary", model, FEATURES, infer_contract(frame, FEATURES), "1", 0.5, 1)
    rows = [Inputs.from_polars(frame[i: i + 1], FEATURES) for i in range(5)]
    seen.clear()
    p95, threads = predict_latency_ms(loaded, rows, calls=12)
    assert seen == [PREDICT_THREADS] * (WARM_UP_CALLS + 12) and threads == PREDICT_THREADS
    assert p95 > 0
    assert ("gate_threads", 1) not in METER.totals()
    assert _most_threads() > PREDICT_THREADS  # the limit ends with the measurement


def test_limit_process_starts_every_thread_limited() -> None:
    """What `vigil up` does first: OpenMP and BLAS loaded afterwards use one thread, in new threads too."""
    code = ("from appliance.core.threads import limit_process\n"
            "limit_process()\n"
            "import threading, sklearn.ensemble\n"
            "from threadpoolctl import threadpool_info\n"
            "found = []\n"
            "t = threading.Thread(target=lambda: found.extend(i['num_threads'] for i in threadpool_info()))\n"
            "t.start(); t.join()\n"
            "print(sorted(set(found)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"[{PREDICT_THREADS}]"


def test_pinning_imports_no_boosting_library() -> None:
    code = ("import sys\n"
            "from sklearn.linear_model import LogisticRegression\n"
            "from sklearn.pipeline import Pipeline\n"
            "from appliance.core.threads import pin_library_threads\n"
            "pin_library_threads(Pipeline([('lr', LogisticRegression())]))\n"
            "print(sorted(n for n in ('xgboost', 'lightgbm', 'catboost') if n in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_pinning_reaches_xgboost_lightgbm_and_catboost_inside_pipelines() -> None:
    xgboost = pytest.importorskip("xgboost")
    lightgbm = pytest.importorskip("lightgbm")
    catboost = pytest.importorskip("catboost")
    frame, labels = _data()
    x = frame.to_numpy()
    xgb = Pipeline([("scale", StandardScaler()), ("m", xgboost.XGBClassifier(n_estimators=5, n_jobs=2))]).fit(x, labels)
    lgb = Pipeline([("scale", StandardScaler()),
                    ("m", lightgbm.LGBMClassifier(n_estimators=5, n_jobs=2, verbose=-1))]).fit(x, labels)
    cat = catboost.CatBoostClassifier(iterations=5, thread_count=2, verbose=False, allow_writing_files=False)
    cat = Pipeline([("scale", StandardScaler()), ("m", cat)]).fit(x, labels)
    booster = xgboost.train({"nthread": 2}, xgboost.DMatrix(x, labels), num_boost_round=3)
    lgb_booster = lightgbm.train({"num_threads": 2, "verbose": -1}, lightgbm.Dataset(x, labels), num_boost_round=3)
    expected = [m.predict_proba(x) for m in (xgb, lgb, cat)]
    expected_lgb_booster = lgb_booster.predict(x)

    for model in (xgb, lgb, cat, booster, lgb_booster):
        assert pin_library_threads(model) is model
    assert _nthread(xgb["m"].get_booster()) == _nthread(booster) == PREDICT_THREADS
    assert lgb["m"].get_params()["n_jobs"] == PREDICT_THREADS
    assert lgb_booster.predict.keywords == {"num_threads": PREDICT_THREADS}
    assert cat["m"].predict_proba.keywords == cat["m"].predict.keywords == {"thread_count": PREDICT_THREADS}
    pin_library_threads(cat)  # pinning twice keeps one default, the library's own method underneath
    assert cat["m"].predict_proba.func.__func__ is catboost.CatBoostClassifier.predict_proba
    for model, answers in zip((xgb, lgb, cat), expected):
        assert np.array_equal(model.predict_proba(x), answers)  # threads never change an answer
    assert np.array_equal(lgb_booster.predict(x), expected_lgb_booster)


def _nthread(booster: Any) -> int:
    return int(json.loads(booster.save_config())["learner"]["generic_param"]["nthread"])

