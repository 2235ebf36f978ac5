"""`vigil log import DIR`: a cluster run (made here with the recipe's writer, as a Spark task makes it) comes
into the prediction log whole and once; partial, damaged, hostile and foreign runs are refused naming what
is wrong, and nothing of them is imported; labels and monitoring see the imported rows as local ones."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl
import pytest

from appliance.core.identity import current_account
from daemon_support import op, start_daemon, token_of
from run_support import build_home, later_flights, local_run
from support import VIGIL, query


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("runs")
    found = build_home(root, flights_small)
    whole, first, second = later_flights(root, every=30)
    found["inputs"] = [first, second]
    found["run"] = root / "run"
    found["manifest"] = local_run(found, [first, second], found["run"], batch_rows=250, rows_per_part=500)
    return found


def _home(built: dict[str, Any], tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(built["home"], home)
    return home


def _run_copy(built: dict[str, Any], tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(built["run"], target)
    return target


def _logged(home: Path) -> int:
    return int(query(home, "SELECT count(*) FROM prediction_log")[0][0])


def _imports(home: Path) -> int:
    return int(query(home, "SELECT count(*) FROM audit_log WHERE action = 'log.import'")[0][0])


def test_a_run_is_imported_once_with_its_inputs_and_audited(built: dict[str, Any], cli: Callable[..., Any],
                                                            tmp_path: Path) -> None:
    home, manifest = _home(built, tmp_path), built["manifest"]
    assert manifest["rows_scored"] > 1_500 and manifest["rows_rejected"] >= 20
    assert len([f for f in manifest["files"] if f["table"] == "predictions"]) >= 3  # several parts, two inputs
    done = cli("log", "import", built["run"], "--json", "--home", home)
    assert done.code == 0, done.err
    result = json.loads(done.out)
    assert (result["imported"], result["rejected"], result["already_imported"]) == \
        (manifest["rows_scored"], manifest["rows_rejected"], False)
    assert result["spot_checked"] >= 500  # answered rows scored again with the box's own copy of the plan
    files = pl.read_parquet(built["run"] / "predictions" / "**" / "*.parquet", hive_partitioning=False)
    logged = pl.DataFrame(query(home, "SELECT row_index, score, prediction, route, api, flags FROM prediction_log "
                                      "WHERE request_id = ? ORDER BY row_index", [manifest["run_id"]]),
                          schema=["row_index", "score", "prediction", "route", "api", "flags"], orient="row")
    files = files.sort("input_row")
    assert logged["row_index"].to_list() == files["input_row"].to_list()
    assert np.array_equal(logged["score"].to_numpy(), files["score"].to_numpy())  # the run's bits, unchanged
    assert set(logged["route"]) == {"batch"} and set(logged["api"]) == {"batch"}
    assert logged["flags"].to_list() == files["flags"].to_list()
    [(inputs, distance)] = query(home, "SELECT count(*), sum(distance) FROM prediction_inputs__delay "
                                       "WHERE request_id = ?", [manifest["run_id"]])
    assert inputs == manifest["rows_scored"]
    assert distance == pytest.approx(files["input"].struct.field("distance").cast(pl.Float64).sum())
    before = _logged(home)
    again = json.loads(cli("log", "import", built["run"], "--json", "--home", home).out)
    assert again["already_imported"] is True and again["imported"] == 0 and _logged(home) == before
    text = cli("log", "import", built["run"], "--home", home)
    assert text.out.strip() == f"{manifest['run_id']} (delay v1) was imported before; nothing added"
    assert query(home, "SELECT actor, subject, details->>'imported' FROM audit_log WHERE action = 'log.import'") == \
        [(current_account(), f"run:{manifest['run_id']}", str(manifest["rows_scored"]))]


def test_labels_and_the_monitor_see_imported_rows(built: dict[str, Any], cli: Callable[..., Any],
                                                  tmp_path: Path) -> None:
    home, manifest = _home(built, tmp_path), built["manifest"]
    assert cli("log", "import", built["run"], "--home", home).code == 0
    rows = query(home, "SELECT row_index FROM prediction_log WHERE request_id = ? ORDER BY row_index LIMIT 500",
                 [manifest["run_id"]])
    labels = tmp_path / "labels.parquet"
    pl.DataFrame({"request_id": [manifest["run_id"]] * len(rows), "row_index": [r[0] for r in rows],
                  "label": [str(i % 3 == 0).lower() for i in range(len(rows))]}).write_parquet(labels)
    loaded = cli("labels", "load", labels, "--json", "--home", home)
    assert loaded.code == 0, loaded.err
    assert query(home, "SELECT count(*) FROM feedback WHERE request_id = ?", [manifest["run_id"]]) == [(500,)]
    checked = cli("monitor", "run", "delay", "--window", "1h", "--json", "--home", home)
    assert checked.code == 0, checked.err
    [check] = json.loads(checked.out)["checks"]
    assert check["current_rows"] == manifest["rows_scored"]
    assert check["outcomes"]["answered"] == manifest["rows_scored"] and check["outcomes"]["labelled"] == 500
    assert check["drift_run_id"] is not None
    [(drift_rows,)] = query(home, "SELECT count(*) FROM drift_results WHERE run_id = ? AND metric = 'psi'",
                            [check["drift_run_id"]])
    assert drift_rows >= 7  # every feature of the version, on the imported rows


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def _files(run: Path, table: str = "predictions") -> list[Path]:
    return sorted((run / table).glob("**/*.parquet"))


@pytest.mark.parametrize("damage, words", [
    ("remove two files", "missing 2: predictions/model=delay/day="),
    ("flip a byte", "damaged 1: predictions/model=delay/day="),
    ("add a file", "unlisted 1: predictions/model=delay/day="),
    ("remove the manifest", "has no manifest.json: the run did not finish"),
    ("change a count", "its counts do not add up"),
])
def test_a_partial_or_damaged_run_is_refused_naming_it_and_nothing_is_imported(
        built: dict[str, Any], cli: Callable[..., Any], tmp_path: Path, damage: str, words: str) -> None:
    home, run = _home(built, tmp_path), _run_copy(built, tmp_path)
    before = _logged(home)
    files = _files(run)
    if damage == "remove two files":
        files[0].unlink()
        files[-1].unlink()
    elif damage == "flip a byte":
        _flip(files[1])
    elif damage == "add a file":
        shutil.copy(files[0], files[0].with_name("part-99999.parquet"))
    elif damage == "remove the manifest":
        (run / "manifest.json").unlink()
    else:
        manifest = json.loads((run / "manifest.json").read_text())
        manifest["rows_scored"] += 1
        (run / "manifest.json").write_text(json.dumps(manifest))
    done = cli("log", "import", run, "--home", home)
    assert done.code == 2 and done.err.count("\n") == 1 and "Traceback" not in done.err
    assert words in done.err and "nothing imported" in done.err
    if damage == "remove two files":
        assert files[0].relative_to(run).as_posix() in done.err and files[-1].relative_to(run).as_posix() in done.err
    assert _logged(home) == before and _imports(home) == 0


def _rewrite(run: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = run / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _relisted(run: Path, index: int, path: str) -> Callable[[dict[str, Any]], None]:
    def change(manifest: dict[str, Any]) -> None:
        manifest["files"][index]["path"] = path
    return change


def _forged_scores(run: Path) -> Callable[[dict[str, Any]], None]:
    """Every answered row's score moved by one bit, the manifest's hashes updated to match (as an attacker
    who can write the directory would)."""
    import numpy as np

    found = {}
    for target in _files(run):
        frame = pl.read_parquet(target)
        frame = frame.with_columns(pl.Series("score", np.nextafter(frame["score"].to_numpy(), 2.0)))
        frame.write_parquet(target)
        found[target.relative_to(run).as_posix()] = target.read_bytes()

    def change(manifest: dict[str, Any]) -> None:
        for entry in manifest["files"]:
            if entry["path"] in found:
                entry.update(sha256=hashlib.sha256(found[entry["path"]]).hexdigest(), bytes=len(found[entry["path"]]))
    return change


def _rows_of_another_model(run: Path) -> Callable[[dict[str, Any]], None]:
    """One file's rows rewritten to name model 'other', its manifest entry updated to match (as an attacker
    who can write the directory would)."""
    target = _files(run)[0]
    frame = pl.read_parquet(target).with_columns(pl.lit("other").alias("model_name"))
    frame.write_parquet(target)
    data = target.read_bytes()
    relative = target.relative_to(run).as_posix()

    def change(manifest: dict[str, Any]) -> None:
        for entry in manifest["files"]:
            if entry["path"] == relative:
                entry.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    return change


@pytest.mark.parametrize("attack, words", [
    ("path escaping the directory", "not a part file of predictions of model delay under the run's directory"),
    ("absolute path", "not a part file of predictions of model delay under the run's directory"),
    ("symlinked file", "reached through the symlink"),
    ("symlinked folder", "reached through the symlink"),
    ("huge count", "files.0.rows: Input should be less than or equal to 2147483647"),
    ("another model", "names other v1, but its plan"),
    ("another version", "names delay v2, but its plan"),
    ("rows of another model", "not only of this run and delay v1"),
    ("unknown key", "extra_key: Extra inputs are not permitted"),
    ("forged scores", "but this box's copy of plan"),
])
def test_a_hostile_manifest_is_refused_and_nothing_is_imported(built: dict[str, Any], cli: Callable[..., Any],
                                                               tmp_path: Path, attack: str, words: str) -> None:
    home, run = _home(built, tmp_path), _run_copy(built, tmp_path)
    before = _logged(home)
    outside = tmp_path / "outside.parquet"
    shutil.copy(_files(run)[0], outside)
    first = json.loads((run / "manifest.json").read_text())["files"][0]["path"]
    if attack == "path escaping the directory":
        _rewrite(run, _relisted(run, 0, "predictions/model=delay/day=2026-01-01/../../../../outside.parquet"))
    elif attack == "absolute path":
        _rewrite(run, _relisted(run, 0, str(outside)))
    elif attack == "symlinked file":
        (run / first).unlink()
        (run / first).symlink_to(outside)
    elif attack == "symlinked folder":
        folder = (run / first).parent
        moved = tmp_path / "elsewhere"
        shutil.move(str(folder), moved)
        folder.symlink_to(moved, target_is_directory=True)
    elif attack == "huge count":
        _rewrite(run, lambda m: m["files"][0].update(rows=10**12))
    elif attack == "another model":
        _rewrite(run, lambda m: m.update(model="other"))
    elif attack == "another version":
        _rewrite(run, lambda m: m.update(version=2))
    elif attack == "rows of another model":
        _rewrite(run, _rows_of_another_model(run))
    elif attack == "forged scores":
        _rewrite(run, _forged_scores(run))
    else:
        _rewrite(run, lambda m: m.update(extra_key=1))
    done = cli("log", "import", run, "--home", home)
    assert done.code == 2 and done.err.count("\n") == 1, done.err
    assert words in done.err and "nothing imported" in done.err
    assert _logged(home) == before and _imports(home) == 0


def test_a_run_of_another_box_s_plan_is_refused_naming_it(built: dict[str, Any], cli: Callable[..., Any],
                                                          tmp_path: Path, flights_small: Path) -> None:
    other = build_home(tmp_path / "other", flights_small, max_iter=12)
    manifest = local_run(other, built["inputs"], tmp_path / "foreign")
    assert manifest["plan_sha256"] != built["manifest"]["plan_sha256"]
    home = _home(built, tmp_path)
    done = cli("log", "import", tmp_path / "foreign", "--home", home)
    assert done.code == 2 and f"was scored by plan {manifest['plan_sha256'][:16]}, which is not the plan of any " \
                              "version registered on this box (it names delay v1)" in done.err
    assert _imports(home) == 0


def test_importing_needs_the_operator_role_with_and_without_the_daemon(built: dict[str, Any], tmp_path: Path) -> None:
    home = _home(built, tmp_path)

    def vigil(*args: Any, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **({"VIGIL_TOKEN": token} if token else {})}
        return subprocess.run([str(VIGIL), *map(str, args), "--home", str(home)], capture_output=True, text=True,
                              env=env, timeout=120)

    assert vigil("users", "add", current_account(), "--role", "admin").returncode == 0
    viewer = token_of(vigil("users", "add", "vera", "--role", "viewer").stdout)
    operator = token_of(vigil("users", "add", "otto", "--role", "operator").stdout)
    denied = vigil("log", "import", built["run"], token=viewer)
    assert denied.returncode == 2 and "vera (viewer) may not run 'log_import'; it needs the operator role" in denied.stderr
    daemon = start_daemon(home, tmp_path / "daemon.log")
    try:
        status, error = op(daemon, viewer, "log_import", {"directory": str(built["run"])})
        assert status == 403 and "operator role" in error["message"]
        inside = home / "models"
        status, error = op(daemon, operator, "log_import", {"directory": str(inside)})
        assert status == 400 and "Vigil reads no file of its home for a caller" in error["message"]
        status, result = op(daemon, operator, "log_import", {"directory": str(built["run"])})
        assert status == 200 and result["imported"] == built["manifest"]["rows_scored"]
        status, again = op(daemon, operator, "log_import", {"directory": str(built["run"])})
        assert status == 200 and again["already_imported"] is True and again["imported"] == 0
    finally:
        daemon.stop()
    assert query(home, "SELECT actor FROM audit_log WHERE action = 'log.import'") == [("otto",)]
    assert query(home, "SELECT count(*) FROM prediction_log WHERE request_id = ?", [built["manifest"]["run_id"]]) == \
        [(built["manifest"]["rows_scored"],)]


def test_the_model_s_event_time_column_dates_imported_rows(built: dict[str, Any], cli: Callable[..., Any],
                                                           tmp_path: Path) -> None:
    home, manifest = _home(built, tmp_path), built["manifest"]
    (home / "vigil.toml").write_text((home / "vigil.toml").read_text() + 'event_time_column = "time_hour"\n')
    result = json.loads(cli("log", "import", built["run"], "--json", "--home", home).out)
    assert result["event_time_column"] == "time_hour"
    files = pl.read_parquet(built["run"] / "predictions" / "**" / "*.parquet", hive_partitioning=False)
    expected = dict(zip(files["input_row"], files["input"].struct.field("time_hour")))
    logged = dict(query(home, "SELECT row_index, event_time FROM prediction_log WHERE request_id = ?",
                        [manifest["run_id"]]))
    assert len(logged) == manifest["rows_scored"] and logged == expected


def test_a_share_of_the_inputs_is_kept_and_monitoring_reads_those_rows(built: dict[str, Any],
                                                                       cli: Callable[..., Any],
                                                                       tmp_path: Path) -> None:
    home, manifest = _home(built, tmp_path), built["manifest"]
    (home / "vigil.toml").write_text((home / "vigil.toml").read_text()
                                     + "\n[monitoring.models.delay]\nimported_inputs_share = 0.25\n")
    result = json.loads(cli("log", "import", built["run"], "--json", "--home", home).out)
    scored = manifest["rows_scored"]
    assert result["imported"] == scored and result["inputs_share"] == 0.25
    kept = result["inputs_kept"]
    assert 0.18 * scored < kept < 0.32 * scored  # about a quarter, chosen by hash
    assert query(home, "SELECT count(*) FROM prediction_inputs__delay WHERE request_id = ?",
                 [manifest["run_id"]]) == [(kept,)]
    assert _logged(home) == scored  # every prediction is kept
    again = _home(built, tmp_path / "again")  # the same rows on another box with the same share
    (again / "vigil.toml").write_text((home / "vigil.toml").read_text())
    assert cli("log", "import", built["run"], "--home", again).code == 0
    chosen = "SELECT list(row_index ORDER BY row_index) FROM prediction_inputs__delay"
    assert query(again, chosen) == query(home, chosen)
    checked = json.loads(cli("monitor", "run", "delay", "--window", "1h", "--json", "--home", home).out)
    [check] = checked["checks"]
    assert check["outcomes"]["answered"] == scored  # outcomes count every answered row
    [(current_rows,)] = query(home, "SELECT current_rows FROM drift_runs WHERE run_id = ?", [check["drift_run_id"]])
    assert current_rows == kept  # drift reads the rows whose inputs were kept
    outcomes = json.loads(cli("outcomes", "delay", "--window", "1h", "--json", "--home", home).out)
    segments = outcomes["segments"]
    assert segments and outcomes["overall"]["answered"] == scored
    for column in {s["column"] for s in segments}:  # segments come from inputs: the kept rows, no null segment
        assert sum(s["answered"] for s in segments if s["column"] == column) == kept
