"""Replay at approval on a real store: known logged answers of the champion, a candidate whose scores
are known by construction (a logistic regression on `distance` alone, with its weights set), so
agreement, score PSI and KS and the labelled metrics are computed by hand."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import polars as pl
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]
NOW = datetime(2024, 5, 2, 12, 0, 0)

# The candidate's positive-class probability on each replayed row, and what the champion logged for it.
CANDIDATE_P = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]
CHAMPION_SCORE = [0.15, 0.25, 0.55, 0.45, 0.65, 0.35, 0.85, 0.95]
LABELS = {0: 0.0, 2: 1.0, 5: 0.0, 7: 1.0}  # row -> label (the other rows have none)


def _distance_for(p: float) -> float:
    """The distance at which the candidate (p = sigmoid(distance / 1000 - 1)) answers p."""
    return 1000.0 * (1.0 + math.log(p / (1.0 - p)))


def _known_model(flights_small: Path, weight: float, intercept: float) -> Pipeline:
    frame = pl.read_parquet(flights_small).drop_nulls(NUMERIC)
    inputs = frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC] + [pl.col(c) for c in CATEGORICAL])
    labels = np.where(frame["delayed"].to_numpy(), "true", "false")
    model = Pipeline([("pick", ColumnTransformer([("d", SimpleImputer(), ["distance"])])),
                      ("lr", LogisticRegression())]).fit(inputs, labels)
    model.named_steps["lr"].coef_ = np.array([[weight]])
    model.named_steps["lr"].intercept_ = np.array([intercept])
    return model


@pytest.fixture(scope="module")
def replay_home(tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> Path:
    """v1 champion and v2 (the known candidate), imported; champion traffic logged by hand."""
    from appliance.cli.main import main
    from support import SPEC

    root = tmp_path_factory.mktemp("replay")
    home, data = root / "home", root / "complete.parquet"
    pl.read_parquet(flights_small).drop_nulls(NUMERIC).write_parquet(data)
    spec = root / "spec.toml"
    spec.write_text(SPEC.format(model="delay", seed=7, source=f'path = "{data.as_posix()}"',
                                estimator="hist_gradient_boosting", params="{ max_iter = 30 }"))
    assert main(["init", "--home", str(home)]) == 0
    for number, (weight, intercept) in enumerate([(0.002, -2.0), (0.001, -1.0)], start=1):
        file = root / f"v{number}.skops"
        sio.dump(_known_model(flights_small, weight, intercept), file)
        assert main(["import", "delay", str(file), "--spec", str(spec), "--home", str(home)]) == 0
    _make_champion(home)
    _log_traffic(home)
    return home


def _make_champion(home: Path) -> None:
    """v1 champion through the door, without its gates (its weights are set by hand, not fitted)."""
    from appliance.home import Home
    from appliance.home.context import open_context
    from appliance.release.requests import request_promotion

    with open_context(Home(home)) as ctx:
        assert request_promotion(ctx, "delay", 1, "champion", percent=None, reason="first", actor="ada",
                                 gates=False)["status"] == "applied"


def _log_traffic(home: Path) -> None:
    """Eight answered rows in the last hour (four labelled), an older day's row, and a shadow row."""
    from appliance.contracts.features import features_from
    from appliance.store import prediction_queries as pq
    from appliance.store.connection import Store

    with Store.open(home / "vigil.duckdb") as store:
        pq.ensure_inputs_table(store, "delay", features_from(NUMERIC, CATEGORICAL))
        rows = [(f"r{i}", NOW - timedelta(minutes=10 * (8 - i)), "champion", 1, p, s)
                for i, (p, s) in enumerate(zip(CANDIDATE_P, CHAMPION_SCORE))]
        rows += [("old", NOW - timedelta(hours=30), "champion", 1, 0.5, 0.99),  # outside the day
                 ("shadowed", NOW - timedelta(minutes=5), "shadow", 2, 0.5, 0.01)]  # not champion traffic
        for request_id, at, route, version, p, score in rows:
            store.execute("INSERT INTO prediction_log (request_id, row_index, logged_at, model_name, version, route, "
                          "api, prediction, score, latency_ms, flags) VALUES (?, 0, ?, 'delay', ?, ?, 'native', ?, ?, "
                          "1.0, [])", [request_id, at, version, route, 1.0 if score >= 0.5 else 0.0, score])
            store.execute("INSERT INTO prediction_inputs__delay (request_id, row_index, sched_dep_time, distance, "
                          "temp, wind_speed, visib, carrier, origin) VALUES (?, 0, 900, ?, 50, 10, 10, 'UA', 'JFK')",
                          [request_id, _distance_for(p)])
        for row, label in LABELS.items():
            store.execute("INSERT INTO feedback (request_id, row_index, model_name, label, label_value, received_at) "
                          "VALUES (?, 0, 'delay', ?, ?, ?)",
                          [f"r{row}", "true" if label else "false", label, NOW])


