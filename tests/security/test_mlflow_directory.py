"""An MLflow model directory from an attacker: its MLmodel names files outside the directory (by `..`,
by an absolute path, through symlinks), is huge or a YAML bomb, carries a Python tag or a pickle, or
names a FIFO. Each is refused with one line, nothing is registered, and no code from it runs."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from daemon_support import Daemon, token_of
from support import SPEC, query


def _xgboost_directory(where: Path) -> Path:
    """A real MLflow xgboost directory (no signature) for a model on the spec's seven features."""
    import mlflow.xgboost
    import xgboost

    rng = np.random.default_rng(0)
    values = np.column_stack([rng.normal(size=(200, 5)), rng.integers(0, 3, size=(200, 2))])
    matrix = xgboost.DMatrix(values, label=rng.integers(0, 2, 200),
                             feature_types=["float"] * 5 + ["c", "c"], enable_categorical=True)
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 2, "nthread": 1}, matrix, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.xgboost.save_model(booster, where)
    return where


def _rewrite(directory: Path, old: str, new: str) -> None:
    mlmodel = directory / "MLmodel"
    text = mlmodel.read_text()
    assert old in text
    mlmodel.write_text(text.replace(old, new))


def _refused(cli: Any, home: Path, directory: Path, spec: Path, *expected: str, trust: bool = False) -> str:
    result = cli("import", "delay", directory, "--spec", spec, "--home", home, *(["--trust"] if trust else []))
    assert result.code == 2, result.out
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    assert all(text in result.err for text in expected), result.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
    return result.err


@pytest.mark.parametrize("named", ["../outside.ubj", "/etc/passwd", "sub/../../outside.ubj"])
def test_a_path_that_leaves_the_directory_is_refused(named: str, home: Path, cli, write_spec,
                                                     tmp_path: Path) -> None:
    directory = _xgboost_directory(tmp_path / "model")
    shutil.copy(directory / "model.ubj", tmp_path / "outside.ubj")
    _rewrite(directory, "data: model.ubj", f"data: {named}")
    _refused(cli, home, directory, write_spec(), "must be a path inside the model directory")


def test_a_symlink_out_of_the_directory_is_refused_though_its_target_is_a_model(home: Path, cli, write_spec,
                                                                                tmp_path: Path) -> None:
    directory = _xgboost_directory(tmp_path / "model")
    (directory / "model.ubj").rename(tmp_path / "outside.ubj")
    (directory / "model.ubj").symlink_to(tmp_path / "outside.ubj")
    _refused(cli, home, directory, write_spec(), "model/model.ubj leads outside the model directory")
    (directory / "model.ubj").unlink()
    shutil.copy(tmp_path / "outside.ubj", directory / "model.ubj")  # the same file inside: accepted
    spec = write_spec(source=None)
    spec.write_text(spec.read_text() + '\n[encoding]\ncategories = { carrier = ["AA", "B6", "DL", "EV", "MQ", '
                                       '"UA", "US", "WN", "9E", "VX", "FL", "AS", "F9", "YV", "HA", "OO"], '
                                       'origin = ["EWR", "JFK", "LGA"] }\n')
    accepted = cli("import", "delay", directory, "--spec", spec, "--home", home)
    assert accepted.code == 0, accepted.err


def test_links_into_the_home_are_refused(home: Path, cli, write_spec, tmp_path: Path) -> None:
    directory = _xgboost_directory(tmp_path / "model")
    (directory / "model.ubj").unlink()
    (directory / "model.ubj").symlink_to(home / "vigil.duckdb")
    _refused(cli, home, directory, write_spec(), "leads outside the model directory")
    (directory / "MLmodel").unlink()
    (directory / "MLmodel").symlink_to(home / "vigil.toml" if (home / "vigil.toml").exists() else home / "vigil.duckdb")
    _refused(cli, home, directory, write_spec(), "MLmodel leads outside the model directory")
    inside = home / "exports" / "model"
    shutil.copytree(_xgboost_directory(tmp_path / "again"), inside)
    _refused(cli, home, inside, write_spec(), "is inside the Vigil home")


