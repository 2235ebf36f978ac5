"""One client's malformed requests never fail another client, and are 400s naming the field.

Against a real daemon: text the store cannot keep (lone surrogates, NUL, invalid UTF-8) sent among a
flood of valid requests; request ids outside the documented alphabet; numbers beyond their column's
type; JSON nested 100,000 deep — on the native, MLflow, Open Inference v2 and feedback APIs. And the
prediction log's writer on a real store: a row the store refuses fails only its own request.
"""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import polars as pl
import pytest

from appliance.contracts.features import Feature
from appliance.errors import StoreError
from appliance.core.inputs import Inputs
from appliance.serving.prediction_log import LogRecord, PredictionLog
from appliance.store import migrations
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store
from daemon_support import Daemon

PREDICT = "/v1/models/delay/predict"
DEEP = b"[" * 100_000 + b"]" * 100_000


def _post(daemon: Daemon, path: str, raw: bytes, headers: dict[str, Any] | None = None,
          connection: http.client.HTTPConnection | None = None) -> tuple[int, dict[str, str], Any]:
    """POST raw bytes (header values may be bytes, as a client may send them) and decode the JSON answer."""
    address = urlsplit(daemon.url)
    conn = connection or http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    conn.request("POST", path, body=raw, headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    payload = response.read()
    if connection is None:
        conn.close()
    return response.status, dict(response.getheaders()), json.loads(payload) if payload else None


def _fields(answer: dict[str, Any]) -> list[str]:
    errors = answer.get("errors") or answer.get("error", {}).get("errors") or []
    return [e["field"] for e in errors]


def _logged_after_stop(daemon: Daemon) -> list[str]:
    """Stop the daemon (it holds the store), then the request ids in the prediction log."""
    assert daemon.stop() == 0
    with Store.open(daemon.home / "vigil.duckdb", read_only=True) as store:
        return [row[0] for row in store.execute("SELECT request_id FROM prediction_log ORDER BY request_id")]


def _bad_bodies(record: dict[str, Any]) -> list[tuple[bytes, str]]:
    """(body, the field its 400 must name) for each kind of text the store cannot keep."""
    surrogate = json.dumps({"records": [dict(record, carrier="\ud800")]}).encode()
    nul = json.dumps({"records": [dict(record, origin="EWR\u0000")]}).encode()
    invalid_utf8 = json.dumps({"records": [dict(record, carrier="UA-MARK")]}).encode().replace(b"UA-MARK", b"UA\xff\xfe")
    in_key = json.dumps({"records": [{**record, "\udc80x": 1}]}).encode()
    request_id = json.dumps({"records": [record], "request_id": "\ud83d"}).encode()
    return [(surrogate, "records[0].carrier"), (nul, "records[0].origin"), (invalid_utf8, "records[0].carrier"),
            (in_key, "records[0].\\udc80x"), (request_id, "request_id")]


def test_bad_text_from_one_client_fails_none_of_the_others(daemon: Daemon, sample_records) -> None:
    valid = [json.dumps({"records": [sample_records[i % 100]], "request_id": f"flood-{i}"}).encode()
             for i in range(600)]
    bad = _bad_bodies(sample_records[0]) * 12
    work = [("valid", body, "") for body in valid]
    for position, (body, field) in enumerate(bad):  # spread the bad ones through the flood
        work.insert(position * len(valid) // len(bad), ("bad", body, field))
    local = threading.local()

    def send(item: tuple[str, bytes, str]) -> tuple[str, int, list[str], str]:
        if not hasattr(local, "connection"):
            address = urlsplit(daemon.url)
            local.connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        status, _, answer = _post(daemon, PREDICT, item[1], connection=local.connection)
        return item[0], status, _fields(answer or {}), item[2]

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(send, work))
    valid_statuses = [status for kind, status, _, _ in results if kind == "valid"]
    assert valid_statuses.count(200) == len(valid), {s: valid_statuses.count(s) for s in set(valid_statuses)}
    for kind, status, fields, expected in results:
        if kind == "bad":
            assert (status, fields) == (400, [expected])
    assert sorted(_logged_after_stop(daemon)) == sorted(f"flood-{i}" for i in range(len(valid)))


def test_a_row_the_store_refuses_fails_only_its_own_request(tmp_path: Path) -> None:
    with Store.open(tmp_path / "vigil.duckdb") as store:
        migrations.apply(store)
        features = [Feature("a", "numeric"), Feature("c", "categorical")]
        pq.ensure_inputs_table(store, "m", features)
        log = PredictionLog(store.cursor())

        def record(request_id: str, category: str) -> LogRecord:
            inputs = Inputs.from_polars(pl.DataFrame({"a": [1.0], "c": ["x"]}), features)
            inputs.categorical[0, 0] = category  # past the edge's checks, as a bug would let it
            return LogRecord(request_id, "m", 1, "champion", "native", np.ones(1), np.full(1, 0.5), 1.0, [[]], inputs)

        records = [record(f"ok-{i}", "x") for i in range(60)]
        records.insert(30, record("poisoned", "\ud800"))
        outcomes: dict[str, str] = {}
        start = threading.Barrier(len(records))

        def submit(one: LogRecord) -> None:
            start.wait()
            log.submit(one)
            try:
                log.wait(one)
                outcomes[one.request_id] = "committed"
            except StoreError:
                outcomes[one.request_id] = "failed"

        threads = [threading.Thread(target=submit, args=(r,)) for r in records]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        log.close()
        assert outcomes.pop("poisoned") == "failed"
        assert set(outcomes.values()) == {"committed"} and len(outcomes) == 60
        assert store.execute("SELECT count(*) FROM prediction_log WHERE request_id LIKE 'ok-%'") == [(60,)]
        assert store.execute("SELECT count(*) FROM prediction_log WHERE request_id = 'poisoned'") == [(0,)]
        assert store.execute("SELECT reason, status FROM rejected_requests WHERE request_id = 'poisoned'") == [
            ("log_write_failed", 500)]


@pytest.mark.parametrize("where", ["body", "header"])
def test_a_request_id_outside_the_alphabet_is_refused_before_logging(daemon: Daemon, sample_records,
                                                                     where: str) -> None:
    if where == "body":
        raw = json.dumps({"records": sample_records[:1], "request_id": "日本-order-1"}, ensure_ascii=False).encode()
        status, headers, answer = _post(daemon, PREDICT, raw)
        assert status == 400 and _fields(answer) == ["request_id"]
    else:
        raw = json.dumps({"records": sample_records[:1]}).encode()
        status, headers, answer = _post(daemon, PREDICT, raw, {"X-Request-Id": "日本-order-1".encode()})
        assert status == 400 and _fields(answer) == ["X-Request-Id"]
        status, _, answer = _post(daemon, "/invocations", json.dumps({"dataframe_records": sample_records[:1]}).encode(),
                                  {"X-Request-Id": "order 1;drop".encode()})
        assert status == 400 and _fields(answer) == ["X-Request-Id"]
    assert "A-Z, a-z, 0-9" in json.dumps(answer)
    long_id = json.dumps({"records": sample_records[:1], "request_id": "a" * 129}).encode()
    assert _post(daemon, PREDICT, long_id)[0] == 400
    ok = json.dumps({"records": sample_records[:1], "request_id": "order-17:retry.2_A"}).encode()
    status, headers, _ = _post(daemon, PREDICT, ok)
    assert status == 200 and headers["X-Request-Id"] == "order-17:retry.2_A"
    assert _logged_after_stop(daemon) == ["order-17:retry.2_A"]


def test_numbers_beyond_their_column_are_400s_naming_the_field(daemon: Daemon, sample_records) -> None:
    status, _, _ = _post(daemon, PREDICT, json.dumps({"records": sample_records[:1], "request_id": "fb-big"}).encode())
    assert status == 200
    for body, field in (({"request_id": "fb-big", "row_index": 2**31, "label": True}, "row_index"),
                        ({"labels": [{"request_id": "fb-big", "label": True},
                                     {"request_id": "fb-big", "row_index": 2**40, "label": True}]}, "labels[1].row_index")):
        status, _, answer = _post(daemon, "/v1/models/delay/feedback", json.dumps(body).encode())
        assert status == 400 and _fields(answer) == [field]
        assert not any(word in json.dumps(answer) for word in ("SELECT", "INSERT", "INTEGER", "Conversion"))
    huge = "9" * 400
    native = b'{"records": [' + json.dumps(sample_records[0]).encode().replace(
        f'"distance": {sample_records[0]["distance"]}'.encode(), b'"distance": ' + huge.encode()) + b']}'
    status, _, answer = _post(daemon, PREDICT, native)
    assert status == 400 and _fields(answer) == ["records[0].distance"]
    columns = list(sample_records[0])
    split = ('{"dataframe_split": {"columns": ' + json.dumps(columns) + ', "data": [[' +
             ", ".join(huge if c == "temp" else json.dumps(sample_records[0][c]) for c in columns) + "]]}}").encode()
    status, _, answer = _post(daemon, "/invocations", split)
    assert status == 400 and _fields(answer) == ["dataframe_split[0].temp"]
    inputs = [{"name": c, "shape": [1], "datatype": "BYTES" if isinstance(v, str) else "FP64", "data": [v]}
              for c, v in sample_records[0].items()]
    v2 = json.dumps({"inputs": inputs}).encode().replace(
        f'"data": [{sample_records[0]["visib"]}]'.encode(), b'"data": [' + huge.encode() + b"]")
    v2 = v2.replace(b'"name": "visib", "shape": [1], "datatype": "FP64"', b'"name": "visib", "shape": [1], "datatype": "INT64"')
    status, _, answer = _post(daemon, "/v2/models/delay/infer", v2)
    assert status == 400 and _fields(answer) == ["inputs.visib"]
    assert _post(daemon, PREDICT, json.dumps({"records": sample_records[:1]}).encode())[0] == 200


@pytest.mark.parametrize("path", [PREDICT, "/invocations", "/v2/models/delay/infer", "/v1/models/delay/feedback"])
def test_json_nested_100k_deep_is_a_400(daemon: Daemon, sample_records, path: str) -> None:
    status, _, answer = _post(daemon, path, DEEP)
    assert status == 400 and "nested deeper than 64" in json.dumps(answer)
    wrapped = b'{"records": ' + b"[" * 70 + json.dumps(sample_records[:1]).encode() + b"]" * 70 + b"}"
    assert _post(daemon, PREDICT, wrapped)[0] == 400
    assert _post(daemon, PREDICT, json.dumps({"records": sample_records[:1]}).encode())[0] == 200


def test_open_inference_text_tensors_are_checked_too(daemon: Daemon, sample_records) -> None:
    record = sample_records[0]
    names = list(record)
    header: dict[str, Any] = {"inputs": []}
    binary = b""
    for name in names:
        value = record[name]
        if isinstance(value, str):
            raw = (b"\xff\xfe" if name == "carrier" else value.encode())
            element = len(raw).to_bytes(4, "little") + raw
            header["inputs"].append({"name": name, "shape": [1], "datatype": "BYTES",
                                     "parameters": {"binary_data_size": len(element)}})
            binary += element
        else:
            header["inputs"].append({"name": name, "shape": [1], "datatype": "FP64", "data": [value]})
    head = json.dumps(header).encode()
    status, _, answer = _post(daemon, "/v2/models/delay/infer", head + binary,
                              {"Inference-Header-Content-Length": str(len(head))})
    assert status == 400 and _fields(answer) == ["inputs.carrier[0]"]
