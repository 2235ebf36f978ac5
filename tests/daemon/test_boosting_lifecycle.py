"""XGBoost, LightGBM and CatBoost versions through a real daemon: promoted through the release door,
served on the native API, MLflow's /invocations and the Open Inference Protocol, monitored, rolled back."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import polars as pl
import pytest

from daemon_support import FEATURES, Daemon, add_people, op, start_daemon
from support import SPEC

CATEGORICAL = ("carrier", "origin")


@pytest.fixture
def boosted_home(tmp_path: Path, flights_small: Path, cli: Callable[..., Any]) -> Path:
    """v1 XGBoost (trained, champion), v2 a LightGBM text model trained outside, v3 CatBoost (trained)."""
    import lightgbm
    import pandas as pd

    home = tmp_path / "home"
    assert cli("init", "--home", home).code == 0
    source = f'path = "{flights_small.as_posix()}"'
    for name, estimator, params in (("xgb", "xgboost", "{ n_estimators = 30 }"),
                                    ("cat", "catboost", "{ iterations = 30 }")):
        spec = tmp_path / f"{name}.toml"
        spec.write_text(SPEC.format(model="delay", seed=7, source=source, estimator=estimator, params=params))
        trained = cli("train", "--spec", spec, "--home", home)
        assert trained.code == 0, trained.err
        if name == "xgb":
            frame = pl.read_parquet(flights_small).select(FEATURES + ["delayed"]).to_dict(as_series=False)
            table = pd.DataFrame(frame)
            for column in CATEGORICAL:
                table[column] = table[column].astype("category")
            outside = lightgbm.LGBMClassifier(n_estimators=30, num_leaves=8, verbose=-1, n_jobs=1)
            outside.fit(table[FEATURES], table["delayed"].astype(int))
            outside.booster_.save_model(tmp_path / "team.txt")
            imported = cli("import", "delay", tmp_path / "team.txt", "--spec", spec, "--reason", "team's model",
                           "--home", home)
            assert imported.code == 0, imported.err
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    return home


@pytest.fixture
def people(boosted_home: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    return add_people(boosted_home, vigil)


# The CatBoost version is worse on the holdout and costlier per prediction than the LightGBM champion
# it follows; the gates say so, and this release policy lets it through so that it is served too.
LENIENT = {"VIGIL_PROMOTION_COMPARISON_TOLERANCE": "1", "VIGIL_PROMOTION_SEGMENT_REGRESSION_LIMIT": "1",
           "VIGIL_PROMOTION_MAX_COST_RATIO": "1000"}


@pytest.fixture
def served(boosted_home: Path, people: dict[str, str], tmp_path: Path) -> Iterator[Daemon]:
    started = start_daemon(boosted_home, tmp_path / "daemon.log", env=LENIENT)
    yield started
    started.stop()


def _answers(daemon: Daemon, records: list[dict[str, Any]]) -> tuple[int, list[float]]:
    """(version, probabilities) from each protocol, checked to agree with each other."""
    status, native = daemon.post("/v1/models/delay/predict", {"records": records})
    assert status == 200, native
    status, mlflow = daemon.post("/invocations", {"dataframe_records": records})
    assert status == 200, mlflow
    tensors = [{"name": f, "shape": [len(records)], "datatype": "BYTES" if f in CATEGORICAL else "FP64",
                "data": [r[f] for r in records]} for f in FEATURES]
    status, oip = daemon.post("/v2/models/delay/infer", {"inputs": tensors})
    assert status == 200, oip
    outputs = {o["name"]: o["data"] for o in oip["outputs"]}
    assert outputs["predict_proba"] == pytest.approx(native["probabilities"], abs=1e-12)
    assert mlflow["predictions"] == native["predictions"] and int(oip["model_version"]) == native["version"]
    return native["version"], native["probabilities"]


def _promote(daemon: Daemon, people: dict[str, str], version: int) -> dict[str, Any]:
    status, request = op(daemon, people["otto"], "promote", {"name": "delay", "version": version,
                                                            "alias": "champion", "reason": f"v{version}"})
    assert status == 200 and request["status"] == "pending", request
    status, approved = op(daemon, people["alice"], "approve", {"id": request["request_id"]})
    assert status == 200 and approved["status"] == "approved", approved
    return dict(request)


def test_each_library_serves_monitors_and_rolls_back(served: Daemon, people: dict[str, str],
                                                    sample_records: list[dict[str, Any]]) -> None:
    records = sample_records[:25]
    version, first = _answers(served, records)
    assert version == 1 and all(0 < p < 1 for p in first)
    status, request = op(served, people["otto"], "promote", {"name": "delay", "version": 2, "alias": "champion",
                                                            "reason": "the team's LightGBM"})
    assert request["status"] == "pending"  # a file import: its age is unknown, so an approver decides
    assert any("import" in why for why in request["approval_because"])
    assert op(served, people["alice"], "approve", {"id": request["request_id"]})[0] == 200
    version, second = _answers(served, records)
    assert version == 2 and not np.allclose(first, second)
    gates = {g["gate"]: g for g in _promote(served, people, 3)["gates"]}
    assert gates["comparison"]["detail"].startswith("roc_auc: v3 minus v2") and gates["cost"]["value"] > 1
    assert "CatBoost thread_count" in gates["latency"]["detail"]
    version, third = _answers(served, records)
    assert version == 3 and not np.allclose(second, third)
    for number in (1, 2, 3):  # each library's answer is explained and recomputed exactly from its artifact
        request_id = next(r for r in op(served, people["ada"], "sql", {
            "query": f"SELECT request_id FROM prediction_log WHERE version = {number} LIMIT 1"})[1]["rows"])[0]
        status, explained = op(served, people["otto"], "explain_request", {"request_id": request_id})
        assert status == 200 and explained["matches"] is True, explained
        assert {"distance", "carrier"} <= set(explained["rows"][0]["explanation"]["contributions"])
    for _ in range(8):
        assert served.post("/v1/models/delay/predict", {"records": sample_records})[0] == 200
    status, monitored = op(served, people["otto"], "monitor_run", {})
    assert status == 200, monitored
    status, rolled = op(served, people["otto"], "rollback", {"name": "delay", "reason": "compare"})
    assert status == 200 and rolled["to_version"] == 2, rolled
    assert {c["check"]: c["ok"] for c in rolled["preflight"]} == {"loads": True, "contract": True, "golden_rows": True}
    version, again = _answers(served, records)
    assert version == 2 and again == pytest.approx(second, abs=1e-12)
    logged = op(served, people["ada"], "sql", {"query": "SELECT DISTINCT version FROM prediction_log ORDER BY 1"})
    assert [r[0] for r in logged[1]["rows"]] == [1, 2, 3]