@pytest.fixture
def context(replay_home: Path) -> Iterator[Any]:
    from appliance.home import Home
    from appliance.home.context import open_context

    with open_context(Home(replay_home)) as ctx:
        yield ctx


@pytest.fixture
def pending(context: Any) -> Callable[[], int]:
    """File a pending request for v2 as champion (a user exists, so it needs an approver)."""
    from appliance.store import release_queries as rq

    def file() -> int:
        with context.store.transaction():
            request_id = rq.insert_request(context.store, "delay", 2, "champion", None, "try v2", "otto", NOW, None)
            rq.set_status(context.store, request_id, "pending")
        return request_id

    return file


def test_replay_of_known_rows_gives_hand_computed_agreement_shift_and_metrics(context: Any,
                                                                              pending: Callable[[], int]) -> None:
    from appliance.monitoring.replay import compute

    found = compute(context, pending(), window=timedelta(hours=24), max_rows=50_000)
    assert (found["status"], found["champion_version"], found["candidate_version"]) == ("replayed", 1, 2)
    assert (found["rows_replayed"], found["rows_skipped"]) == (8, 0)  # not the older day's row, not the shadow row
    assert found["window_end"] == NOW - timedelta(minutes=10)  # the champion's last logged row with inputs
    assert found["window_start"] == found["window_end"] - timedelta(hours=24)
    # decisions at 0.5: candidate 0 0 0 0 1 1 1 1, champion 0 0 1 0 1 0 1 1 -> rows 2 and 5 differ
    assert found["agreement"] == 6 / 8
    # the champion's deciles put one of its scores in each of eight bins (none in bins 3 and 6); the candidate
    # has two in bin 0, one each in bins 2, 3, 6, 7, 8, 9: bins 1, 4, 5 empty (EPSILON = 1e-4)
    eps = 1e-4
    psi = 0.125 * math.log(2) + 5 * (0.125 - eps) * math.log(0.125 / eps)
    assert found["score_psi"] == pytest.approx(psi, abs=1e-9)
    assert found["score_ks"] == pytest.approx(0.125, abs=1e-12)  # largest gap of the two step functions: 1/8
    # labelled rows 0, 2, 5, 7 (labels 0 1 0 1): candidate scores .1 .3 .7 .9 -> 3 of 4 pairs ordered;
    # the champion's .15 .55 .35 .95 -> all 4; accuracy 2/4 and 4/4
    assert found["labelled_rows"] == 4
    assert (found["metric"], found["candidate_metric"], found["champion_metric"]) == ("roc_auc", 0.75, 1.0)
    assert found["detail"]["metrics"]["accuracy"] == {"candidate": 0.5, "champion": 1.0}
    assert found["detail"]["information_only"] is True


