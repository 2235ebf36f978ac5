"""Hostile callers at the two label doors, against one real daemon: the feedback API and `vigil labels load`.

The daemon serves a binary model (`delay`) and a regression model (`minutes`), needs a scoring API key
(`serving.require_api_key`) and has users ada (admin), otto (operator) and vera (viewer). Attacks:
100,000 labels and one more, bodies beyond the limit, deep JSON, lone surrogates, NaN, labels of the
wrong type, hostile event times, duplicates within and across calls and across the two doors, ids
never predicted or predicted by another model, a request id reused (a retry, or another model's
client taking it), forged identities, label files that are not what they say (symlinks into the home,
not Parquet, NULs, huge fields, control characters, a bad label among good ones), with and without
the daemon, and `kill -9` in the middle of a 400,000-label load. A well-behaved client's labels are
recorded while a hostile one sends junk.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import polars as pl
import pytest

from appliance.cli.main import main
from appliance.store import label_queries as lq
from appliance.store import migrations
from appliance.store.connection import Store
from daemon_support import FEATURES, Daemon, start_daemon, token_of
from support import SPEC, VIGIL

DELAY = "/v1/models/delay/feedback"
MINUTES = "/v1/models/minutes/feedback"
DEEP = b"[" * 100_000 + b"]" * 100_000
BIG = 100_000
LOAD = 400_000  # labels of the file loaded while the daemon is killed


@dataclass
class Lab:
    daemon: Daemon
    tokens: dict[str, str]
    key: str  # the scoring API key
    batch: str  # request id of 500,000 rows `delay` scored as a batch
    records: list[dict[str, Any]]
    offline_home: Path  # the same home before the daemon started, for the CLI without a daemon
    files: Path


def _quiet(args: list[str], env: dict[str, str] | None = None) -> str:
    """Run `vigil ARGS` in this process; its output (it must succeed)."""
    saved = {name: os.environ.get(name) for name in (env or {})}
    os.environ.update(env or {})
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            assert main(args) == 0, args
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    return out.getvalue()


def _train(home: Path, root: Path, data: Path) -> None:
    delay = SPEC.format(model="delay", seed=7, source=f'path = "{data.as_posix()}"', estimator="logistic_regression",
                        params="{}")
    minutes = (SPEC.format(model="minutes", seed=7, source=f'path = "{data.as_posix()}"',
                           estimator="linear_regression", params="{}")
               .replace('task = "binary"', 'task = "regression"').replace('target = "delayed"', 'target = "arr_delay"')
               .replace("positive_class = true\n", ""))
    for name, text in (("delay", delay), ("minutes", minutes)):
        (root / f"{name}.toml").write_text(text)
        _quiet(["train", "--spec", str(root / f"{name}.toml"), "--home", str(home)])
        _quiet(["promote", name, "1", "--to", "champion", "--reason", "first", "--home", str(home)])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("label-attacks")
    home = root / "home"
    _quiet(["init", "--home", str(home)])
    _train(home, root, flights_small)
    key = next(line for line in _quiet(["api-keys", "add", "pipeline", "--home", str(home)]).split()
               if line.startswith("vsk_"))
    tokens = {"ada": token_of(_quiet(["users", "add", "ada", "--role", "admin", "--home", str(home)]))}
    for name, role in (("otto", "operator"), ("vera", "viewer")):
        tokens[name] = token_of(_quiet(["users", "add", name, "--role", role, "--home", str(home)],
                                       {"VIGIL_TOKEN": tokens["ada"]}))
    frame = pl.read_parquet(flights_small).drop_nulls(FEATURES)
    records = [{name: row[name] for name in FEATURES} for row in frame.tail(200).to_dicts()]
    files = root / "files"
    files.mkdir()
    pl.concat([frame] * (500_000 // frame.height + 1)).head(500_000).write_parquet(files / "traffic.parquet")
    offline = root / "offline" / "home"
    shutil.copytree(home, offline)
    daemon = start_daemon(home, root / "daemon.log", env={"VIGIL_SERVING_REQUIRE_API_KEY": "true"})
    running = Lab(daemon, tokens, key, "", records, offline, files)
    try:
        scored = _quiet(["score", "delay", "--input", str(files / "traffic.parquet"), "--output",
                         str(home / "exports" / "traffic.scored.parquet"), "--json", "--home", str(home)],
                        {"VIGIL_TOKEN": tokens["otto"]})
        running.batch = json.loads(scored)["batch_id"]
        yield running
    finally:
        if running.daemon.process.poll() is None:  # the kill -9 test starts a second daemon
            running.daemon.stop()


def _feedback(lab: Lab, path: str, body: Any = None, raw: bytes | None = None,
              headers: dict[str, str] | None = None, key: str | None = "lab") -> tuple[int, Any]:
    sent = {"Authorization": f"Bearer {lab.key if key == 'lab' else key}"} if key else {}
    status, _, payload = lab.daemon.request("POST", path, body, raw=raw, headers={**sent, **(headers or {})},
                                            timeout=120)
    return status, json.loads(payload) if payload else None


def _predict(lab: Lab, model: str, request_id: str, rows: int = 3) -> None:
    status, answer = _feedback(lab, f"/v1/models/{model}/predict",
                               {"records": lab.records[:rows], "request_id": request_id})
    assert status == 200, answer


def _sql(lab: Lab, text: str) -> list[list[Any]]:
    status, _, payload = lab.daemon.request("POST", "/admin/v1/ops/sql", {"query": text},
                                            headers={"Authorization": f"Bearer {lab.tokens['ada']}"})
    assert status == 200, payload
    return list(json.loads(payload)["result"]["rows"])


def _labels(lab: Lab) -> int:
    return int(_sql(lab, "SELECT count(*) FROM feedback")[0][0])


def _fields(answer: Any) -> list[str]:
    return [e["field"] for e in answer["error"]["errors"]]


def _cli(args: list[str], token: str | None, home: Path) -> tuple[int, str, str]:
    """`vigil ARGS --home HOME` as its own process with VIGIL_TOKEN (exit code, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_TOKEN"} | ({"VIGIL_TOKEN": token} if token else {})
    done = subprocess.run([str(VIGIL), *args, "--home", str(home)], capture_output=True, text=True, timeout=120,
                          env=env)
    return done.returncode, done.stdout, done.stderr


def _one_line_error(code: int, err: str) -> str:
    assert code == 2 and err.count("\n") == 1 and err.startswith("vigil: error: ") and "Traceback" not in err, err
    return err


# --- who may write labels -------------------------------------------------------------------------------------


def test_feedback_needs_the_scoring_key_and_forged_identities_change_nothing(lab: Lab) -> None:
    _predict(lab, "delay", "who-1")
    body = {"request_id": "who-1", "label": True}
    forged = {"X-Vigil-User": "ada", "X-Forwarded-User": "ada", "X-Remote-User": "ada", "X-Vigil-Role": "admin"}
    admin_token = (lab.daemon.home / "admin.token").read_text().strip()
    for bearer in (None, lab.tokens["vera"], lab.tokens["ada"], admin_token, "vsk_forged"):
        assert _feedback(lab, DELAY, body, key=bearer, headers=forged)[0] == 401, bearer
    assert _labels(lab) == 0
    assert _feedback(lab, DELAY, body, headers=forged)[1]["counts"] == {"recorded": 1}


def test_labels_load_needs_the_operator_role_and_the_audit_names_the_real_caller(lab: Lab) -> None:
    _predict(lab, "delay", "who-2")
    pl.DataFrame({"request_id": ["who-2"] * 3, "row_index": [0, 1, 2], "label": [True, False, True]}).write_csv(
        lab.files / "who.csv")
    err = _one_line_error(*_cli(["labels", "load", str(lab.files / "who.csv")], lab.tokens["vera"],
                                lab.daemon.home)[::2])
    assert "vera (viewer) may not run 'labels_load'; it needs the operator role" in err
    forged = {"Authorization": f"Bearer {lab.tokens['vera']}", "X-Vigil-User": "ada", "X-Forwarded-User": "otto"}
    status, _, _ = lab.daemon.request("POST", "/admin/v1/ops/labels_load",
                                      {"file": str(lab.files / "who.csv"), "actor": "ada"}, headers=forged)
    assert status == 403
    status, _, _ = lab.daemon.request("POST", "/admin/v1/ops/labels_load", {"file": str(lab.files / "who.csv")},
                                      headers={"X-Vigil-User": "ada"})
    assert status == 401
    assert _sql(lab, "SELECT count(*) FROM feedback WHERE request_id = 'who-2'") == [[0]]
    code, out, err = _cli(["labels", "load", str(lab.files / "who.csv")], lab.tokens["otto"], lab.daemon.home)
    assert code == 0 and "3 recorded" in out, err
    assert _sql(lab, "SELECT actor, action, subject, after FROM audit_log WHERE action IN ('access.denied', "
                     "'labels.load') ORDER BY id") == [
        ["vera", "access.denied", "operation:labels_load", None],
        ["vera", "access.denied", "operation:labels_load", None],
        ["otto", "labels.load", "labels:delay", '{"recorded": 3}']]


# --- the feedback API -----------------------------------------------------------------------------------------


def test_a_hundred_thousand_labels_pass_one_more_is_refused_naming_the_limit(lab: Lab) -> None:
    items = [{"request_id": lab.batch, "row_index": i, "label": i % 4 == 0} for i in range(BIG)]
    before = _labels(lab)
    status, answer = _feedback(lab, DELAY, {"labels": [*items, {"request_id": lab.batch, "row_index": BIG,
                                                                "label": True}]})
    assert status == 413 and answer["error"]["errors"] == [
        {"field": "labels", "problem": "more than 100000 labels", "kind": "too_many_labels"}]
    assert "100001 labels in one call; the limit is 100000" in answer["error"]["message"]
    assert _labels(lab) == before
    status, answer = _feedback(lab, DELAY, {"labels": items})
    assert status == 200 and answer == {"counts": {"recorded": BIG}, "listed": "not_answered", "results": []}
    assert _sql(lab, f"SELECT count(*), sum(label_value)::INTEGER FROM feedback WHERE request_id = '{lab.batch}'") == [
        [BIG, BIG // 4]]


def test_bodies_beyond_the_feedback_limit_are_413_before_they_are_read(lab: Lab) -> None:
    address = urlsplit(lab.daemon.url)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    conn.putrequest("POST", DELAY)
    for name, value in (("Content-Type", "application/json"), ("Content-Length", str(32 * 2 ** 20 + 1)),
                        ("Authorization", f"Bearer {lab.key}")):
        conn.putheader(name, value)
    conn.endheaders()  # no body sent: the limit is checked on the declared length
    response = conn.getresponse()  # the server's hard cap, serving.max_feedback_body_bytes (32 MiB)
    assert response.status == 413 and b"exceeds max_body of 33554432" in response.read()
    conn.close()
    assert _feedback(lab, DELAY, {"request_id": "x", "label": True})[0] == 200  # the daemon serves on


def _hostile_bodies() -> list[tuple[str, bytes, str, str]]:
    """(what, body, the path it goes to, the field its 4xx names)."""
    label = '{"labels": [{"request_id": "hostile-1", "row_index": 0, "label": %s}]}'
    return [
        ("deep JSON", DEEP, DELAY, "(body)"),
        ("deep label", (label % ("[" * 70 + "]" * 70)).encode(), DELAY, "(body)"),
        ("surrogate request id", b'{"labels": [{"request_id": "x\\ud800", "label": true}]}', DELAY,
         "labels[0].request_id"),
        ("surrogate key", b'{"labels": [{"request_id": "hostile-1", "label": true, "\\ud800": 1}]}', DELAY,
         "labels[0].\\ud800"),
        ("surrogate label", (label % '"\\udfff"').encode(), DELAY, "labels[0].label"),
        ("NaN binary", (label % "NaN").encode(), DELAY, "labels[0].label"),
        ("NaN regression", (label % "NaN").encode(), MINUTES, "labels[0].label"),
        ("Infinity regression", (label % "Infinity").encode(), MINUTES, "labels[0].label"),
        ("-Infinity regression", (label % "-Infinity").encode(), MINUTES, "labels[0].label"),
        ("1e400 regression", (label % "1e400").encode(), MINUTES, "labels[0].label"),
        ("text regression", (label % '"5"').encode(), MINUTES, "labels[0].label"),
        ("bool regression", (label % "true").encode(), MINUTES, "labels[0].label"),
        ("number binary", (label % "1").encode(), DELAY, "labels[0].label"),
        ("float binary", (label % "1.0").encode(), DELAY, "labels[0].label"),
        ("TRUE binary", (label % '"TRUE"').encode(), DELAY, "labels[0].label"),
        ("null label", (label % "null").encode(), DELAY, "labels[0].label"),
        ("object label", (label % '{"a": 1}').encode(), DELAY, "labels[0].label"),
        ("NUL request id", b'{"labels": [{"request_id": "hostile-1\\u0000", "label": true}]}', DELAY,
         "labels[0].request_id"),
        ("negative row", b'{"labels": [{"request_id": "hostile-1", "row_index": -1, "label": true}]}', DELAY,
         "labels[0].row_index"),
        ("huge row", b'{"labels": [{"request_id": "hostile-1", "row_index": 4294967296, "label": true}]}', DELAY,
         "labels[0].row_index"),
        ("row as text", b'{"labels": [{"request_id": "hostile-1", "row_index": "0", "label": true}]}', DELAY,
         "labels[0].row_index"),
        ("unknown key", b'{"labels": [{"request_id": "hostile-1", "label": true, "model_name": "minutes"}]}', DELAY,
         "labels[0].model_name"),
    ]


def _event_time_bodies() -> list[tuple[str, bytes, str, str]]:
    body = '{"labels": [{"request_id": "hostile-1", "label": false, "event_time": %s}]}'
    hostile = ['"0000-01-01T00:00:00Z"', '"0001-01-01"', '"9999-12-31T23:59:59Z"', '"2016-01-01T00:00:00+25:00"',
               '"2016-01-01T00:00:00 Mars/Olympus"', '"2016-01-01T00:00:00Z[Europe/Paris]"', '"1456833600"',
               '"2016-02-30"', "-62135596800", "253402300799", "1e300", "NaN", "true", '""', '"now"', "[2016]"]
    return [(f"event_time {value}", (body % value).encode(), DELAY, "labels[0].event_time") for value in hostile]


@pytest.mark.parametrize(("what", "raw", "path", "field"), _hostile_bodies() + _event_time_bodies(),
                         ids=lambda value: value if isinstance(value, str) and len(value) < 50 else "")
def test_hostile_bodies_are_4xx_naming_the_field_and_record_nothing(lab: Lab, what: str, raw: bytes, path: str,
                                                                     field: str) -> None:
    if not _sql(lab, "SELECT count(*) FROM prediction_log WHERE request_id = 'hostile-1'")[0][0]:
        _predict(lab, "delay", "hostile-1")
        _predict(lab, "minutes", "hostile-1")  # the same id on both models: each label checked by its own model
    before = _labels(lab)
    status, answer = _feedback(lab, path, raw=raw)
    assert 400 <= status < 500 and field in _fields(answer), (what, status, answer)
    assert _labels(lab) == before


def test_labels_of_the_wrong_type_are_400_naming_each_and_record_nothing(lab: Lab) -> None:
    _predict(lab, "delay", "types-d", 5)
    _predict(lab, "minutes", "types-m", 5)
    binary = [True, 7, "maybe", False, 2.5]
    status, answer = _feedback(lab, DELAY, {"labels": [{"request_id": "types-d", "row_index": i, "label": v}
                                                       for i, v in enumerate(binary)]})
    assert status == 400 and answer["error"]["errors"] == [
        {"field": f"labels[{i}].label", "kind": "unknown_class",
         "problem": f"'{shown}' is not a class of this model; its classes are false, true"}
        for i, shown in ((1, "7"), (2, "maybe"), (4, "2.5"))]
    assert "(and 2 more bad label(s); nothing was recorded)" in answer["error"]["message"]
    regression = [1.5, "fast", True, -3, "7"]
    status, answer = _feedback(lab, MINUTES, {"labels": [{"request_id": "types-m", "row_index": i, "label": v}
                                                         for i, v in enumerate(regression)]})
    assert status == 400 and _fields(answer) == ["labels[1].label", "labels[2].label", "labels[4].label"]
    assert _sql(lab, "SELECT count(*) FROM feedback WHERE request_id LIKE 'types-%'") == [[0]]


def test_ids_never_predicted_or_predicted_by_another_model_are_not_recorded(lab: Lab) -> None:
    _predict(lab, "minutes", "theirs-1")
    _predict(lab, "delay", "ours-1", 2)
    status, answer = _feedback(lab, DELAY, {"labels": [
        {"request_id": "never-1", "label": True}, {"request_id": "theirs-1", "label": True},
        {"request_id": "ours-1", "row_index": 2, "label": True}, {"request_id": "ours-1", "label": True}]})
    assert status == 200 and answer["counts"] == {"recorded": 1, "unknown_request_id": 1, "unknown_row": 1,
                                                  "wrong_model": 1}
    assert [r.get("problem") for r in answer["results"]] == [
        None, "request was answered by model 'minutes'",
        "row 2 of the request was not answered (it has 2 answered row(s))", None]
    assert _sql(lab, "SELECT request_id FROM feedback WHERE request_id IN ('never-1', 'theirs-1', 'ours-1') "
                     "ORDER BY 1") == [["ours-1"]]


def test_a_reused_request_id_neither_breaks_labels_nor_lends_them_to_another_model(lab: Lab) -> None:
    _predict(lab, "delay", "retry-1")
    _predict(lab, "delay", "retry-1")  # a client's retry with the same id: two answers of each row
    status, answer = _feedback(lab, DELAY, {"labels": [{"request_id": "retry-1", "row_index": i, "label": i == 1}
                                                       for i in range(3)]})
    assert status == 200 and answer["counts"] == {"recorded": 3}, answer

    victim = [{"request_id": f"victim-{n}", "label": n % 2 == 0} for n in range(20)]
    for item in victim:
        _predict(lab, "delay", item["request_id"], 1)
    for item in victim[:10]:  # another model's client takes the victim's ids
        _predict(lab, "minutes", item["request_id"], 1)
    status, answer = _feedback(lab, MINUTES, {"labels": [{"request_id": item["request_id"], "label": 999.0}
                                                         for item in victim[:5]]})
    assert status == 200 and answer["counts"] == {"recorded": 5}
    status, answer = _feedback(lab, DELAY, {"labels": victim})
    assert status == 200 and answer["counts"] == {"recorded": 15, "wrong_model": 5}, answer
    assert answer["results"][0]["problem"] == ("the row's label belongs to model 'minutes' (its request id was "
                                               "answered by several models)")
    assert _sql(lab, "SELECT model_name, count(*), min(label_value), max(label_value) FROM feedback WHERE "
                     "request_id LIKE 'victim-%' GROUP BY 1 ORDER BY 1") == [["delay", 15, 0.0, 1.0],
                                                                             ["minutes", 5, 999.0, 999.0]]
    outcomes = _admin(lab, "vera", "outcomes", {"name": "minutes", "window": "1d"})["overall"]
    labelled_minutes = _sql(lab, "SELECT count(*) FROM prediction_log p JOIN feedback f USING (request_id, row_index, "
                                 "model_name) WHERE p.model_name = 'minutes'")[0][0]
    assert outcomes["labelled"] == labelled_minutes  # the 15 labels of `delay` on shared ids are not minutes' outcomes


def _admin(lab: Lab, who: str, name: str, args: dict[str, Any]) -> Any:
    status, _, payload = lab.daemon.request("POST", f"/admin/v1/ops/{name}", args,
                                            headers={"Authorization": f"Bearer {lab.tokens[who]}"})
    assert status == 200, payload
    return json.loads(payload)["result"]


def test_duplicates_follow_one_rule_at_both_doors(lab: Lab) -> None:
    _predict(lab, "delay", "dup-1", 2)
    status, answer = _feedback(lab, DELAY, {"labels": [{"request_id": "dup-1", "label": True},
                                                       {"request_id": "dup-1", "row_index": 0, "label": False}]})
    assert status == 400 and answer["error"]["errors"] == [{
        "field": "labels[1].request_id", "kind": "duplicate_label",
        "problem": "names the same request_id and row_index as an earlier label of this call"}]
    assert _feedback(lab, DELAY, {"labels": [{"request_id": "dup-1", "label": True}]})[1]["counts"] == {"recorded": 1}
    files = {"same": [("dup-1", 0, "true")], "changed": [("dup-1", 0, "false"), ("dup-1", 1, "true")],
             "twice": [("dup-1", 1, "true"), ("dup-1", 1, "false")]}
    for name, rows in files.items():
        (lab.files / f"dup-{name}.csv").write_text("request_id,row_index,label\n" + "".join(
            f"{r},{i},{v}\n" for r, i, v in rows))
    otto = lab.tokens["otto"]
    code, out, err = _cli(["labels", "load", str(lab.files / "dup-same.csv")], otto, lab.daemon.home)
    assert code == 0 and "1 unchanged" in out, err
    code, out, err = _cli(["labels", "load", str(lab.files / "dup-changed.csv")], otto, lab.daemon.home)
    assert code == 0 and "1 recorded, 1 updated" in out, err
    err = _one_line_error(*_cli(["labels", "load", str(lab.files / "dup-twice.csv")], otto, lab.daemon.home)[::2])
    assert "1 bad label(s), nothing loaded; label 2: names the same request_id and row_index" in err
    again = _feedback(lab, DELAY, {"labels": [{"request_id": "dup-1", "label": False},
                                              {"request_id": "dup-1", "row_index": 1, "label": False}]})[1]
    assert [r["status"] for r in again["results"]] == ["unchanged", "updated"]  # latest wins, whichever door
    assert _sql(lab, "SELECT row_index, label FROM feedback WHERE request_id = 'dup-1' ORDER BY 1") == [
        [0, "false"], [1, "false"]]


def test_a_hostile_client_never_fails_a_well_behaved_one(lab: Lab) -> None:
    good = [f"calm-{n}" for n in range(8)]
    for request_id in good:
        _predict(lab, "delay", request_id, 50)
    junk = [(raw, path) for _, raw, path, _ in _hostile_bodies()] + [(json.dumps({"labels": [
        {"request_id": "calm-0", "label": True}] * 3}).encode(), DELAY)]
    stop = threading.Event()
    hostile: list[int] = []

    def attack() -> None:
        while not stop.is_set():
            for raw, path in junk:
                hostile.append(_feedback(lab, path, raw=raw)[0])

    attacker = threading.Thread(target=attack)
    attacker.start()
    answers = []
    try:
        for rounds in range(2):
            for n, request_id in enumerate(good):
                answers.append(_feedback(lab, DELAY, {"labels": [{"request_id": request_id, "row_index": i,
                                                                  "label": (i + n) % 2 == 0} for i in range(50)]}))
    finally:
        stop.set()
        attacker.join()
    assert [status for status, _ in answers] == [200] * 16
    assert [a["counts"] for _, a in answers] == [{"recorded": 50}] * 8 + [{"unchanged": 50}] * 8
    assert hostile and all(400 <= status < 500 for status in hostile), sorted(set(hostile))


# --- label files ----------------------------------------------------------------------------------------------


def test_label_files_that_are_not_what_they_say_are_one_line_errors(lab: Lab) -> None:
    _predict(lab, "delay", "file-1")
    files, home, otto = lab.files, lab.daemon.home, lab.tokens["otto"]
    (files / "wrong.csv").write_text("request,label\nfile-1,true\n")
    (files / "token.csv").symlink_to(home / "admin.token")
    (files / "store.parquet").symlink_to(home / "vigil.duckdb")
    (files / "fake.parquet").write_text("request_id,label\nfile-1,true\n")
    (files / "escape.csv").write_bytes(b"request_id,label\nfile-1,\x1b[2Jtrue\x07\n")
    (files / "nul.csv").write_bytes(b"request_id,label\nfile-1,tr\x00ue\n")
    (files / "huge.csv").write_text("request_id,label\nfile-1," + "x" * (8 * 2 ** 20) + "\n")
    (files / "mixed.csv").write_text("request_id,row_index,label\nfile-1,0,false\nfile-1,1,7\nfile-1,2,true\n")
    (files / "surrogate.csv").write_bytes(b"request_id,label\nfile-1,\xed\xa0\x80\n")
    expected = {
        "wrong.csv": "wrong.csv: no column request_id (a label file has request_id and label",
        "token.csv": f"{home / 'admin.token'}: through the daemon, Vigil reads no file of its home for a caller",
        "store.parquet": f"{home / 'vigil.duckdb'}: through the daemon, Vigil reads no file of its home",
        "fake.parquet": "fake.parquet: cannot be read as parquet",
        "escape.csv": "escape.csv: 1 bad label(s), nothing loaded; label 1: '\\x1b[2Jtrue\\x07' is not a class",
        "nul.csv": "nul.csv: 1 bad label(s), nothing loaded; label 1: 'tr\\x00ue' is not a class",
        "huge.csv": "huge.csv: 1 bad label(s), nothing loaded; label 1: '" + "x" * 40 + "' is not a class",
        "mixed.csv": "mixed.csv: 1 bad label(s), nothing loaded; label 2: '7' is not a class",
        "surrogate.csv": "surrogate.csv: cannot be read as csv (invalid utf-8 sequence)",
    }
    for name, message in expected.items():
        err = _one_line_error(*_cli(["labels", "load", str(files / name), "--model", "delay"], otto, home)[::2])
        assert message in err and "\x1b" not in err and "\x00" not in err, (name, err)
    err = _one_line_error(*_cli(["labels", "load", str(home / "vigil.toml"), "--model", "delay"], otto, home)[::2])
    assert "reads no file of its home" in err
    assert _sql(lab, "SELECT count(*) FROM feedback WHERE request_id = 'file-1'") == [[0]]


def test_a_business_key_of_a_retried_request_labels_its_row_once(lab: Lab) -> None:
    record = {**lab.records[0], "distance": 4321.5}  # a distance no other answered row has
    for _ in range(2):  # the same request twice, same id
        status, answer = _feedback(lab, "/v1/models/delay/predict", {"records": [record], "request_id": "keyed-1"})
        assert status == 200, answer
    pl.DataFrame({"distance": [record["distance"]], "label": [True]}).write_csv(lab.files / "keyed.csv")
    code, out, err = _cli(["labels", "load", str(lab.files / "keyed.csv"), "--model", "delay", "--key", "distance",
                           "--json"], lab.tokens["otto"], lab.daemon.home)
    assert code == 0 and json.loads(out)["counts"] == {"recorded": 1}, err


def test_label_files_without_the_daemon_follow_the_same_rules(lab: Lab) -> None:
    home = lab.offline_home
    pl.read_parquet(lab.files / "traffic.parquet").head(20).write_parquet(lab.files / "offline-in.parquet")
    otto = lab.tokens["otto"]  # without the daemon, the OS account running the tests is no operator
    out = _quiet(["score", "delay", "--input", str(lab.files / "offline-in.parquet"), "--output",
                  str(lab.files / "offline-out.parquet"), "--json", "--home", str(home)], {"VIGIL_TOKEN": otto})
    batch = json.loads(out)["batch_id"]
    pl.DataFrame({"request_id": [batch] * 20, "row_index": list(range(20)),
                  "label": [True] * 19 + [None]}).write_parquet(lab.files / "offline-bad.parquet")
    pl.DataFrame({"request_id": [batch] * 20, "row_index": list(range(20)),
                  "label": [i % 2 == 0 for i in range(20)]}).write_parquet(lab.files / "offline.parquet")
    err = _one_line_error(*_cli(["labels", "load", str(lab.files / "offline-bad.parquet")], otto, home)[::2])
    assert "offline-bad.parquet: bad labels, nothing loaded: label 20 has no label" in err
    code, out, err = _cli(["labels", "load", str(lab.files / "offline.parquet")], otto, home)
    assert code == 0 and "20 recorded" in out, err
    with Store.open(home / "vigil.duckdb", read_only=True) as store:
        assert store.execute("SELECT count(*) FROM feedback") == [(20,)]
        assert store.execute("SELECT actor, subject FROM audit_log WHERE action = 'labels.load'") == [
            ("otto", "labels:delay")]


# --- the label feed's figures ---------------------------------------------------------------------------------


def test_the_label_feed_counts_only_the_models_own_labelled_rows(tmp_path: Path) -> None:
    now = datetime(2026, 1, 2, 12)
    answered = now - timedelta(hours=30)
    with Store.open(tmp_path / "vigil.duckdb") as store:
        migrations.apply(store)
        store.append_rows("prediction_log", ["request_id", "row_index", "logged_at", "model_name", "version", "route",
                                             "api", "latency_ms", "flags"],
                          [("shared", 0, answered, "a", 1, "champion", "native", 1.0, []),
                           ("shared", 0, answered, "b", 1, "champion", "native", 1.0, []),
                           ("own", 0, answered, "a", 1, "champion", "native", 1.0, []),
                           ("own", 0, answered, "a", 2, "shadow", "native", 1.0, [])])
        store.append_rows("feedback", ["request_id", "row_index", "model_name", "label", "label_value", "received_at"],
                          [("shared", 0, "b", "5", 5.0, now - timedelta(hours=1)),
                           ("ghost", 0, "a", "true", 1.0, now - timedelta(hours=1))])
        figures = lq.feed_figures(store, "a", now - timedelta(days=2), now - timedelta(days=1),
                                  now - timedelta(days=1), now)
    assert (figures["due"], figures["labelled"], figures["median_delay_s"]) == (2, 0, None)


# --- kill -9 --------------------------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_kill_minus_9_in_the_middle_of_a_load_keeps_all_or_nothing_and_every_acknowledged_label(lab: Lab) -> None:
    daemon, otto = lab.daemon, lab.tokens["otto"]
    for request_id in (f"ack-{n}" for n in range(40)):
        _predict(lab, "delay", request_id, 20)
    rows = pl.int_range(BIG, BIG + LOAD, eager=True)
    pl.DataFrame({"request_id": [lab.batch] * LOAD, "row_index": rows, "label": (rows % 3 == 0)}).write_parquet(
        lab.files / "big.parquet")
    before = _sql(lab, "SELECT count(*) FROM feedback")[0][0]
    acknowledged: list[str] = []
    stop = threading.Event()

    def label_meanwhile() -> None:
        for n in range(40):
            if stop.is_set():
                return
            try:
                status, _ = _feedback(lab, DELAY, {"labels": [{"request_id": f"ack-{n}", "row_index": i,
                                                               "label": i % 2 == 0} for i in range(20)]})
            except OSError:
                return
            if status == 200:
                acknowledged.append(f"ack-{n}")

    idle = _cpu_seconds(daemon.process.pid)
    loader = subprocess.Popen([str(VIGIL), "labels", "load", str(lab.files / "big.parquet"), "--home",
                               str(daemon.home)], env={**os.environ, "VIGIL_TOKEN": otto}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    labeller = threading.Thread(target=label_meanwhile)
    labeller.start()
    deadline = time.monotonic() + 30
    while _cpu_seconds(daemon.process.pid) < idle + 0.25 and loader.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    daemon.process.send_signal(signal.SIGKILL)  # the load is running (the daemon is busy with it) or just done
    daemon.process.wait(30)
    stop.set()
    labeller.join()
    out, err = loader.communicate(timeout=60)
    lab.daemon = start_daemon(daemon.home, daemon.log_path.with_name("again.log"),
                              env={"VIGIL_SERVING_REQUIRE_API_KEY": "true"})
    loaded = _sql(lab, f"SELECT count(*) FROM feedback WHERE request_id = '{lab.batch}' AND row_index >= {BIG}")[0][0]
    assert loaded in (0, LOAD), loaded
    if loader.returncode == 0:
        assert loaded == LOAD, out
    kept = {r[0]: r[1] for r in _sql(lab, "SELECT request_id, count(*) FROM feedback WHERE request_id LIKE 'ack-%' "
                                          "GROUP BY 1")}
    assert all(kept.get(request_id) == 20 for request_id in acknowledged), (acknowledged, kept)
    assert _sql(lab, "SELECT count(*) FROM feedback")[0][0] == before + loaded + sum(kept.values())