def test_a_huge_mlmodel_or_a_yaml_bomb_is_refused(home: Path, cli, write_spec, tmp_path: Path) -> None:
    directory = _xgboost_directory(tmp_path / "model")
    mlmodel = directory / "MLmodel"
    original = mlmodel.read_text()
    mlmodel.write_text(original + "# padding\n" * 200_000)
    _refused(cli, home, directory, write_spec(), "larger than 1048576 bytes")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20))
    mlmodel.write_text(bomb + original)
    started = time.monotonic()
    _refused(cli, home, directory, write_spec(), "YAML alias")
    assert time.monotonic() - started < 30


def test_a_python_tag_in_mlmodel_runs_nothing(home: Path, cli, write_spec, tmp_path: Path) -> None:
    directory = _xgboost_directory(tmp_path / "model")
    marker = tmp_path / "ran"
    _rewrite(directory, "mlflow_version:", f"hook: !!python/object/apply:os.system ['touch {marker}']\nmlflow_version:")
    _refused(cli, home, directory, write_spec(), "is not a valid MLmodel file")
    assert not marker.exists()


def test_a_fifo_as_the_model_file_is_refused_without_waiting(home: Path, cli, write_spec, tmp_path: Path) -> None:
    directory = _xgboost_directory(tmp_path / "model")
    (directory / "model.ubj").unlink()
    os.mkfifo(directory / "model.ubj")
    started = time.monotonic()
    _refused(cli, home, directory, write_spec(), "is not a regular file")
    assert time.monotonic() - started < 30


class _Payload:
    def __init__(self, expression: str) -> None:
        self.expression = expression

    def __reduce__(self) -> tuple[Any, ...]:
        return eval, (self.expression,)


def test_a_pickled_flavour_is_not_loaded_without_trust(home: Path, cli, write_spec, tmp_path: Path) -> None:
    directory = tmp_path / "model"
    directory.mkdir()
    marker = tmp_path / "ran"
    (directory / "model.pkl").write_bytes(pickle.dumps(_Payload(f"open({str(marker)!r}, 'w')")))
    (directory / "MLmodel").write_text("flavors:\n  sklearn:\n    pickled_model: model.pkl\n"
                                       "    serialization_format: cloudpickle\nrun_id: abc\n")
    _refused(cli, home, directory, write_spec(), "sklearn flavour", "model.pkl", "--trust")
    assert not marker.exists()
    assert query(home, "SELECT count(*) FROM audit_log") == [(0,)]


def test_through_the_daemon_a_link_into_its_home_is_refused(daemon: Daemon, tmp_path: Path, vigil,
                                                            flights_small: Path) -> None:
    import getpass

    assert vigil("users", "add", getpass.getuser(), "--role", "admin", "--home", daemon.home).code == 0
    token = token_of(vigil("users", "add", "otto", "--role", "operator", "--home", daemon.home).out)
    directory = _xgboost_directory(tmp_path / "model")
    (directory / "model.ubj").unlink()
    (directory / "model.ubj").symlink_to(daemon.home / "vigil.duckdb")
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.format(model="delay", seed=7, source=f'path = "{flights_small.as_posix()}"',
                                estimator="hist_gradient_boosting", params="{ max_iter = 30 }"))
    status, _, payload = daemon.request("POST", "/admin/v1/ops/import",
                                        {"name": "delay", "file": str(directory), "spec": str(spec)},
                                        headers={"Authorization": f"Bearer {token}"})
    assert 400 <= status < 500, payload
    assert "leads outside the model directory" in json.loads(payload)["error"]["message"]
    status, _, payload = daemon.request("POST", "/admin/v1/ops/versions", {"name": "delay"},
                                        headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and len(json.loads(payload)["result"]) == 2  # the served home's two, nothing more