def test_the_row_bound_keeps_the_most_recent_rows_and_says_so(context: Any, pending: Callable[[], int]) -> None:
    from appliance.monitoring.replay import compute

    found = compute(context, pending(), window=timedelta(hours=24), max_rows=4)
    assert found["rows_replayed"] == 4 and found["agreement"] == 3 / 4  # rows 4-7: only row 5 differs
    assert found["labelled_rows"] == 2 and found["metric"] == "roc_auc"
    assert "the most recent 4 of 8 rows in the window" in found["detail"]["notes"]


def test_kept_evidence_is_what_requests_show_reads_and_is_audited(context: Any, pending: Callable[[], int]) -> None:
    import threading

    from appliance.access.users import ADMIN_TOKEN
    from appliance.monitoring.replay import replay_waiting, view
    from appliance.operations import arguments, run
    from appliance.store import release_queries as rq

    request_id = pending()
    assert view(context, {**rq.request(context.store, request_id)})["status"] == "computing"
    done = replay_waiting(context, window=timedelta(hours=24), max_rows=50_000, write_lock=threading.Lock())
    assert {"request_id": request_id, "status": "replayed", "rows": 8} in done["requests"]
    shown = run(context, "request_show", arguments("request_show", {"id": request_id}, ADMIN_TOKEN))
    assert shown["replay"]["agreement"] == 0.75 and shown["replay"]["rows_replayed"] == 8
    audit = context.store.execute("SELECT actor, details->>'request_id', after->>'agreement' FROM audit_log "
                                  "WHERE action = 'promotion.replay' AND subject = ?", [f"promotion:{request_id}"])
    assert audit == [("vigil-replay", str(request_id), "0.75")]
    again = replay_waiting(context, window=timedelta(hours=24), max_rows=50_000, write_lock=threading.Lock())
    assert request_id not in [r["request_id"] for r in again["requests"]]  # kept once, never recomputed


def test_rows_logged_without_a_feature_the_candidate_takes_are_skipped() -> None:
    from appliance.monitoring.replay import _logged_with
    from appliance.contracts.features import features_from

    frame = pl.DataFrame({"distance": [1.0, 2.0, None], "dewp": [None, 3.0, None]})
    kept, skipped, note = _logged_with(frame, features_from(["distance", "dewp"], []), features_from(["distance"], []))
    assert (kept.height, skipped) == (1, 2) and "2 of 3 rows skipped: logged without dewp" in note
    kept, skipped, note = _logged_with(frame, features_from(["distance"], []), features_from(["distance"], []))
    assert (kept.height, skipped, note) == (3, 0, "")  # a missing value the champion was sent stays a row


def test_no_logged_inputs_is_said_plainly(context: Any) -> None:
    from appliance.monitoring.replay import compute
    from appliance.store import release_queries as rq

    with context.store.transaction():
        request_id = rq.insert_request(context.store, "delay", 2, "champion", None, "x", "otto", NOW, None)
        rq.set_status(context.store, request_id, "pending")
    found = compute(context, request_id, window=timedelta(hours=24), max_rows=10)
    assert found["status"] == "replayed"  # the seeded home has traffic; a model without it:
    context.store.execute("UPDATE prediction_log SET route = 'shadow' WHERE model_name = 'delay' AND version = 1")
    try:
        empty = compute(context, request_id, window=timedelta(hours=24), max_rows=10)
    finally:
        context.store.execute("UPDATE prediction_log SET route = 'champion' WHERE model_name = 'delay' "
                              "AND request_id <> 'shadowed'")
    assert empty["status"] == "no_inputs" and empty["rows_replayed"] == 0
    assert "champion v1 has no answered rows with inputs kept" in empty["detail"]["notes"][0]


def test_no_module_on_the_scoring_path_imports_the_replay() -> None:
    """Scoring never waits for a replay: nothing under serving/ or http/ imports it (the daemon starts it
    as a job after the promote operation, tests/daemon/test_replay_daemon.py)."""
    import ast

    from support import ROOT

    for folder in ("serving", "http"):
        for path in (ROOT / "appliance" / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
            assert not {m for m in imported if "replay" in m}, path
