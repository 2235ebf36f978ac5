"""Feature importance at training, and exact per-feature contributions for linear models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tests.support import query


def test_importance_is_stored_and_in_the_model_card(home: Path, cli: Callable[..., Any],
                                                    write_spec: Callable[..., Path]) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    rows = query(home, "SELECT feature, importance, metric, repeats, row_count, reference_value "
                       "FROM feature_importance ORDER BY importance DESC")
    assert {r[0] for r in rows} == {"sched_dep_time", "distance", "temp", "wind_speed", "visib", "carrier", "origin"}
    assert rows[0][1] > 0.005 and {r[2] for r in rows} == {"roc_auc"} and rows[0][3:5] == (2, 1000)
    references = {r[0]: json.loads(r[5]) for r in rows}
    assert isinstance(references["distance"], float) and isinstance(references["carrier"], str)
    shown = json.loads(cli("show", "delay", "1", "--home", home, "--json").out)
    assert [i["feature"] for i in shown["feature_importance"]] == [r[0] for r in rows]
    card = cli("show", "delay", "1", "--card", "--home", home).out
    assert "## Feature importance" in card and f"| {rows[0][0]} | {rows[0][1]:.4f} |" in card


def test_linear_contributions_are_exact_and_add_up(home: Path, cli: Callable[..., Any],
                                                   write_spec: Callable[..., Path]) -> None:
    import polars as pl

    from appliance.home.context import open_context
    from appliance.contracts.features import features_from_json, model_input
    from appliance.home import Home
    from appliance.registry.loading import load_model
    from appliance.store import registry_queries as q
    from appliance.training.dataset import load_snapshot
    from appliance.training.importance import contributions

    spec = write_spec(estimator="logistic_regression", params="{ C = 1.0 }")
    assert cli("train", "--spec", spec, "--home", home).code == 0, cli
    with open_context(Home(home)) as ctx:
        row = q.version(ctx.store, "delay", 1)
        assert row is not None
        features = features_from_json(row["features"])
        model = load_model(ctx, "delay", 1)
        references = {r["feature"]: json.loads(r["reference_value"]) for r in q.importance(ctx.store, "delay", 1)}
        frame = load_snapshot(home / row["snapshot_path"], row["time_column"]).tail(5)
        for i in range(5):
            inputs = model_input(frame[i], features)
            why = contributions(model, "binary", inputs, features, references)
            assert why["scale"] == "log-odds" and why["method"].startswith("exact")
            assert abs(why["sum"] - (why["output"] - why["reference_output"])) < 1e-9  # additive, exactly
            assert abs(why["output"] - float(model.decision_function(inputs)[0])) < 1e-12
        at_reference = pl.DataFrame({f.name: [references[f.name]] for f in features})
        nothing = contributions(model, "binary", model_input(at_reference, features), features, references)
        assert all(v == 0.0 for v in nothing["contributions"].values())
