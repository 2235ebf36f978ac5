"""Labels through a running daemon: 100,000 in one feedback call, labels checked against the model's classes,
the duplicate rule, label files by request id and by business key, the label feed's alerts, and no
acknowledged label lost to kill -9."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import polars as pl

from daemon_support import Daemon, admin, start_daemon
from support import query

BIG = 100_000


def _answered(daemon: Daemon, records: list[dict[str, Any]], requests: int, rows: int, prefix: str) -> list[str]:
    """Score `requests` requests of `rows` records each; their request ids."""
    ids = []
    for n in range(requests):
        body = {"records": [records[(n * rows + i) % len(records)] for i in range(rows)], "request_id": f"{prefix}{n}"}
        status, answer = daemon.post("/v1/models/delay/predict", body)
        assert status == 200, answer
        ids.append(answer["request_id"])
    return ids


def _sql(daemon: Daemon, text: str) -> list[list[Any]]:
    return list(admin(daemon, "sql", {"query": text})["rows"])


def test_a_hundred_thousand_labels_in_one_call_and_bad_labels_refused(configured_daemon, sample_records) -> None:
    daemon = configured_daemon("[serving]\nmax_rows = 1000\n")
    ids = _answered(daemon, sample_records, 100, 1000, "big-")
    items = [{"request_id": rid, "row_index": i, "label": (n + i) % 3 == 0} for n, rid in enumerate(ids)
             for i in range(1000)]
    bad = [dict(item) for item in items[:10]]
    bad[3]["label"], bad[7]["label"] = 7, "maybe"
    status, answer = daemon.post("/v1/models/delay/feedback", {"labels": bad})
    assert status == 400 and answer["error"]["errors"] == [
        {"field": "labels[3].label", "kind": "unknown_class",
         "problem": "'7' is not a class of this model; its classes are false, true"},
        {"field": "labels[7].label", "kind": "unknown_class",
         "problem": "'maybe' is not a class of this model; its classes are false, true"}]
    assert _sql(daemon, "SELECT count(*) FROM feedback") == [[0]]  # nothing of a refused call is recorded

    stop = threading.Event()
    neighbour: list[int] = []

    def predict_meanwhile() -> None:
        while not stop.is_set():
            neighbour.append(daemon.post("/v1/models/delay/predict", {"records": sample_records[:1]})[0])

    thread = threading.Thread(target=predict_meanwhile)
    thread.start()
    try:
        status, answer = daemon.post("/v1/models/delay/feedback",
                                     {"labels": [*items[:BIG - 1], {**items[0], "label": "maybe"}]}, timeout=120)
        assert status == 400 and answer["error"]["errors"][0]["field"] == "labels[99999].request_id"
        status, answer = daemon.post("/v1/models/delay/feedback", {"labels": items}, timeout=120)
    finally:
        stop.set()
        thread.join()
    assert status == 200 and answer == {"counts": {"recorded": BIG}, "listed": "not_answered", "results": []}
    assert _sql(daemon, "SELECT count(*), sum(label_value)::INTEGER FROM feedback WHERE model_name = 'delay'") == [
        [BIG, sum(1 for item in items if item["label"])]]
    assert neighbour and set(neighbour) == {200}  # a valid client beside the big and the bad calls
    again = daemon.post("/v1/models/delay/feedback", {"labels": items[:BIG // 2]}, timeout=120)[1]
    assert again["counts"] == {"unchanged": BIG // 2} and again["results"] == []
    too_many = daemon.post("/v1/models/delay/feedback", {"labels": items + items[:1]}, timeout=120)
    assert too_many[0] == 413 and too_many[1]["error"]["errors"][0]["kind"] == "too_many_labels"


def test_duplicates_updates_and_event_times(daemon: Daemon, sample_records) -> None:
    _answered(daemon, sample_records, 1, 3, "dup-")
    twice = {"labels": [{"request_id": "dup-0", "label": True}, {"request_id": "dup-0", "row_index": 0, "label": False}]}
    status, answer = daemon.post("/v1/models/delay/feedback", twice)
    assert status == 400 and answer["error"]["errors"] == [{
        "field": "labels[1].request_id", "kind": "duplicate_label",
        "problem": "names the same request_id and row_index as an earlier label of this call"}]
    first = {"labels": [{"request_id": "dup-0", "label": True, "event_time": "2016-03-01T12:00:00+02:00"},
                        {"request_id": "dup-0", "row_index": 1, "label": "false", "event_time": 1456833600},
                        {"request_id": "dup-0", "row_index": 2, "label": False}]}
    assert daemon.post("/v1/models/delay/feedback", first)[1]["counts"] == {"recorded": 3}
    second = {"labels": [{"request_id": "dup-0", "label": True}, {"request_id": "dup-0", "row_index": 1, "label": True},
                         {"request_id": "dup-0", "row_index": 2, "label": False, "event_time": "2016-03-02"}]}
    results = daemon.post("/v1/models/delay/feedback", second)[1]["results"]
    assert [r["status"] for r in results] == ["unchanged", "updated", "updated"]
    assert _sql(daemon, "SELECT row_index, label, label_value, strftime(event_time, '%Y-%m-%d %H:%M') FROM feedback "
                        "ORDER BY row_index") == [[0, "true", 1.0, "2016-03-01 10:00"], [1, "true", 1.0, "2016-03-01 12:00"],
                                                  [2, "false", 0.0, "2016-03-02 00:00"]]
    status, answer = daemon.post("/v1/models/delay/feedback", {"labels": [
        {"request_id": "dup-0", "label": True, "event_time": "soon"}]})
    assert status == 400 and answer["error"]["errors"][0]["field"] == "labels[0].event_time"


def test_label_files_by_request_id_and_by_business_key(daemon: Daemon, sample_records, cli, tmp_path: Path) -> None:
    ids = _answered(daemon, sample_records, 4, 5, "file-")
    frame = pl.DataFrame({"request_id": [r for r in ids for _ in range(5)], "row_index": list(range(5)) * 4,
                          "label": [i % 2 == 0 for i in range(20)],
                          "event_time": ["2016-05-01T00:00:00Z"] * 20})
    frame.write_parquet(tmp_path / "labels.pq")
    loaded = cli("labels", "load", str(tmp_path / "labels.pq"), "--json", "--home", daemon.home)
    assert loaded.code == 0 and json.loads(loaded.out)["counts"] == {"recorded": 20}
    again = cli("labels", "load", str(tmp_path / "labels.pq"), "--model", "delay", "--home", daemon.home)
    assert again.code == 0 and "20 unchanged" in again.out  # idempotent
    frame.with_columns(label=pl.Series([1] * 19 + [7])).write_csv(tmp_path / "bad.csv")
    bad = cli("labels", "load", str(tmp_path / "bad.csv"), "--model", "delay", "--home", daemon.home)
    assert bad.code == 2 and bad.err.count("\n") == 1 and "20 bad label(s), nothing loaded; label 1:" in bad.err
    assert _sql(daemon, "SELECT count(*), count(event_time) FROM feedback") == [[20, 20]]

    distances: dict[float, dict[str, Any]] = {}
    taken = {record["distance"] for record in sample_records[:20]}  # answered above
    for record in sample_records[20:]:  # one answered row per distinct distance: the business key
        if record["distance"] not in taken:
            distances.setdefault(record["distance"], record)
    keyed = list(distances.values())[:6]
    status, answer = daemon.post("/v1/models/delay/predict", {"records": keyed, "request_id": "keyed"})
    assert status == 200
    pl.DataFrame({"distance": [r["distance"] for r in keyed] + [99999.0], "label": [True] * 7}).write_csv(
        tmp_path / "keyed.csv")
    by_key = cli("labels", "load", str(tmp_path / "keyed.csv"), "--model", "delay", "--key", "distance", "--json",
                 "--home", daemon.home)
    assert by_key.code == 0, by_key.err
    assert json.loads(by_key.out)["counts"] == {"recorded": 6, "unknown_key": 1}
    assert _sql(daemon, "SELECT count(*) FROM feedback WHERE request_id = 'keyed'") == [[6]]
    daemon.stop()
    offline = cli("labels", "load", str(tmp_path / "keyed.csv"), "--model", "delay", "--key", "distance",
                  "--home", daemon.home)  # without the daemon: the same command on the store itself
    assert offline.code == 0 and "6 unchanged" in offline.out, offline.err


def test_label_feed_alerts_fire_and_resolve(configured_daemon, sample_records, fresh_home: Path, tmp_path: Path) -> None:
    daemon = configured_daemon("[monitoring.models.delay]\nlabel_due = \"1d\"\nlabel_max_age = \"1d\"\n"
                               "label_coverage_target = 0.5\n")
    early = _answered(daemon, sample_records, 20, 1, "feed-a")
    assert daemon.post("/v1/models/delay/feedback", {"labels": [
        {"request_id": rid, "label": True} for rid in early[:5]]})[0] == 200
    later = _answered(daemon, sample_records, 10, 1, "feed-b")
    daemon.stop()
    from appliance.store.connection import Store

    with Store.open(fresh_home / "vigil.duckdb") as store:  # as if all this happened 36 hours ago
        store.execute("UPDATE prediction_log SET logged_at = logged_at - INTERVAL 36 HOUR")
        store.execute("UPDATE feedback SET received_at = received_at - INTERVAL 36 HOUR")
    daemon = start_daemon(fresh_home, tmp_path / "again.log")
    try:
        runs = [admin(daemon, "monitor_run", {"names": ["delay"]}) for _ in range(2)]
        opened = {a["rule"] for run in runs for check in run["checks"] for a in check["alerts"] if a["change"] == "opened"}
        assert opened >= {"labels-stale", "label-coverage-low"}, runs
        values = dict(_sql(daemon, "SELECT metric, value FROM monitor_observations WHERE source = 'labels' AND "
                                   "run_id = (SELECT max(run_id) FROM monitor_runs)"))
        assert values["label_coverage_due"] == 5 / 30 and abs(values["label_coverage_ratio"] - 1 / 3) < 1e-12
        assert 1.49 < values["label_age_ratio"] < 1.51
        assert daemon.post("/v1/models/delay/feedback", {"labels": [
            {"request_id": rid, "label": False} for rid in early[5:] + later]})[1]["counts"] == {"recorded": 25}
        run = admin(daemon, "monitor_run", {"names": ["delay"]})
        resolved = {a["rule"] for check in run["checks"] for a in check["alerts"] if a["change"] == "resolved"}
        assert resolved >= {"labels-stale", "label-coverage-low"}, run
    finally:
        daemon.stop()


def test_kill_minus_9_after_an_acknowledged_label_call_loses_nothing(daemon: Daemon, sample_records,
                                                                     fresh_home: Path) -> None:
    ids = _answered(daemon, sample_records, 10, 100, "kill-")
    items = [{"request_id": rid, "row_index": i, "label": i % 2 == 1} for rid in ids for i in range(100)]
    status, answer = daemon.post("/v1/models/delay/feedback", {"labels": items})
    assert status == 200 and answer["counts"] == {"recorded": 1000}
    daemon.process.send_signal(signal.SIGKILL)
    daemon.process.wait(30)
    assert query(fresh_home, "SELECT count(*), sum(label_value) FROM feedback") == [(1000, 500.0)]
