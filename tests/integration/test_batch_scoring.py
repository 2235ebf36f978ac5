"""`vigil score`: a file or query scored in chunks, bad rows to a rejects file, logged and audited."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import polars as pl

from tests.support import query


def test_a_file_is_scored_with_rejects_logged_and_audited(home: Path, cli: Callable[..., Any], tmp_path: Path,
                                                          write_spec: Callable[..., Path], flights_small: Path,
                                                          monkeypatch: Any) -> None:
    import appliance.serving.batch_scoring as batch

    monkeypatch.setattr(batch, "CHUNK_ROWS", 700)  # several chunks
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    (home / "vigil.toml").write_text("[serving]\nunknown_category = \"reject\"\n")
    frame = pl.read_parquet(flights_small).head(2000).with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(pl.lit("ZZ")).otherwise(pl.col("carrier")).alias("carrier"),
        pl.when(pl.int_range(pl.len()) == 7).then(float("inf")).otherwise(pl.col("temp")).alias("temp"))
    source = tmp_path / "in.parquet"
    frame.write_parquet(source)
    out = tmp_path / "scored.parquet"
    result = cli("score", "delay", "--input", source, "--output", out, "--home", home, "--json")
    assert result.code == 0, result.err
    made = json.loads(result.out)
    assert (made["rows"], made["scored"], made["rejected"], made["version"]) == (2000, 1998, 2, 1)
    scored = pl.read_parquet(out)
    assert scored.height == 1998 and scored["input_row"].to_list() == [i for i in range(2000) if i not in (5, 7)]
    assert set(scored["batch_id"]) == {made["batch_id"]} and scored["score"].is_between(0, 1).all()
    rejects = pl.read_parquet(made["rejects"])
    assert dict(zip(rejects["input_row"], rejects["reasons"].to_list())) == {
        5: ["unknown_category:carrier"], 7: ["temp: not finite"]}
    # the same answers as the model on those rows, and logged like real-time predictions, with inputs
    from appliance.home.context import open_context
    from appliance.contracts.features import features_from_json, model_input
    from appliance.home import Home
    from appliance.registry.loading import load_model
    from appliance.training.evaluation import scores_of

    with open_context(Home(home), read_only=True) as ctx:
        row = ctx.store.row("SELECT features FROM model_versions WHERE version = 1")
        features = features_from_json(json.loads(row["features"]) if isinstance(row["features"], str) else row["features"])
        expected = scores_of(load_model(ctx, "delay", 1), "binary", model_input(scored, features))
    assert abs(expected - scored["score"].to_numpy()).max() < 1e-12
    logged = query(home, "SELECT count(*), count(DISTINCT request_id), min(route), min(api) FROM prediction_log")
    assert logged == [(1998, 1, "batch", "batch")]
    assert query(home, "SELECT count(*) FROM prediction_inputs__delay WHERE request_id = ?", [made["batch_id"]]) == [(1998,)]
    logged = query(home, "SELECT sum(temp), count(DISTINCT carrier), min(row_index), max(row_index), "
                         "sum(p.score) FROM prediction_inputs__delay i JOIN prediction_log p USING (request_id, row_index)")
    assert logged[0][1:4] == (scored["carrier"].n_unique(), 0, 1999)  # typed inputs, joined on the input row
    assert abs(logged[0][0] - scored["temp"].sum()) < 1e-6 and abs(logged[0][4] - scored["score"].sum()) < 1e-9
    assert query(home, "SELECT subject FROM audit_log WHERE action = 'batch.score'") == [(f"batch:{made['batch_id']}",)]


def test_a_query_is_scored_and_a_missing_column_is_named(home: Path, cli: Callable[..., Any], tmp_path: Path,
                                                         write_spec: Callable[..., Path], flights_small: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    out = tmp_path / "q.parquet"
    done = cli("score", "delay", "--version", "1", "--query", f"SELECT * FROM '{flights_small}' LIMIT 300",
               "--output", out, "--home", home)
    assert done.code == 0 and "300 of 300 rows scored by delay v1" in done.out
    assert pl.read_parquet(out).height == 300 and not (tmp_path / "q.rejects.parquet").exists()
    bad = cli("score", "delay", "--version", "1", "--query", f"SELECT * EXCLUDE (temp) FROM '{flights_small}'",
              "--output", tmp_path / "x.parquet", "--home", home)
    assert bad.code == 2 and "the input has no column temp" in bad.err
    nochamp = cli("score", "delay", "--query", "SELECT 1", "--output", tmp_path / "y.parquet", "--home", home)
    assert nochamp.code == 2 and "has no champion; pass --version N" in nochamp.err


def test_a_batch_score_is_an_openlineage_run(home: Path, cli: Callable[..., Any], tmp_path: Path,
                                             write_spec: Callable[..., Path], flights_small: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    out = tmp_path / "scored.parquet"
    made = json.loads(cli("score", "delay", "--version", "1", "--input", flights_small, "--output", out,
                          "--home", home, "--json").out)
    lake = tmp_path / "export"
    lake.mkdir()
    assert cli("audit", "export", lake, "--openlineage", "--home", home).code == 0
    events = [json.loads(line) for line in (lake / "openlineage" / "events.ndjson").read_text().splitlines()]
    [score] = [e for e in events if e["job"]["name"] == "score.delay"]
    assert [i["name"] for i in score["inputs"]] == [str(flights_small), "models/delay/v1"]
    assert score["outputs"][0]["name"] == str(out)
    assert score["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == made["scored"]


def test_a_multiclass_model_is_scored_with_its_class_and_every_probability(
        home: Path, cli: Callable[..., Any], tmp_path: Path, flights_small: Path) -> None:
    from daemon_support import BAND_CLASSES, BAND_SPEC

    spec = tmp_path / "band.toml"
    spec.write_text(BAND_SPEC.format(path=flights_small.as_posix(), estimator="lightgbm",
                                     params="{ n_estimators = 20 }"))
    assert cli("train", "--spec", spec, "--home", home).code == 0
    assert cli("promote", "band", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    source = tmp_path / "in.parquet"
    pl.read_parquet(flights_small).head(300).write_parquet(source)
    out = tmp_path / "scored.parquet"
    result = cli("score", "band", "--input", source, "--output", out, "--home", home, "--json")
    assert result.code == 0, result.err
    scored = pl.read_parquet(out)
    probabilities = scored["probabilities"].to_list()
    assert set(scored["prediction"]) <= set(BAND_CLASSES) and all(len(p) == 3 for p in probabilities)
    assert all(abs(sum(p) - 1) < 1e-9 for p in probabilities)
    assert [BAND_CLASSES[max(range(3), key=p.__getitem__)] for p in probabilities] == scored["prediction"].to_list()
    assert scored["score"].to_list() == [max(p) for p in probabilities]
    logged = query(home, "SELECT prediction, score, probabilities FROM prediction_log ORDER BY row_index")
    assert [BAND_CLASSES[int(r[0])] for r in logged] == scored["prediction"].to_list()
    assert [r[2] for r in logged] == probabilities


def test_a_csv_cell_that_is_no_number_refuses_only_its_row(home: Path, cli: Callable[..., Any], tmp_path: Path,
                                                            write_spec: Callable[..., Path], flights_small: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    frame = pl.read_parquet(flights_small).head(50)
    text = frame.with_columns(pl.col("temp").cast(pl.String))  # the CSV reader makes the column text
    text = text.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("n/a")).otherwise(pl.col("temp"))
                             .alias("temp"))
    text.write_csv(tmp_path / "in.csv")
    made = json.loads(cli("score", "delay", "--input", tmp_path / "in.csv", "--output", tmp_path / "o.parquet",
                          "--home", home, "--json").out)
    assert (made["scored"], made["rejected"]) == (49, 1)
    rejects = pl.read_parquet(made["rejects"])
    assert rejects["input_row"].to_list() == [3] and rejects["reasons"].to_list() == [["temp: not a number"]]
    scored = pl.read_parquet(tmp_path / "o.parquet")
    assert scored["temp"].dtype == pl.Float64
    assert scored["temp"].to_list() == [t for i, t in enumerate(frame["temp"].to_list()) if i != 3]
