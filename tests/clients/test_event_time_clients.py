"""Event times through every scoring door, sent as each protocol's own clients send them, on one daemon
whose model 'delay' names `happened_at` as its event-time column.

The native API's `event_time` and `event_times`, MLflow's `params.event_time` (through MLflow's own
ScoringServerClient and as JSON, CSV and Parquet bodies), the Open Inference Protocol's
`parameters.event_time` (through tritonclient) and the event-time column in each: what
`prediction_log.event_time` holds afterwards is exactly the UTC time sent, the column is never refused
as an extra one nor changes a prediction, and a shadow's rows carry the same times. Every bad form is
a 400 naming its field, logs nothing, and leaves a concurrent client's requests answered.
"""

from __future__ import annotations

import io
import json
import shutil
import threading
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from appliance.admin_client import call
from daemon_support import FEATURES, Daemon, start_daemon, wait_until

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]

COLUMN = "happened_at"
CATEGORICAL = ("carrier", "origin")
CONFIG = f'[serving.models.delay]\nevent_time_column = "{COLUMN}"\n'
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"


@pytest.fixture(scope="module")
def timed(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One daemon for this module: the served home, with `happened_at` as delay's event-time column."""
    root = tmp_path_factory.mktemp("event-time")
    home = root / "home"
    shutil.copytree(served_home, home)
    (home / "vigil.toml").write_text(CONFIG)
    running = start_daemon(home, root / "daemon.log")
    yield running
    if running.process.poll() is None:
        running.stop()


def _us(moment: datetime) -> int:
    """Microseconds since 1970 of a naive UTC time, as DuckDB's epoch_us gives them."""
    return round((moment - datetime(1970, 1, 1)).total_seconds() * 1_000_000)


def _stored(daemon: Daemon, where: str) -> list[list[Any]]:
    """(request_id, row_index, event_time as microseconds since 1970) of the answered rows `where` selects."""
    query = ("SELECT request_id, row_index, epoch_us(event_time) FROM prediction_log WHERE route <> 'shadow' "
             f"AND ({where}) ORDER BY request_id, row_index")
    return call(str(daemon.home), "sql", {"query": query})["rows"]


def _times(daemon: Daemon, request_id: str) -> list[int | None]:
    return [row[2] for row in _stored(daemon, f"request_id = '{request_id}'")]


def _native(daemon: Daemon, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = daemon.post("/v1/models/delay/predict", body)
    assert status == 200, answer
    return answer


def test_native_times_for_every_record_per_record_and_in_a_column(timed: Daemon, sample_records) -> None:
    records = sample_records[:3]
    plain = _native(timed, {"records": records, "request_id": "ev-none"})
    _native(timed, {"records": records, "request_id": "ev-all", "event_time": "2024-01-05T10:00:00+01:00"})
    _native(timed, {"records": records, "request_id": "ev-each",
                    "event_times": [1704067200.25, "2023-12-31T23:00:00-01:00", None]})
    columned = [{**records[0], COLUMN: "2024-02-01T08:30:00Z"}, {**records[1], COLUMN: 1706745600}, records[2]]
    answer = _native(timed, {"records": columned, "request_id": "ev-col"})
    assert answer["predictions"] == plain["predictions"] and "ignored_columns" not in answer
    assert answer["probabilities"] == plain["probabilities"]
    assert _times(timed, "ev-none") == [None, None, None]
    assert _times(timed, "ev-all") == [_us(datetime(2024, 1, 5, 9))] * 3
    assert _times(timed, "ev-each") == [_us(datetime(2024, 1, 1, 0, 0, 0, 250000)), _us(datetime(2024, 1, 1)), None]
    assert _times(timed, "ev-col") == [_us(datetime(2024, 2, 1, 8, 30)), _us(datetime(2024, 2, 1)), None]


def _scoring_client(daemon: Daemon) -> Any:
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    host, port = daemon.url.removeprefix("http://").split(":")
    return ScoringServerClient(host, int(port))


def test_mlflow_params_and_columns_through_mlflows_client_json_csv_and_parquet(timed: Daemon, sample_records) -> None:
    import pandas as pd
    import requests

    records = sample_records[:4]
    frame = pd.DataFrame(records)[FEATURES]
    client = _scoring_client(timed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = client.invoke(frame).get_predictions().iloc[:, 0].tolist()
        timed_by_param = client.invoke(frame, params={"event_time": "2011-03-04T05:06:07Z"})
        stamped = frame.assign(**{COLUMN: pd.to_datetime([f"2012-0{i + 1}-01T12:00:00+02:00" for i in range(4)])})
        by_column = client.invoke(stamped)
    assert timed_by_param.get_predictions().iloc[:, 0].tolist() == plain
    assert by_column.get_predictions().iloc[:, 0].tolist() == plain
    found = _stored(timed, "api = 'mlflow' AND year(event_time) IN (2011, 2012)")
    assert sorted(row[2] for row in found) == sorted(
        [_us(datetime(2011, 3, 4, 5, 6, 7))] * 4 + [_us(datetime(2012, i + 1, 1, 10)) for i in range(4)])

    url = f"{timed.url}/invocations"
    answered = requests.post(url, json={"dataframe_records": records, "params": {"event_time": 1325376000}},
                             headers={"X-Request-Id": "ml-rec"}, timeout=30)
    assert answered.status_code == 200 and answered.json()["predictions"] == plain
    csv = frame.assign(**{COLUMN: ["2013-01-01T00:00:00", "1357084800", "", "2013-01-04"]}).to_csv(index=False)
    answered = requests.post(url, data=csv, headers={"Content-Type": CSV, "X-Request-Id": "ml-csv"}, timeout=30)
    assert answered.status_code == 200 and answered.json()["predictions"] == plain
    parquet = io.BytesIO()
    frame.assign(**{COLUMN: pd.to_datetime(["2014-05-06T07:08:09.123456Z"] * 3 + [None], utc=True)}).to_parquet(parquet)
    answered = requests.post(url, data=parquet.getvalue(), headers={"Content-Type": PARQUET, "X-Request-Id": "ml-pq"},
                             timeout=30)
    assert answered.status_code == 200 and answered.json()["predictions"] == plain
    assert _times(timed, "ml-rec") == [_us(datetime(2012, 1, 1))] * 4
    assert _times(timed, "ml-csv") == [_us(datetime(2013, 1, 1)), _us(datetime(2013, 1, 2)), None,
                                       _us(datetime(2013, 1, 4))]
    assert _times(timed, "ml-pq") == [_us(datetime(2014, 5, 6, 7, 8, 9, 123456))] * 3 + [None]


def _triton_inputs(records: list[dict[str, Any]], event: tuple[str, Any] | None = None) -> list[Any]:
    import tritonclient.http as httpclient

    inputs = []
    for name in FEATURES:
        values = [r[name] for r in records]
        if name in CATEGORICAL:
            tensor = httpclient.InferInput(name, [len(records)], "BYTES")
            tensor.set_data_from_numpy(np.array([v.encode() for v in values], dtype=object))
        else:
            tensor = httpclient.InferInput(name, [len(records)], "FP64")
            tensor.set_data_from_numpy(np.array(values, dtype=np.float64))
        inputs.append(tensor)
    if event is not None:
        datatype, array = event
        tensor = httpclient.InferInput(COLUMN, [len(records)], datatype)
        tensor.set_data_from_numpy(array, binary_data=datatype != "INT64")  # INT64 as JSON data, the rest binary
        inputs.append(tensor)
    return inputs


def test_oip_parameters_and_event_time_tensors_through_tritonclient(timed: Daemon, sample_records) -> None:
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(url=timed.url.removeprefix("http://"))
    records = sample_records[:3]
    plain = _native(timed, {"records": records})["predictions"]
    texts = np.array([b"2015-06-01T00:00:00+09:00", b"2015-06-02", b"2015-06-03T12:00:00Z"], dtype=object)
    seconds = np.array([1433116800, 1433203200, 1433289600], dtype=np.int64)
    for request_id, kwargs in (("oip-param", {"parameters": {"event_time": 1433116800}}),
                               ("oip-text", {"event": ("BYTES", texts)}), ("oip-int", {"event": ("INT64", seconds)}),
                               ("oip-float", {"event": ("FP64", seconds.astype(np.float64) + 0.5)})):
        event = kwargs.get("event")
        result = client.infer("delay", _triton_inputs(records, event), request_id=request_id,
                              parameters=kwargs.get("parameters"))
        assert result.as_numpy("predict").tolist() == plain, request_id
        assert "parameters" not in result.get_response(), request_id  # nothing ignored: the tensor is no extra input
    day = [datetime(2015, 6, 1), datetime(2015, 6, 2), datetime(2015, 6, 3)]
    assert _times(timed, "oip-param") == [_us(day[0])] * 3
    assert _times(timed, "oip-text") == [_us(datetime(2015, 5, 31, 15)), _us(day[1]), _us(day[2] + timedelta(hours=12))]
    assert _times(timed, "oip-int") == [_us(d) for d in day]
    assert _times(timed, "oip-float") == [_us(d + timedelta(seconds=0.5)) for d in day]


def _errors(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The bad fields of an answer in any protocol's error shape (native, MLflow, Open Inference)."""
    if isinstance(answer.get("error"), dict):
        return answer["error"]["errors"]
    return answer["errors"]


def _bad_requests(records: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str], bytes, str]]:
    """(name, path, headers, body, the field the 400 must name) for every bad form of an event time."""
    import pandas as pd

    two = records[:2]
    later = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    ok = "2024-01-01T00:00:00Z"
    native = "/v1/models/delay/predict"
    frame = pd.DataFrame(two)[FEATURES]
    parquet = io.BytesIO()
    frame.assign(**{COLUMN: [True, False]}).to_parquet(parquet)
    tensors = [{"name": f, "shape": [2], "datatype": "BYTES" if f in CATEGORICAL else "FP64",
                "data": [r[f] for r in two]} for f in FEATURES]

    def body(value: Any) -> bytes:
        return json.dumps(value).encode()

    json_type = {"Content-Type": "application/json"}
    return [
        ("text", native, json_type, body({"records": two, "event_time": "yesterday"}), "event_time"),
        ("nan", native, json_type, b'{"records": ' + body(two) + b', "event_time": NaN}', "event_time"),
        ("infinity", native, json_type, b'{"records": ' + body(two) + b', "event_times": [1, -Infinity]}',
         "event_times[1]"),
        ("future", native, json_type, body({"records": two, "event_time": later}), "event_time"),
        ("1899", native, json_type, body({"records": two, "event_time": "1899-12-31T23:59:59"}), "event_time"),
        ("millis", native, json_type, body({"records": two, "event_time": 1704067200000}), "event_time"),
        ("boolean", native, json_type, body({"records": two, "event_times": [ok, True]}), "event_times[1]"),
        ("short", native, json_type, body({"records": two, "event_times": [ok]}), "event_times"),
        ("both", native, json_type, body({"records": two, "event_time": ok, "event_times": [ok, ok]}), "event_times"),
        ("column", native, json_type, body({"records": [two[0], {**two[1], COLUMN: "2024-13-01"}]}),
         f"records[1].{COLUMN}"),
        ("twice", native, json_type, body({"records": [{**r, COLUMN: ok} for r in two], "event_time": ok}),
         "event_time"),
        ("params", "/invocations", json_type, body({"dataframe_records": two, "params": {"event_time": "soon"}}),
         "params.event_time"),
        ("split", "/invocations", json_type, body({"dataframe_split": {
            "columns": [*FEATURES, COLUMN], "data": [[*(r[f] for f in FEATURES), t] for r, t in zip(two, [ok, 1e300])]}}),
         f"dataframe_split[1].{COLUMN}"),
        ("csv", "/invocations", {"Content-Type": CSV}, frame.assign(**{COLUMN: ["tomorrow", ok]}).to_csv(
            index=False).encode(), f"csv[0].{COLUMN}"),
        ("parquet", "/invocations", {"Content-Type": PARQUET}, parquet.getvalue(), f"parquet[0].{COLUMN}"),
        ("oip-parameter", "/v2/models/delay/infer", json_type, body({"inputs": tensors, "parameters": {
            "event_time": True}}), "parameters.event_time"),
        ("oip-fp32", "/v2/models/delay/infer", json_type, body({"inputs": [*tensors, {
            "name": COLUMN, "shape": [2], "datatype": "FP32", "data": [1.0, 2.0]}]}), f"inputs.{COLUMN}"),
        ("oip-text", "/v2/models/delay/infer", json_type, body({"inputs": [*tensors, {
            "name": COLUMN, "shape": [2], "datatype": "BYTES", "data": [ok, "2024-01-01T25:00"]}]}),
         f"inputs[1].{COLUMN}"),
    ]


def test_every_bad_event_time_is_a_400_naming_it_logs_nothing_and_spares_a_concurrent_client(
        timed: Daemon, sample_records) -> None:
    records = sample_records[:2]
    statuses: list[int] = []
    stop = threading.Event()

    def steady() -> None:
        while not stop.is_set():
            statuses.append(timed.post("/v1/models/delay/predict", {"records": records, "request_id": "steady",
                                                                    "event_time": "2024-01-01T00:00:00Z"})[0])

    before = _rejected(timed)
    neighbour = threading.Thread(target=steady)
    neighbour.start()
    try:
        for name, path, headers, raw, field in _bad_requests(sample_records):
            request_id = f"bad-{name}"
            if path.startswith("/v2/"):
                raw = json.dumps({**json.loads(raw), "id": request_id}).encode()
            status, _, answer = timed.request("POST", path, raw=raw, headers={**headers, "X-Request-Id": request_id})
            assert status == 400, (name, answer)
            named = [error["field"] for error in _errors(json.loads(answer))]
            assert field in named, (name, named)
    finally:
        stop.set()
        neighbour.join(30)
    assert statuses and set(statuses) == {200}
    assert _stored(timed, "request_id LIKE 'bad-%'") == []
    assert _rejected(timed) - before == len(_bad_requests(sample_records))  # each kept as a refused request


def _rejected(daemon: Daemon) -> int:
    return call(str(daemon.home), "sql", {"query": "SELECT count(*) FROM rejected_requests"})["rows"][0][0]


def test_a_shadows_rows_carry_the_answers_event_times_and_the_document_describes_them(
        timed: Daemon, sample_records) -> None:
    call(str(timed.home), "promote", {"name": "delay", "version": 2, "alias": "shadow", "reason": "test",
                                      "actor": "tester"})
    sent = [1704067200, "2024-01-01T06:00:00+06:00", None]
    _native(timed, {"records": sample_records[:3], "request_id": "ev-shadow", "event_times": sent})
    query = ("SELECT route, row_index, epoch_us(event_time) FROM prediction_log WHERE request_id = 'ev-shadow' "
             "ORDER BY route, row_index")
    rows = wait_until(lambda: (found := call(str(timed.home), "sql", {"query": query})["rows"]) and len(found) == 6
                      and found)
    midnight = _us(datetime(2024, 1, 1))
    assert rows == [["champion", 0, midnight], ["champion", 1, midnight], ["champion", 2, None],
                    ["shadow", 0, midnight], ["shadow", 1, midnight], ["shadow", 2, None]]
    status, raw = timed.get("/openapi.json")
    document = json.loads(raw)
    predict = document["components"]["schemas"]["PredictBody"]["properties"]
    assert {"event_time", "event_times"} <= set(predict)
    assert "ISO-8601" in json.dumps(predict["event_time"]) and "null" in json.dumps(predict["event_times"])
    invocations = document["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "event_time" in json.dumps(invocations)
