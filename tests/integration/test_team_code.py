"""A model that needs a team's own code: imported and scored only after an admin trusts exactly that
code, and then only ever loaded in a worker process, never in Vigil's."""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import skops.io as sio

from support import SPEC, query

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]

TEAM_CODE = '''
"""The team's feature code."""
import os

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

with open({marker!r}, "a") as handle:  # who loaded this module
    handle.write(f"{{os.getpid()}}\\n")


class LogScale(BaseEstimator, TransformerMixin):
    """log1p of non-negative numbers, missing as zero."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        values = np.nan_to_num(np.asarray(X, dtype=float), nan=0.0)
        return np.log1p(np.clip(values, 0, None))
'''


@pytest.fixture
def team(tmp_path: Path, flights_small: Path) -> dict[str, Any]:
    """The team's folder: its code, a model fitted with it (saved with skops) and a spec shipping the code."""
    folder = tmp_path / "team"
    folder.mkdir()
    marker = tmp_path / "loaded-by.txt"
    (folder / "team_features.py").write_text(TEAM_CODE.format(marker=str(marker)))
    sys.path.insert(0, str(folder))
    try:
        module = importlib.import_module("team_features")
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import OneHotEncoder

        frame = pl.read_parquet(flights_small)
        inputs = frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC] + [pl.col(c) for c in CATEGORICAL])
        model = Pipeline([("pre", ColumnTransformer([("n", module.LogScale(), NUMERIC),
                                                     ("c", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)])),
                          ("lr", LogisticRegression(max_iter=300))])
        model.fit(inputs, frame["delayed"].cast(pl.Int64).to_numpy())
        expected = model.predict_proba(inputs)[:, 1]
        sio.dump(model, folder / "model.skops")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("team_features", None)
    spec = folder / "spec.toml"
    spec.write_text(SPEC.format(model="delay", seed=7, source=f'path = "{flights_small.as_posix()}"',
                                estimator="logistic_regression", params="{}")
                    + '\n[code]\npaths = ["team_features.py"]\n')
    return {"folder": folder, "spec": spec, "model": folder / "model.skops", "marker": marker, "expected": expected}


def _loaders(team: dict[str, Any]) -> list[int]:
    return [int(line) for line in team["marker"].read_text().split()] if team["marker"].exists() else []


def test_untrusted_code_is_refused_naming_its_hash_and_the_command(home: Path, cli, team: dict[str, Any]) -> None:
    before = _loaders(team)
    result = cli("import", "delay", team["model"], "--spec", team["spec"], "--home", home)
    hashed = json.loads(cli("code", "hash", "--spec", team["spec"], "--json").out)
    assert result.code == 2 and hashed["sha256"] in result.err and "vigil code trust" in result.err
    assert hashed["modules"] == ["team_features"] and [f["path"] for f in hashed["files"]] == ["team_features.py"]
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
    assert _loaders(team) == before  # nobody ran the code


def test_trusted_code_imports_and_scores_in_a_worker_only(home: Path, cli, team: dict[str, Any],
                                                          flights_small: Path) -> None:
    trusted = cli("code", "trust", "--spec", team["spec"], "--reason", "reviewed by ada", "--home", home, "--json")
    assert trusted.code == 0, trusted.err
    sha = json.loads(trusted.out)["trusted"]
    before = _loaders(team)
    result = cli("import", "delay", team["model"], "--spec", team["spec"], "--home", home, "--json")
    assert result.code == 0, result.err
    assert 0.55 < json.loads(result.out)["metrics"]["roc_auc"] < 0.95
    loaders = _loaders(team)[len(before):]
    assert loaders and os.getpid() not in loaders  # loaded only by worker processes
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)
    assert shown["imported_from"]["code"]["sha256"] == sha and shown["imported_from"]["format"] == "skops+code"
    assert shown["estimator"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert query(home, "SELECT action, actor, reason FROM audit_log ORDER BY id")[0][0] == "code.trust"
    # the stored version answers as the team's model does, through its worker
    from appliance.context import open_context
    from appliance.contracts.features import features_from, model_input
    from appliance.home import Home
    from appliance.registry.loading import load_model

    with open_context(Home(home), read_only=True) as ctx:
        stored = load_model(ctx, "delay", 1)
        ours = stored.predict_proba(model_input(pl.read_parquet(flights_small), features_from(NUMERIC, CATEGORICAL)))
        stored.close()
    assert np.allclose(ours[:, 1], team["expected"], rtol=0, atol=1e-12)
    assert os.getpid() not in _loaders(team)[len(before):]


def test_changed_code_is_not_the_code_that_was_trusted(home: Path, cli, team: dict[str, Any]) -> None:
    assert cli("code", "trust", "--spec", team["spec"], "--reason", "reviewed", "--home", home).code == 0
    code = team["folder"] / "team_features.py"
    code.write_text(code.read_text() + "\nimport shutil  # added after the review\n")
    result = cli("import", "delay", team["model"], "--spec", team["spec"], "--home", home)
    assert result.code == 2 and "no admin trusts" in result.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]


def test_revoked_code_no_longer_loads(home: Path, cli, team: dict[str, Any], write_spec) -> None:
    sha = json.loads(cli("code", "trust", "--spec", team["spec"], "--reason", "reviewed", "--home", home,
                         "--json").out)["trusted"]
    assert cli("import", "delay", team["model"], "--spec", team["spec"], "--home", home).code == 0
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "shadow", "--reason", "watch it", "--home", home).code == 0
    refused = cli("code", "revoke", sha, "--reason", "author left", "--home", home)
    assert refused.code == 2 and "delay v1 (shadow)" in refused.err and "vigil rollback" in refused.err
    assert cli("promote", "delay", "2", "--to", "shadow", "--reason", "replace", "--home", home).code == 0
    assert cli("code", "revoke", sha, "--reason", "author left", "--home", home).code == 0
    listed = json.loads(cli("code", "list", "--home", home, "--json").out)["code"]
    assert listed[0]["revoked_by"] and listed[0]["sha256"] == sha
    result = cli("promote", "delay", "1", "--to", "champion", "--reason", "try", "--home", home)
    assert result.code != 0 and "no admin trusts" in (result.err + result.out)


@pytest.mark.parametrize("paths", ['["../elsewhere.py"]', '["/etc/passwd"]', '["numpy.py"]', '["missing.py"]'])
def test_code_paths_must_be_the_team_s_files_beside_the_spec(home: Path, cli, team: dict[str, Any],
                                                             paths: str) -> None:
    (team["folder"] / "numpy.py").write_text("x = 1\n")
    (team["folder"].parent / "elsewhere.py").write_text("x = 1\n")
    spec = team["spec"]
    spec.write_text(spec.read_text().replace('paths = ["team_features.py"]', f"paths = {paths}"))
    result = cli("code", "trust", "--spec", spec, "--reason", "r", "--home", home)
    assert result.code == 2 and "code.paths" in result.err and "Traceback" not in result.err
    assert query(home, "SELECT count(*) FROM trusted_code") == [(0,)]
