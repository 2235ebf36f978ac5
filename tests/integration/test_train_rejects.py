"""Training fails fast on bad specs and bad data, with one line, exit 2, and nothing registered."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from support import files_under, query


def _bad_data(tmp_path: Path, flights_small: Path, change) -> str:
    path = tmp_path / "bad.parquet"
    change(pl.read_parquet(flights_small)).write_parquet(path)
    return f'path = "{path.as_posix()}"'


def _assert_nothing_registered(home: Path) -> None:
    assert query(home, "SELECT count(*) FROM models") == [(0,)]
    assert query(home, "SELECT count(*) FROM model_versions") == [(0,)]
    assert query(home, "SELECT count(*) FROM dataset_snapshots") == [(0,)]
    assert query(home, "SELECT count(*) FROM audit_log") == [(0,)]
    assert files_under(home / "artifacts") == [] and files_under(home / "datasets") == []


CASES = {
    "missing column": (lambda f: f.drop("distance"), "column 'distance': missing_column"),
    "mistyped column": (lambda f: f.with_columns(pl.col("temp").cast(pl.String)), "column 'temp': wrong_type"),
    "missing label": (lambda f: f.drop("delayed"), "column 'delayed': missing_column"),
    "unlabelled rows": (lambda f: f.with_columns(pl.when(pl.col("day") == 3).then(None)
                                                 .otherwise(pl.col("delayed")).alias("delayed")),
                        "missing_label"),
    "one class": (lambda f: f.with_columns(pl.lit(False).alias("delayed")), "label_classes"),
    "empty": (lambda f: f.head(0), "empty_dataset"),
    "too many missing": (lambda f: f.with_columns(pl.when(pl.col("day") < 25).then(None)
                                                  .otherwise(pl.col("visib")).alias("visib")),
                         "column 'visib': missing_rate"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_dataset_is_refused_and_nothing_is_left(case: str, home: Path, vigil, write_spec, tmp_path: Path,
                                                    flights_small: Path) -> None:
    change, expected = CASES[case]
    spec = write_spec(source=_bad_data(tmp_path, flights_small, change))
    result = vigil("train", "--spec", spec, "--home", home)
    assert result.code == 2
    assert expected in result.err
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert result.err.startswith("vigil: error: dataset from spec.toml breaks the spec")
    _assert_nothing_registered(home)


SPEC_ERRORS = {
    "unknown key": ("seed = 7", "seed = 7\nsede = 3", "'sede': unknown key"),
    "bad estimator": ('kind = "hist_gradient_boosting"', 'kind = "tensorflow"', "'estimator.kind'"),
    "bad param": ("{ max_iter = 30 }", "{ max_iters = 30 }", "['max_iters'] are not parameters"),
    "bad param value": ("{ max_iter = 30 }", "{ max_iter = -1 }", "estimator.params"),
    "two sources": ('[source]\n', '[source]\nquery = "SELECT 1"\n', "exactly one of 'path' or 'query'"),
    "not toml": ("seed = 7", "seed = = 7", "is not valid TOML"),
}


@pytest.mark.parametrize("case", SPEC_ERRORS)
def test_bad_spec_is_refused(case: str, home: Path, cli, write_spec) -> None:
    old, new, expected = SPEC_ERRORS[case]
    spec = write_spec()
    spec.write_text(spec.read_text().replace(old, new, 1))
    result = cli("train", "--spec", spec, "--home", home)
    assert result.code == 2
    assert expected in result.err, result.err
    _assert_nothing_registered(home)


def test_missing_spec_file_and_missing_source(home: Path, cli, write_spec, tmp_path: Path) -> None:
    result = cli("train", "--spec", tmp_path / "nope.toml", "--home", home)
    assert result.code == 2 and "does not exist" in result.err
    spec = write_spec(source=f'path = "{(tmp_path / "gone.parquet").as_posix()}"')
    result = cli("train", "--spec", spec, "--home", home)
    assert result.code == 2 and "gone.parquet does not exist" in result.err
    spec = write_spec(source='query = "DELETE FROM x"')
    result = cli("train", "--spec", spec, "--home", home)
    assert result.code == 2 and "one SELECT statement" in result.err
    _assert_nothing_registered(home)


def test_usage_errors_are_one_line_with_exit_2(vigil) -> None:
    result = vigil("train")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "--spec" in result.err


def test_a_failure_during_registration_leaves_no_partial_version(home: Path, cli, write_spec, monkeypatch) -> None:
    """Registration writes files, then many rows; a failure on the last insert undoes all of it."""
    from appliance.errors import StoreError
    from appliance.store import registry_queries

    def fail(*args: object, **kwargs: object) -> None:
        raise StoreError("disk full (injected)")

    monkeypatch.setattr(registry_queries, "insert_audit", fail)
    result = cli("train", "--spec", write_spec(), "--home", home)
    assert result.code == 2 and "disk full (injected)" in result.err
    _assert_nothing_registered(home)
    assert query(home, "SELECT count(*) FROM version_metrics") == [(0,)]
    assert query(home, "SELECT count(*) FROM contracts") == [(0,)]
