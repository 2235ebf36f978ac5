"""A history replayed through a running daemon, by event time: `vigil history` scores four years of
census-like rows in seconds (event time: a year-month column), labels arrive later through the
feedback API, and `vigil monitor run --from --to --chunk` finds the drifted year in the past, not the
undrifted one, with each period's realized performance; nothing pages for the past."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from daemon_support import Daemon, start_daemon
from support import Result

SPEC = """\
model = "census"
description = "employment, census-like"
task = "binary"
target = "employed"
positive_class = true
seed = 7

[source]
path = "{path}"

[features]
numeric = ["age", "hours"]
categorical = ["sector"]

[split]
time_column = "period"
holdout_fraction = 0.25

[estimator]
kind = "hist_gradient_boosting"
params = {{ max_iter = 30 }}
"""
PER_MONTH = 100
SHIFT_FROM = "2018-01"  # weekly hours move up by 12 from January 2018 on


def census(years: list[int], seed: int) -> pl.DataFrame:
    """Seeded rows of each month of `years`: event time as a year-month text, two numbers, a sector, a label."""
    rng = np.random.default_rng(seed)
    parts = []
    for year in years:
        for month in range(1, 13):
            period = f"{year}-{month:02d}"
            age = rng.normal(40, 10, PER_MONTH).round(1)
            hours = rng.normal(38, 6, PER_MONTH).round(1) + (12 if period >= SHIFT_FROM else 0)
            sector = rng.choice(["public", "private", "self"], PER_MONTH, p=[0.3, 0.5, 0.2])
            chance = 1 / (1 + np.exp(-((hours - 38) / 4 - (age - 40) / 15)))
            parts.append(pl.DataFrame({"period": [period] * PER_MONTH, "age": age, "hours": hours, "sector": sector,
                                       "employed": rng.random(PER_MONTH) < chance}))
    return pl.concat(parts)


def census_home(root: Path) -> Path:
    """`root/home`, its champion trained on 2015-2016 (jobs off); `root/history.pq` holds 2017-2018."""
    from appliance.cli.main import main

    census([2015, 2016], seed=3).write_parquet(root / "train.pq")
    census([2017, 2018], seed=4).write_parquet(root / "history.pq")
    (root / "spec.toml").write_text(SPEC.format(path="train.pq"))
    home = root / "home"
    assert main(["init", "--home", str(home)]) == 0
    (home / "vigil.toml").write_text("[jobs]\nenabled = false\n")
    assert main(["train", "--spec", str(root / "spec.toml"), "--home", str(home)]) == 0
    assert main(["promote", "census", "1", "--to", "champion", "--reason", "first", "--home", str(home)]) == 0
    return home


@pytest.fixture(scope="module")
def census_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Path]]:
    """A home whose champion was trained on 2015-2016 (time column: a year-month), served by `vigil up`."""
    root = tmp_path_factory.mktemp("census")
    home = census_home(root)
    daemon = start_daemon(home, root / "daemon.log")
    yield daemon, root
    if daemon.process.poll() is None:
        daemon.stop()


def run_json(vigil: Callable[..., Result], *args: object) -> Any:
    done = vigil(*args, "--json")
    assert done.code == 0, done.err
    return json.loads(done.out)


@pytest.fixture(scope="module")
def history(census_daemon: tuple[Daemon, Path]) -> dict[str, Any]:
    """`vigil history` of 2017-2018, by year, without labels: what the daemon answered."""
    from support import VIGIL
    import subprocess

    daemon, root = census_daemon
    done = subprocess.run([str(VIGIL), "history", "census", "--input", str(root / "history.pq"),
                           "--event-time-column", "period", "--chunk", "1y", "--output",
                           str(daemon.home / "exports" / "scored.parquet"), "--home", str(daemon.home), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def by_year(chunks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["start"][:4]: c for c in chunks}


def test_a_history_with_late_labels_finds_the_drifted_year_and_realized_performance(
        census_daemon: tuple[Daemon, Path], history: dict[str, Any], vigil: Callable[..., Result]) -> None:
    from appliance.monitoring.drift import numeric_drift

    daemon, root = census_daemon
    home = daemon.home
    done = history
    assert (done["batch"]["scored"], done["batch"]["rejected"], done["labels"]) == (2400, 0, {})
    years = by_year(done["chunks"])
    assert sorted(years) == ["2017", "2018"]
    assert [(c["start"], c["end"], c["rows"], c["axis"]) for c in done["chunks"]] == [
        ("2017-01-01T00:00:00", "2018-01-01T00:00:00", 1200, "event"),
        ("2018-01-01T00:00:00", "2019-01-01T00:00:00", 1200, "event")]
    assert years["2018"]["drift"] == "critical" and years["2018"]["worst_feature"] == "hours"
    assert years["2017"]["drift"] != "critical" and years["2017"]["worst_psi"] < 0.1
    assert years["2017"]["labelled"] == 0 and years["2017"]["metrics"] == {}
    # the 2018 chunk compared exactly its rows with the training rows (before the holdout, from 2016-07)
    scored = pl.read_parquet(home / "exports" / "scored.parquet")
    reference = pl.read_parquet(root / "train.pq").filter(pl.col("period") < "2016-07")["hours"].to_numpy()
    current = scored.filter(pl.col("period").str.starts_with("2018"))["hours"].to_numpy()
    assert years["2018"]["worst_psi"] == pytest.approx(numeric_drift(reference, current).psi, rel=1e-12)

    # labels come later, through the feedback API: every 2018 row, and every other 2017 row
    labelled = scored.filter((pl.col("period") >= "2018") | (pl.col("input_row") % 2 == 0))
    items = [{"request_id": done["batch"]["batch_id"], "row_index": int(row), "label": bool(label)}
             for row, label in labelled.select("input_row", "employed").iter_rows()]
    status, answer = daemon.post("/v1/models/census/feedback", {"labels": items})
    assert status == 200 and answer["counts"] == {"recorded": 1800}

    again = run_json(vigil, "monitor", "run", "census", "--from", "2017-01-01", "--to", "2019-01-01",
                     "--chunk", "1y", "--home", home)
    years = by_year(again["chunks"])
    for year, coverage in (("2017", 0.5), ("2018", 1.0)):
        rows = scored.filter(pl.col("period").str.starts_with(year))
        labels = labelled.filter(pl.col("period").str.starts_with(year))
        assert years[year]["rows"] == rows.height == 1200
        assert years[year]["labelled"] == labels.height and years[year]["coverage"] == coverage
        assert years[year]["metrics"]["roc_auc"] == pytest.approx(
            roc_auc_score(labels["employed"].to_numpy(), labels["score"].to_numpy()), abs=1e-12)
        assert years[year]["metrics"]["accuracy"] == pytest.approx(
            float(np.mean(labels["prediction"].to_numpy() == labels["employed"].to_numpy())), abs=1e-12)
        assert years[year]["alerting"] is False and years[year]["alerts"] == 0
    assert years["2018"]["drift"] == "critical" and years["2017"]["drift"] != "critical"
    alerts = run_json(vigil, "alerts", "--all", "--home", home)
    assert alerts["alerts"] == []  # a critical drift of 2018 pages no one in 2026

    monthly = run_json(vigil, "monitor", "run", "census", "--from", "2017-11-01", "--to", "2018-03-01",
                       "--chunk", "1M", "--home", home)
    assert [(c["start"][:7], c["rows"], c["drift"] == "critical") for c in monthly["chunks"]] == [
        ("2017-11", 100, False), ("2017-12", 100, False), ("2018-01", 100, True), ("2018-02", 100, True)]
    quarters = run_json(vigil, "monitor", "run", "census", "--from", "2017-01-01", "--to", "2019-01-01",
                        "--chunk", "chunks:3", "--home", home)
    assert [c["rows"] for c in quarters["chunks"]] == [800, 800, 800]  # whole months: 8 of them each
    assert [c["start"][:7] for c in quarters["chunks"]] == ["2017-01", "2017-09", "2018-05"]


def test_the_arrival_axis_sees_the_whole_replay_as_now(census_daemon: tuple[Daemon, Path], history: dict[str, Any],
                                                       vigil: Callable[..., Result]) -> None:
    daemon, _ = census_daemon
    done = run_json(vigil, "monitor", "run", "census", "--window", "1d", "--chunk", "chunks:1", "--axis", "arrival",
                    "--home", daemon.home)
    [chunk] = done["chunks"]
    assert chunk["axis"] == "arrival" and chunk["rows"] >= 2400 and chunk["alerting"] is True
    runs = vigil("sql", "SELECT trigger, axis, count(*) AS n FROM monitor_runs GROUP BY ALL ORDER BY ALL",
                 "--format", "json", "--home", daemon.home)
    found = {(r["trigger"], r["axis"]): r["n"] for r in json.loads(runs.out)}
    assert found[("manual", "arrival")] == 1 and found[("past", "event")] >= 2  # the history's own two years


def test_past_period_mistakes_are_one_line_errors(census_daemon: tuple[Daemon, Path],
                                                  vigil: Callable[..., Result]) -> None:
    daemon, root = census_daemon
    for args, message in (
            (("monitor", "run", "census", "--to", "2018-01-01"), "--to needs --from"),
            (("monitor", "run", "census", "--from", "2018-02-01", "--to", "2018-01-01"), "must be after --from"),
            (("monitor", "run", "census", "--from", "2018-01-01", "--chunk", "1q"), "is not a period"),
            (("monitor", "run", "census", "--from", "last tuesday"), "is not a date or time"),
            (("score", "census", "--input", root / "history.pq", "--output", daemon.home / "exports" / "x.parquet",
              "--event-time-column", "when"), "no column when")):
        done = vigil(*args, "--home", daemon.home)
        assert done.code == 2 and message in done.err and len(done.err.strip().splitlines()) == 1, done.err


def test_a_history_with_its_labels_records_them_through_the_label_door_audited(
        census_daemon: tuple[Daemon, Path], history: dict[str, Any], vigil: Callable[..., Result]) -> None:
    """Labels from the file's own column are checked and recorded, and the load is audited under the caller."""
    daemon, root = census_daemon
    rows = census([2019], seed=5).head(240)
    rows.write_parquet(root / "labelled.pq")
    done = run_json(vigil, "history", "census", "--input", root / "labelled.pq", "--event-time-column", "period",
                    "--label-column", "employed", "--chunk", "1y", "--output",
                    daemon.home / "exports" / "labelled-scored.parquet", "--home", daemon.home)
    assert done["batch"]["scored"] == 240 and done["labels"] == {"recorded": 240}, done["labels"]
    [chunk] = done["chunks"]
    assert chunk["labelled"] == 240 and chunk["coverage"] == 1.0
    who = run_json(vigil, "whoami", "--home", daemon.home)["name"]
    audit = vigil("sql", "SELECT actor, subject, details FROM audit_log WHERE action = 'labels.load'",
                  "--format", "json", "--home", daemon.home)
    [row] = json.loads(audit.out)
    details = json.loads(row["details"])
    assert (row["actor"], row["subject"]) == (who, "labels:census")
    assert details["labels"] == 240 and details["column"] == "employed" and details["batch_id"] == \
        done["batch"]["batch_id"]
