"""Hostile model files, team code and requests against a real daemon: a file a boosting library parses
cleanly but whose trees point outside themselves, and what a client sends a multiclass or team-code
version."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import polars as pl
import pytest

from daemon_support import Daemon, op, start_daemon, token_of
from support import SPEC, query

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]


def _users(home: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    assert vigil("users", "add", getpass.getuser(), "--role", "admin", "--home", home).code == 0
    return {role: token_of(vigil("users", "add", name, "--role", role, "--home", home).out)
            for name, role in (("ada", "admin"), ("otto", "operator"), ("vera", "viewer"))}


def _frame(flights: Path) -> pd.DataFrame:
    frame = pd.DataFrame(pl.read_parquet(flights).select(NUMERIC + CATEGORICAL + ["delayed"]).to_dict(as_series=False))
    for column in CATEGORICAL:
        frame[column] = frame[column].astype("category")
    return frame


def _xgboost(flights: Path) -> Any:
    import xgboost

    frame = _frame(flights)
    return xgboost.XGBClassifier(n_estimators=5, max_depth=3, enable_categorical=True, tree_method="hist", n_jobs=1,
                                 random_state=0).fit(frame[NUMERIC + CATEGORICAL], frame["delayed"].astype(int))


def _lightgbm(flights: Path) -> Any:
    import lightgbm

    frame = _frame(flights)
    return lightgbm.LGBMClassifier(n_estimators=5, num_leaves=8, n_jobs=1, verbose=-1, random_state=0).fit(
        frame[NUMERIC + CATEGORICAL], frame["delayed"].astype(int))


def _xgboost_pointing_out(model: Any, folder: Path) -> Path:
    """XGBoost's JSON of `model` with every split of the first tree pointing to a node that does not
    exist: XGBoost loads it without complaint and reads outside its arrays when it predicts."""
    path = folder / "model.json"
    model.get_booster().save_model(path)
    document = json.loads(path.read_text())
    tree = document["learner"]["gradient_booster"]["model"]["trees"][0]
    tree["left_children"] = [10 ** 6 if c != -1 else -1 for c in tree["left_children"]]
    path.write_text(json.dumps(document))
    return path


def _lightgbm_pointing_out(model: Any, folder: Path) -> Path:
    """LightGBM's text model with the first tree's splits pointing to a node that does not exist."""
    lines = [line for line in model.booster_.model_to_string().splitlines() if not line.startswith("tree_sizes=")]
    first = next(i for i, line in enumerate(lines) if line.startswith("left_child="))
    lines[first] = "left_child=" + " ".join("1000000" for _ in lines[first].split("=", 1)[1].split())
    path = folder / "model.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _skops_pointing_out(model: Any, folder: Path) -> Path:
    """A scikit-learn pipeline around an XGBClassifier, saved with skops, whose booster is the one above."""
    import skops.io as sio
    import xgboost
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    bad = _xgboost_pointing_out(model, folder)
    encode = ColumnTransformer([("n", "passthrough", NUMERIC),
                                ("c", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                     encoded_missing_value=-1), CATEGORICAL)])
    rng = np.random.default_rng(0)
    inputs = pd.DataFrame({**{c: rng.normal(size=50) for c in NUMERIC}, **{c: ["AA", "B6"] * 25 for c in CATEGORICAL}})
    wrapped = Pipeline([("pre", encode), ("model", xgboost.XGBClassifier(n_estimators=2, n_jobs=1))]).fit(
        inputs, [0, 1] * 25)
    wrapped["model"]._Booster = xgboost.Booster(model_file=str(bad))
    path = folder / "model.skops"
    sio.dump(wrapped, path)
    return path


def _catboost(flights: Path) -> Any:
    import catboost

    frame = _frame(flights)
    return catboost.CatBoostClassifier(iterations=5, depth=4, thread_count=1, verbose=0, allow_writing_files=False
                                       ).fit(frame[NUMERIC], frame["delayed"].astype(int))


def _catboost_short_of_leaves(model: Any, folder: Path) -> Path:
    """A CatBoost JSON model whose first tree lists fewer leaf values than its depth needs (CatBoost's
    JSON reader takes the sizes it is given)."""
    exported = folder / "exported.json"
    model.save_model(str(exported), format="json")
    document = json.loads(exported.read_text())
    exported.unlink()
    document["oblivious_trees"][0]["leaf_values"] = document["oblivious_trees"][0]["leaf_values"][:3]
    path = folder / "model.json"
    path.write_text(json.dumps(document))
    return path


CRAFTED = {"xgboost-json": (_xgboost, _xgboost_pointing_out), "lightgbm-txt": (_lightgbm, _lightgbm_pointing_out),
           "xgboost-skops": (_xgboost, _skops_pointing_out), "catboost-json": (_catboost, _catboost_short_of_leaves)}


@pytest.mark.parametrize("kind", sorted(CRAFTED))
def test_a_tree_pointing_outside_itself_is_refused_and_the_daemon_lives(
        kind: str, fresh_home: Path, tmp_path: Path, flights_small: Path, vigil: Callable[..., Any]) -> None:
    train, craft = CRAFTED[kind]
    folder = tmp_path / "team"
    folder.mkdir()
    file = craft(train(flights_small), folder)
    spec = folder / "spec.toml"
    spec.write_text(SPEC.format(model="delay", seed=7, source=f'path = "{flights_small.as_posix()}"',
                                estimator="hist_gradient_boosting", params="{}"))
    if kind.startswith("catboost"):  # that model was trained on the numeric features only
        spec.write_text(spec.read_text().replace('categorical = ["carrier", "origin"]', "categorical = []"))
    tokens = _users(fresh_home, vigil)
    before = query(fresh_home, "SELECT count(*) FROM model_versions")
    daemon: Daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        status, error = op(daemon, tokens["operator"], "import", {"name": "delay", "file": str(file),
                                                                 "spec": str(spec), "reason": "crafted"})
        assert daemon.process.poll() is None, daemon.output[-2000:]
        assert status == 400, (status, error)
        assert file.name in error["message"] and ("node" in error["message"] or "leaf values" in error["message"]), error
        assert daemon.get("/healthz")[0] == 200
    finally:
        daemon.stop()
    assert query(fresh_home, "SELECT count(*) FROM model_versions") == before


def test_stored_structure_checks_accept_every_real_model(flights_small: Path) -> None:
    """The check refuses only broken trees: real models of each library, binary and multiclass, pass."""
    import lightgbm
    import xgboost

    from appliance.boosters.structure import check_booster

    frame = _frame(flights_small)
    inputs = frame[NUMERIC + CATEGORICAL]
    band = (frame["sched_dep_time"] // 800).astype(int).clip(0, 2)
    for labels in (frame["delayed"].astype(int), band):
        x = xgboost.XGBClassifier(n_estimators=5, max_depth=4, enable_categorical=True, n_jobs=1).fit(inputs, labels)
        check_booster("xgboost", x.get_booster(), "m")
        lg = lightgbm.LGBMClassifier(n_estimators=5, num_leaves=8, n_jobs=1, verbose=-1).fit(inputs, labels)
        check_booster("lightgbm", lg.booster_, "m")
    dart = xgboost.train({"booster": "dart", "max_depth": 2}, xgboost.DMatrix(np.eye(4), label=[0, 1, 0, 1]), 3)
    check_booster("xgboost", dart, "m")
    import catboost

    text = inputs.assign(**{c: inputs[c].astype(str) for c in CATEGORICAL})
    for labels in (frame["delayed"].astype(int), band):
        cat = catboost.CatBoostClassifier(iterations=5, depth=5, thread_count=1, verbose=0, allow_writing_files=False,
                                          cat_features=CATEGORICAL).fit(text, labels)
        check_booster("catboost", cat, "m")
    stump = lightgbm.train({"verbose": -1, "min_data_in_leaf": 50}, lightgbm.Dataset(np.eye(4), label=[0, 1, 0, 1]), 2)
    check_booster("lightgbm", stump, "m")


def test_hostile_multiclass_requests_are_client_errors(band_home_copy: Path, tmp_path: Path,
                                                       sample_records: list[dict[str, Any]]) -> None:
    """`/invocations` params of every JSON type, OIP v2 tensors of the wrong shape or type, and feedback
    labels of every JSON type (huge, unicode, numbers) against a multiclass model: each a 200 or a 4xx
    JSON answer, never a 5xx; nothing wrong is recorded; the daemon answers afterwards."""
    from daemon_support import FEATURES, admin

    daemon = start_daemon(band_home_copy, tmp_path / "daemon.log")
    records = sample_records[:3]
    try:
        statuses = []
        for params in (None, True, 1, 1.5, "x", [], {}, {"predict_fn": [1]}, {"predict_fn": {"a": 1}},
                       {"predict_fn": None}, {"predict_fn": 1}, {"predict_fn": "predict_proba", "x": [[1] * 100]},
                       {"predict_fn": "PREDICT"}, {"predict_fn": "predict_proba"}):
            status, body = daemon.post("/invocations", {"dataframe_records": records, "params": params})
            statuses.append((repr(params), status))
            assert status < 500, (params, body)
        assert dict(statuses)["{'predict_fn': [1]}"] == 400
        categorical = {"carrier", "origin"}

        def tensor(name: str, shape: Any, data: Any, datatype: str | None = None) -> dict[str, Any]:
            return {"name": name, "shape": shape, "data": data,
                    "datatype": datatype or ("BYTES" if name in categorical else "FP64")}

        good = {f: [r[f] for r in records[:2]] for f in FEATURES}
        cases = [(tensor("sched_dep_time", [3], good["sched_dep_time"]), True),  # two values, three declared
                 (tensor("distance", [2, 3], good["distance"]), True),
                 (tensor("temp", [-1], good["temp"]), True),
                 (tensor("wind_speed", [10 ** 12], good["wind_speed"]), True),
                 (tensor("carrier", [2], [1.5, 2.5], "FP64"), True),  # a categorical feature sent as numbers
                 (tensor("visib", [2], ["x", "y"]), True),
                 (tensor("visib", [1], [good["visib"][0]]), True),  # one row where the others have two
                 (tensor("origin", [2], [["a"], ["b"]]), False),  # nested row-major data: two values
                 (tensor("visib", [2, 1], [[1.0], [2.0]]), False)]
        for bad, refused in cases:
            inputs = [bad if f == bad["name"] else tensor(f, [2], good[f]) for f in FEATURES]
            status, body = daemon.post("/v2/models/band/infer", {"inputs": inputs})
            assert status < 500 and (status == 400) == refused, (bad, status, body)

        assert daemon.post("/v1/models/band/predict", {"records": records, "request_id": "hostile-1"})[0] == 200
        for label in (1.5, True, None, [], {}, "é", "x" * 100_000, 10 ** 30, "\u0000", -1, float("inf")):
            status, body = daemon.post("/v1/models/band/feedback", {"request_id": "hostile-1", "label": label})
            assert status < 500, (label, status, body)
            if status == 200:
                assert body["counts"] != {"recorded": 1}, (label, body)
        assert admin(daemon, "sql", {"query": "SELECT count(*) FROM feedback"})["rows"] == [[0]]
        assert daemon.get("/healthz")[0] == 200
    finally:
        daemon.stop()
