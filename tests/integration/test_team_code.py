"""A model that needs a team's own code: imported and scored only after an admin trusts exactly that
code, and then only ever loaded in a worker process, never in Vigil's."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from support import TEAM_CODE_PATHS, code_loaders, query, team_model

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]


@pytest.fixture
def team(tmp_path: Path, flights_small: Path) -> dict[str, Any]:
    return team_model(tmp_path, flights_small)


def _loaders(team: dict[str, Any]) -> list[int]:
    return [pid for pid, _ in code_loaders(team["marker"])]


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
    from appliance.home.context import open_context
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


def test_a_champion_shipping_team_code_is_compared_with_through_its_worker(home: Path, cli, team: dict[str, Any],
                                                                           write_spec) -> None:
    assert cli("code", "trust", "--spec", team["spec"], "--reason", "reviewed", "--home", home).code == 0
    assert cli("import", "delay", team["model"], "--spec", team["spec"], "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    before = _loaders(team)
    trained = cli("train", "--spec", write_spec(), "--home", home, "--json")
    assert trained.code == 0, trained.err
    assert json.loads(trained.out)["comparison"]["champion_version"] == 1
    loaders = _loaders(team)[len(before):]
    assert loaders and os.getpid() not in loaders  # the champion scored the holdout in a worker
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)
    assert shown["serving"]["engine"] == "code process"


@pytest.mark.parametrize("paths", ['["../elsewhere.py"]', '["/etc/passwd"]', '["numpy.py"]', '["missing.py"]'])
def test_code_paths_must_be_the_team_s_files_beside_the_spec(home: Path, cli, team: dict[str, Any],
                                                             paths: str) -> None:
    (team["folder"] / "numpy.py").write_text("x = 1\n")
    (team["folder"].parent / "elsewhere.py").write_text("x = 1\n")
    spec = team["spec"]
    spec.write_text(spec.read_text().replace(TEAM_CODE_PATHS, f"paths = {paths}"))
    result = cli("code", "trust", "--spec", spec, "--reason", "r", "--home", home)
    assert result.code == 2 and "code.paths" in result.err and "Traceback" not in result.err
    assert query(home, "SELECT count(*) FROM trusted_code") == [(0,)]


def test_a_version_shipping_team_code_is_not_bundled(home: Path, cli, team: dict[str, Any], tmp_path: Path) -> None:
    assert cli("code", "trust", "--spec", team["spec"], "--reason", "reviewed", "--home", home).code == 0
    assert cli("import", "delay", team["model"], "--spec", team["spec"], "--home", home).code == 0
    result = cli("bundle", "export", "delay", "1", tmp_path / "out.vigil", "--home", home)
    assert result.code == 2 and "ships a team's code" in result.err and not (tmp_path / "out.vigil").exists()


DROPS_A_ROW = '''
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class Sloppy(BaseEstimator, ClassifierMixin):
    """Answers one row fewer than it was given, or {n} numbers a row, as a buggy model might."""

    classes_ = np.array([0, 1])

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        n = len(X)
        return np.full((max(n - 1, 0), 2), 0.5) if {drop} else np.full((n, 2), float("nan"))
'''


@pytest.mark.parametrize("drop", [True, False])
def test_an_answer_that_is_not_one_row_per_input_is_refused(drop: bool, home: Path, cli, team: dict[str, Any],
                                                          tmp_path: Path) -> None:
    import importlib
    import sys

    import skops.io as sio

    folder = team["folder"]
    (folder / "team_features.py").write_text(DROPS_A_ROW.format(drop=drop, n="NaN"))
    sys.path.insert(0, str(folder))
    try:
        sys.modules.pop("team_features", None)
        model = importlib.import_module("team_features").Sloppy()
        sio.dump(model, folder / "model.skops")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("team_features", None)
    assert cli("code", "trust", "--spec", team["spec"], "--reason", "reviewed", "--home", home).code == 0
    result = cli("import", "delay", folder / "model.skops", "--spec", team["spec"], "--home", home)
    assert result.code == 2 and "Traceback" not in result.err
    assert ("one row of probabilities per input row" if drop else "not finite numbers") in result.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
