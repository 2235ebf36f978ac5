"""`vigil import`: models trained elsewhere get the same lineage and evaluation; unsafe files need --trust."""

from __future__ import annotations

import hashlib
import json
import math
import pickle
from pathlib import Path

import joblib
import numpy as np
import polars as pl
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from support import files_under, query

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]


class Doubler:
    """A class scikit-learn does not know: skops cannot vouch for it."""

    def __init__(self) -> None:
        self.factor = 2


def _outside_model(flights_small: Path) -> Pipeline:
    frame = pl.read_parquet(flights_small).drop_nulls(NUMERIC)
    inputs = frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC] + [pl.col(c) for c in CATEGORICAL])
    model = Pipeline([
        ("pre", ColumnTransformer([("n", StandardScaler(), NUMERIC),
                                   ("c", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)])),
        ("lr", LogisticRegression(max_iter=500)),
    ])
    labels = np.where(frame["delayed"].to_numpy(), "true", "false")
    return model.fit(inputs, labels)


@pytest.fixture
def spec_no_missing(write_spec, flights_small: Path, tmp_path: Path) -> Path:
    path = tmp_path / "complete.parquet"
    pl.read_parquet(flights_small).drop_nulls(NUMERIC).write_parquet(path)
    return write_spec(source=f'path = "{path.as_posix()}"')


def test_import_skops_gets_lineage_and_evaluation(home: Path, cli, flights_small: Path, spec_no_missing: Path,
                                                  tmp_path: Path) -> None:
    file = tmp_path / "outside.skops"
    sio.dump(_outside_model(flights_small), file)
    result = cli("import", "delay", file, "--spec", spec_no_missing, "--reason", "vendor model", "--home", home,
                 "--json")
    assert result.code == 0, result.err
    imported = json.loads(result.out)
    assert imported["version"] == 1 and 0.55 < imported["metrics"]["roc_auc"] < 0.95
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)
    assert shown["origin"] == "imported"
    assert shown["imported_from"]["format"] == "skops" and shown["imported_from"]["trusted"] is False
    assert shown["estimator"].endswith("LogisticRegression")
    assert shown["snapshot"]["rows"] > 0 and shown["segment_metrics"]
    assert "Imported: trained outside Vigil" in shown["model_card"]
    assert query(home, "SELECT action FROM audit_log") == [("version.imported",)]


@pytest.mark.parametrize("suffix", [".joblib", ".pkl"])
def test_pickled_files_need_trust(suffix: str, home: Path, cli, flights_small: Path, spec_no_missing: Path,
                                  tmp_path: Path) -> None:
    file = tmp_path / f"outside{suffix}"
    model = _outside_model(flights_small)
    if suffix == ".joblib":
        joblib.dump(model, file)
    else:
        file.write_bytes(pickle.dumps(model))
    refused = cli("import", "delay", file, "--spec", spec_no_missing, "--home", home)
    assert refused.code == 2 and "--trust" in refused.err and "runs code when loaded" in refused.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
    accepted = cli("import", "delay", file, "--spec", spec_no_missing, "--trust", "--home", home)
    assert accepted.code == 0, accepted.err
    row = query(home, "SELECT imported_from->>'format', imported_from->>'trusted', a.format FROM model_versions "
                      "JOIN artifacts a ON a.sha256 = artifact_sha256")
    assert row == [(suffix[1:], "true", "skops")]
    audit = query(home, "SELECT action, details->>'sha256' FROM audit_log ORDER BY id")
    assert audit == [("import.trusted_load", hashlib.sha256(file.read_bytes()).hexdigest()),
                     ("version.imported", None)]  # the load is on record before the file was opened
    assert all(p.suffix in (".skops", ".parquet") for p in files_under(home / "artifacts") + files_under(home / "datasets"))


def test_skops_file_with_unknown_types_is_refused(home: Path, cli, spec_no_missing: Path, tmp_path: Path) -> None:
    file = tmp_path / "odd.skops"
    sio.dump({"helper": Doubler()}, file)
    result = cli("import", "delay", file, "--spec", spec_no_missing, "--home", home)
    assert result.code == 2 and "Doubler" in result.err and "does not trust" in result.err


def test_import_refuses_mismatched_model_and_spec(home: Path, cli, flights_small: Path, spec_no_missing: Path,
                                                  tmp_path: Path) -> None:
    file = tmp_path / "outside.skops"
    sio.dump(_outside_model(flights_small), file)
    wrong_name = cli("import", "other", file, "--spec", spec_no_missing, "--home", home)
    assert wrong_name.code == 2 and "names model 'delay'" in wrong_name.err
    unknown = tmp_path / "model.onnx"
    unknown.write_bytes(b"x")
    result = cli("import", "delay", unknown, "--spec", spec_no_missing, "--home", home)
    assert result.code == 2 and "unknown model format" in result.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]


def test_trusted_import_needs_an_admin(home: Path, cli, flights_small: Path, spec_no_missing: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    file = tmp_path / "outside.pkl"
    file.write_bytes(pickle.dumps(_outside_model(flights_small)))
    assert cli("users", "add", getpass.getuser(), "--role", "admin", "--home", home).code == 0
    added = cli("users", "add", "otto", "--role", "operator", "--home", home)
    monkeypatch.setenv("VIGIL_TOKEN", next(line for line in added.out.splitlines() if line.startswith("vgu_")))
    refused = cli("import", "delay", file, "--spec", spec_no_missing, "--trust", "--home", home)
    assert refused.code == 2 and "may not run 'import_trusted'; it needs the admin role" in refused.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
    assert query(home, "SELECT action, actor FROM audit_log WHERE action LIKE 'import%' OR action = 'access.denied'") \
        == [("access.denied", "otto")]


def test_trusted_import_of_a_model_that_cannot_be_stored_safely_fails(home: Path, cli, spec_no_missing: Path,
                                                                       tmp_path: Path) -> None:
    file = tmp_path / "custom.pkl"
    file.write_bytes(pickle.dumps(Pipeline([("root", FunctionTransformer(math.sqrt)), ("lr", LogisticRegression())])))
    result = cli("import", "delay", file, "--spec", spec_no_missing, "--trust", "--home", home)
    assert result.code == 2 and "Traceback" not in result.err
    assert "custom.pkl: it uses types outside Vigil's allow-list (math.sqrt)" in result.err
    assert "a trusted import accepts a scikit-learn estimator or pipeline" in result.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
