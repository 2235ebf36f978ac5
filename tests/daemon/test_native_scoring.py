"""The native scoring API against a running daemon: answers, the log, and every kind of bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from daemon_support import Daemon


def _log(daemon: Daemon, sql: str) -> list[tuple[Any, ...]]:
    from appliance.cli.main import main  # noqa: F401 (the CLI is the way in while the daemon runs)
    from appliance.admin_client import call

    result = call(str(daemon.home), "sql", {"query": sql})
    return [tuple(r) for r in result["rows"]]


def test_predict_answers_and_logs_before_answering(daemon: Daemon, sample_records) -> None:
    status, headers, body = daemon.request("POST", "/v1/models/delay/predict",
                                           {"records": sample_records[:4], "request_id": "req-1"})
    answer = json.loads(body)
    assert status == 200 and headers["X-Model-Version"] == "1" and headers["X-Request-Id"] == "req-1"
    assert answer["model"] == "delay" and answer["version"] == 1 and answer["route"] == "champion"
    assert answer["request_id"] == "req-1" and answer["positive_class"] == "true"
    assert len(answer["predictions"]) == 4 and set(answer["predictions"]) <= {0, 1}
    assert all(0 <= p <= 1 for p in answer["probabilities"])
    logged = _log(daemon, "SELECT row_index, version, route, api, score FROM prediction_log "
                          "WHERE request_id = 'req-1' ORDER BY row_index")
    assert [(r[0], r[1], r[2], r[3]) for r in logged] == [(i, 1, "champion", "native") for i in range(4)]
    assert [round(r[4], 9) for r in logged] == [round(p, 9) for p in answer["probabilities"]]
    inputs = _log(daemon, "SELECT distance, carrier FROM prediction_inputs__delay WHERE request_id = 'req-1' "
                          "ORDER BY row_index")
    assert inputs == [(float(r["distance"]), r["carrier"]) for r in sample_records[:4]]


def test_answers_match_the_model_in_process(daemon: Daemon, sample_records) -> None:
    import polars as pl

    from appliance.contracts.features import features_from_json, model_input
    from appliance.artifacts.model_files import load_verified

    path, sha, features = _log(daemon, "SELECT a.path, a.sha256, v.features FROM model_versions v "
                                       "JOIN artifacts a ON a.sha256 = v.artifact_sha256 WHERE version = 1")[0]
    model = load_verified(daemon.home / path, sha, "v1")
    frame = model_input(pl.DataFrame(sample_records[:20]), features_from_json(json.loads(features)))
    expected = model.predict_proba(frame)[:, 1]
    answer = daemon.post("/v1/models/delay/predict", {"records": sample_records[:20]})[1]
    assert answer["probabilities"] == pytest.approx(list(expected), abs=1e-12)  # (answers are rounded to 1e-12)
    assert ["delay", 1, "plan"] in _status(daemon)["loaded"]


def _status(daemon: Daemon) -> dict[str, Any]:
    token = (daemon.home / "admin.token").read_text().strip()
    status, _, body = daemon.request("GET", "/admin/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    return dict(json.loads(body))


def test_a_missing_plan_is_compiled_again_from_the_artifact(fresh_home, tmp_path, sample_records) -> None:
    from daemon_support import start_daemon
    from tests.support import query

    plans = query(fresh_home, "SELECT plan_path FROM scoring_plans")
    assert len(plans) == 2  # one per registered version, made at training
    for path in {p for (p,) in plans}:  # (identical plans share one file)
        (fresh_home / str(path)).unlink()
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        assert ["delay", 1, "plan"] in _status(daemon)["loaded"]
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:3]})[0] == 200
        (path,) = _log(daemon, "SELECT p.plan_path FROM scoring_plans p JOIN model_versions v "
                               "USING (artifact_sha256) WHERE v.version = 1")[0]
        assert (fresh_home / str(path)).exists()
    finally:
        daemon.stop()


BAD = {
    "invalid json": (b'{"records": [', 400, "invalid_json", "(body)"),
    "not an object": (b'[1, 2]', 400, "invalid_body", "(body)"),
    "no records": (b'{"rows": []}', 400, "invalid_body", "rows"),
    "empty records": (b'{"records": []}', 400, "invalid_body", "records"),
}


@pytest.mark.parametrize("case", BAD)
def test_malformed_bodies(case: str, daemon: Daemon) -> None:
    raw, status, kind, field = BAD[case]
    code, _, body = daemon.request("POST", "/v1/models/delay/predict", raw=raw)
    error = json.loads(body)["error"]
    assert code == status and error["errors"][0]["kind"] == kind and error["errors"][0]["field"] == field


def _broken(sample: dict[str, Any], **changes: Any) -> dict[str, Any]:
    record = dict(sample)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return record


def test_each_bad_field_is_named_and_nothing_is_logged(daemon: Daemon, sample_records) -> None:
    good = sample_records[0]
    records = [
        _broken(good, distance="far"),          # text for a number
        _broken(good, temp=True),               # boolean for a number
        _broken(good, carrier=3.5),             # float for a category
        _broken(good, visib=...),               # missing column
        _broken(good, colour="red"),            # extra column
    ]
    status, answer = daemon.post("/v1/models/delay/predict", {"records": records, "request_id": "bad-1"})
    assert status == 400
    found = {(e["field"], e["kind"]) for e in answer["error"]["errors"]}
    assert found == {("records[3].visib", "missing_column"), ("records[4].colour", "extra_column")}
    status, answer = daemon.post("/v1/models/delay/predict", {"records": records[:3], "request_id": "bad-2"})
    found = {(e["field"], e["kind"]) for e in answer["error"]["errors"]}
    assert status == 400 and found == {("records[0].distance", "wrong_type"), ("records[1].temp", "wrong_type"),
                                       ("records[2].carrier", "wrong_type")}
    assert _log(daemon, "SELECT count(*) FROM prediction_log WHERE request_id LIKE 'bad-%'") == [(0,)]
    kinds = _log(daemon, "SELECT reason, status FROM rejected_requests ORDER BY received_at")
    assert kinds == [("missing_column", 400), ("wrong_type", 400)]


def test_nan_and_infinity_are_refused(daemon: Daemon, sample_records) -> None:
    body = json.dumps({"records": [sample_records[0]]}).replace(str(sample_records[0]["temp"]), "NaN", 1)
    status, _, payload = daemon.request("POST", "/v1/models/delay/predict", raw=body.encode())
    assert status == 400 and json.loads(payload)["error"]["errors"][0]["kind"] == "not_finite"
    body = body.replace("NaN", "Infinity")
    status, _, payload = daemon.request("POST", "/v1/models/delay/predict", raw=body.encode())
    assert status == 400 and json.loads(payload)["error"]["errors"][0]["field"] == "records[0].temp"


def test_unknown_category_is_flagged_by_default(daemon: Daemon, sample_records) -> None:
    status, answer = daemon.post("/v1/models/delay/predict",
                                 {"records": [_broken(sample_records[0], carrier="ZZ")], "request_id": "flag-1"})
    assert status == 200 and answer["flags"] == [["unknown_category:carrier"]]
    assert _log(daemon, "SELECT flags FROM prediction_log WHERE request_id = 'flag-1'") == [
        (["unknown_category:carrier"],)]


def test_unknown_category_rejected_by_model_policy(configured_daemon, sample_records) -> None:
    daemon = configured_daemon('[serving.models.delay]\nunknown_category = "reject"\n')
    status, answer = daemon.post("/v1/models/delay/predict", {"records": [_broken(sample_records[0], carrier="ZZ")]})
    assert status == 400
    assert answer["error"]["errors"] == [{"field": "records[0].carrier", "problem": "unknown category 'ZZ'",
                                          "kind": "unknown_category"}]


def test_limits_rows_body_and_unknown_model(configured_daemon, sample_records) -> None:
    daemon = configured_daemon("[serving]\nmax_rows = 5\nmax_body_bytes = 4096\n")
    status, answer = daemon.post("/v1/models/delay/predict", {"records": sample_records[:6]})
    assert status == 413 and answer["error"]["errors"][0]["kind"] == "too_many_rows"
    status, answer = daemon.post("/v1/models/delay/predict", {"records": sample_records[:5],
                                                              "request_id": "x" * 5000})
    assert status == 413 and answer["error"]["errors"][0]["kind"] == "body_too_large"
    status, answer = daemon.post("/v1/models/nope/predict", {"records": sample_records[:1]})
    assert status == 404 and "not served" in answer["error"]["message"]
    status, _ = daemon.post("/v1/models/delay/nothing", {})
    assert status == 404
    status, _, _ = daemon.request("GET", "/v1/models/delay/predict")
    assert status == 405


def test_openapi_describes_the_native_api(daemon: Daemon) -> None:
    status, body = daemon.get("/openapi.json")
    document = json.loads(body)
    assert status == 200 and document["openapi"].startswith("3.")
    assert {"/v1/models/{name}/predict", "/v1/models/{name}/feedback"} <= set(document["paths"])
    schema = document["paths"]["/v1/models/{name}/predict"]["post"]["requestBody"]["content"]["application/json"]
    assert schema["schema"]["anyOf"][0] == {"$ref": "#/components/schemas/PredictBody"}
    predict = document["components"]["schemas"]["PredictBody"]
    assert predict["required"] == ["records"] and predict["properties"]["records"]["maxItems"] == 1000
    label = document["components"]["schemas"]["Label"]["properties"]
    assert label["row_index"]["maximum"] == 2**31 - 1 and label["request_id"]["minLength"] == 1
    assert "/admin/v1/ops/promote" in document["paths"] and "/v2/models/{name}/infer" in document["paths"]


def test_explain_request_reproduces_a_logged_answer(daemon: Daemon, sample_records) -> None:
    from appliance.admin_client import call
    from appliance.errors import VigilError

    status, answer = daemon.post("/v1/models/delay/predict", {"records": sample_records[:3], "request_id": "why-1"})
    assert status == 200
    explained = call(str(daemon.home), "explain_request", {"request_id": "why-1"})
    assert explained["model"] == "delay" and explained["version"] == 1 and explained["route"] == "champion"
    assert explained["matches"] is True and [r["matches"] for r in explained["rows"]] == [True] * 3
    assert [round(r["score"], 12) for r in explained["rows"]] == answer["probabilities"]
    assert explained["rows"][1]["inputs"]["carrier"] == sample_records[1]["carrier"]
    assert len(explained["trained"]["snapshot_id"]) == 64
    why = explained["rows"][0]["explanation"]
    assert set(why["contributions"]) == set(explained["rows"][0]["inputs"]) and why["scale"] == "probability"
    assert why["method"].startswith("model-agnostic") and abs(why["output"] - explained["rows"][0]["score"]) < 1e-12
    # a feature already at its reference value contributes nothing
    references = explained["references"]
    at_reference = {**sample_records[0], "distance": references["distance"]}
    assert daemon.post("/v1/models/delay/predict", {"records": [at_reference], "request_id": "why-2"})[0] == 200
    again = call(str(daemon.home), "explain_request", {"request_id": "why-2"})["rows"][0]["explanation"]
    assert again["contributions"]["distance"] == 0.0 and any(v != 0.0 for v in again["contributions"].values())
    with pytest.raises(VigilError, match="no logged prediction with request_id 'nope'"):
        call(str(daemon.home), "explain_request", {"request_id": "nope"})


def test_predict_cpu_time_is_counted_and_stored_at_shutdown(daemon: Daemon, sample_records) -> None:
    from support import query

    for i in range(10):
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[i:i + 3]})[0] == 200
    from prometheus_client.parser import text_string_to_metric_families

    status, body = daemon.get("/metrics")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    version_1 = (("model", "delay"), ("version", "1"))
    assert status == 200 and samples[("vigil_predicted_rows_total", version_1)] == 30
    cpu = samples[("vigil_predict_cpu_seconds_total", version_1)]
    assert cpu > 0
    assert daemon.stop() == 0
    [(rows, stored)] = query(daemon.home, "SELECT serving_rows, serving_cpu_s FROM version_costs WHERE version = 1")
    assert rows == 30 and abs(stored - cpu) < 1e-5
