"""`vigil train`: snapshot, lineage, evaluation, comparison and registration on real data."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import polars as pl

from support import files_under, query


def _train(cli, home: Path, spec: Path, reason: str = "test") -> dict:
    result = cli("train", "--spec", spec, "--reason", reason, "--home", home, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_train_registers_version_with_full_lineage(home: Path, cli, write_spec, flights_small: Path) -> None:
    spec = write_spec()
    trained = _train(cli, home, spec, "first model")
    assert trained["model"] == "delay" and trained["version"] == 1
    shown = json.loads(cli("show", "delay", "1", "--json", "--home", home).out)

    snapshot_file = home / shown["snapshot"]["path"]
    assert hashlib.sha256(snapshot_file.read_bytes()).hexdigest() == shown["snapshot"]["sha256"]
    source = pl.read_parquet(flights_small)
    assert shown["snapshot"]["rows"] == source.height
    assert shown["snapshot"]["time_min"].startswith(str(source["time_hour"].min())[:10])
    assert shown["train_rows"] + shown["holdout_rows"] == source.height
    assert [f["name"] for f in shown["features"]] == [
        "sched_dep_time", "distance", "temp", "wind_speed", "visib", "carrier", "origin"]
    assert shown["spec_sha256"] == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert shown["spec_toml"] == spec.read_text()
    assert shown["environment"]["python"] == f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    assert shown["environment"]["packages"]["scikit-learn"]
    assert shown["estimator"].endswith("HistGradientBoostingClassifier")
    assert shown["hyperparameters"]["max_iter"] == 30 and shown["hyperparameters"]["random_state"] == 7
    assert shown["seed"] == 7 and shown["reason"] == "first model" and shown["created_by"]
    assert shown["parent_version"] is None and shown["positive_class"] == "true"
    artifact = home / shown["artifact_path"]
    assert artifact.suffix == ".skops"
    assert hashlib.sha256(artifact.read_bytes()).hexdigest() == shown["artifact_sha256"]


def test_metrics_overall_and_per_segment(home: Path, cli, write_spec) -> None:
    _train(cli, home, write_spec())
    overall = dict(query(home, "SELECT metric, value FROM version_overall_metrics WHERE version = 1"))
    assert set(overall) >= {"roc_auc", "log_loss", "brier", "precision", "recall", "ece", "accuracy"}
    assert 0.55 < overall["roc_auc"] < 0.95
    assert 0 <= overall["ece"] < 0.2
    origins = query(home, "SELECT segment_value, value, row_count FROM version_metrics "
                          "WHERE segment_column = 'origin' AND metric = 'roc_auc' ORDER BY 1")
    assert [o[0] for o in origins] == ["EWR", "JFK", "LGA"]
    holdout = query(home, "SELECT holdout_rows FROM model_versions")[0][0]
    assert sum(o[2] for o in origins) == holdout


def test_model_card_has_every_section(home: Path, cli, write_spec) -> None:
    _train(cli, home, write_spec())
    card = cli("show", "delay", "1", "--card", "--home", home).out
    for heading in ("## Intended use", "## Data", "## Metrics on the holdout", "### Per segment",
                    "## Limitations", "## Compared with the champion"):
        assert heading in card
    assert "origin=JFK" in card


def test_same_spec_and_data_give_same_metrics_and_predictions(home: Path, cli, write_spec) -> None:
    spec = write_spec()
    first, second = _train(cli, home, spec), _train(cli, home, spec)
    assert first["metrics"] == second["metrics"]
    assert first["snapshot_id"] == second["snapshot_id"]
    assert len(files_under(home / "datasets")) == 1  # the snapshot is stored once
    from appliance.home.context import open_context
    from appliance.contracts.features import features_from_json, model_input
    from appliance.home import Home
    from appliance.registry.loading import load_model
    from appliance.registry.versions import get_version

    data = pl.read_parquet(home / get_version_path(home))
    with open_context(Home(home), read_only=True) as ctx:
        row = get_version(ctx.store, "delay", 1)
        inputs = model_input(data, features_from_json(row["features"]))
        one, two = (load_model(ctx, "delay", n).predict_proba(inputs) for n in (1, 2))
    assert (one == two).all()


def get_version_path(home: Path) -> str:
    return query(home, "SELECT path FROM dataset_snapshots")[0][0]


def test_comparison_with_the_champion_on_the_same_holdout(home: Path, cli, write_spec) -> None:
    _train(cli, home, write_spec())
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "ok", "--home", home).code == 0
    weak = _train(cli, home, write_spec("weak.toml", params="{ max_iter = 1, learning_rate = 0.01 }"))
    comparison = weak["comparison"]
    assert comparison["champion_version"] == 1 and comparison["metric"] == "roc_auc"
    assert comparison["ci_low"] <= comparison["difference"] <= comparison["ci_high"]
    assert comparison["ci_high"] < 0 and comparison["verdict"] == "worse"
    row = query(home, "SELECT status, resamples, parent_version FROM version_comparisons "
                      "JOIN model_versions USING (model_name, version) WHERE version = 2")[0]
    assert row == ("compared", 500, 1)


def test_bootstrap_resamples_follow_config_env(home: Path, vigil, write_spec) -> None:
    result = vigil("train", "--spec", write_spec(), "--home", home, env={"VIGIL_TRAINING_BOOTSTRAP_SAMPLES": "60"})
    assert result.code == 0, result.err
    assert vigil("promote", "delay", "1", "--to", "champion", "--reason", "r", "--home", home).code == 0
    result = vigil("train", "--spec", write_spec(), "--home", home, env={"VIGIL_TRAINING_BOOTSTRAP_SAMPLES": "60"})
    assert result.code == 0, result.err
    assert query(home, "SELECT resamples FROM version_comparisons WHERE version = 2") == [(60,)]


def test_every_estimator_kind_trains(home: Path, cli, write_spec) -> None:
    for number, (kind, params) in enumerate(
        [("logistic_regression", "{ C = 0.5 }"), ("random_forest", "{ n_estimators = 20, max_depth = 6 }")], 1
    ):
        trained = _train(cli, home, write_spec(f"{kind}.toml", estimator=kind, params=params))
        assert trained["version"] == number
    estimators = [r[0] for r in query(home, "SELECT estimator FROM model_versions ORDER BY version")]
    assert estimators[0].endswith("LogisticRegression") and estimators[1].endswith("RandomForestClassifier")


def test_regression_from_a_query_source(home: Path, cli, write_spec, flights_small: Path) -> None:
    text = (write_spec().read_text()
            .replace('task = "binary"', 'task = "regression"').replace('target = "delayed"', 'target = "arr_delay"')
            .replace("positive_class = true\n", "")
            .replace(f'path = "{flights_small.as_posix()}"',
                     f"query = \"SELECT * FROM '{flights_small.name}' WHERE month <= 2\""))
    spec = flights_small.parent / "regression.toml"  # relative paths in the query resolve from here
    spec.write_text(text.replace('model = "delay"', 'model = "delay_minutes"'))
    trained = _train(cli, home, spec)
    assert set(trained["metrics"]) == {"mae", "rmse", "r2"}
    assert trained["metrics"]["mae"] > 0
    assert query(home, "SELECT max(month) FROM read_parquet(?)", [str(home / get_version_path(home))]) == [(2,)]


def test_train_records_the_git_commit_of_the_spec_repository(home: Path, cli, write_spec, tmp_path: Path) -> None:
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    spec = repo / "spec.toml"
    spec.write_text(write_spec().read_text())
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "spec.toml"], check=True)
    subprocess.run([*git, "commit", "-qm", "spec"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    _train(cli, home, spec)
    assert query(home, "SELECT spec_git_commit, spec_git_dirty FROM model_versions") == [(head, False)]
