"""Outcome performance from feedback labels, with coverage and delay, through the running daemon."""

from __future__ import annotations

import json

from daemon_support import Daemon


def test_outcomes_follow_the_labels(daemon: Daemon, sample_records, flights_small, cli) -> None:
    import polars as pl

    truth = pl.read_parquet(flights_small).drop_nulls(["sched_dep_time", "distance", "temp", "wind_speed", "visib",
                                                      "carrier", "origin"]).tail(200)["delayed"].to_list()
    answers = []
    for start in range(0, 200, 10):
        status, answer = daemon.post("/v1/models/delay/predict", {"records": sample_records[start:start + 10]})
        assert status == 200
        answers.append(answer)
    labels = [{"request_id": a["request_id"], "row_index": i, "label": truth[n * 10 + i]}
              for n, a in enumerate(answers[:15]) for i in range(10)]
    assert daemon.post("/v1/models/delay/feedback", {"labels": labels})[1]["counts"] == {"recorded": 150}
    result = cli("outcomes", "delay", "--window", "1h", "--bucket", "30m", "--json", "--home", daemon.home)
    report = json.loads(result.out)
    overall = report["overall"]
    assert result.code == 0 and (overall["answered"], overall["labelled"]) == (200, 150)
    assert overall["coverage"] == 0.75 and overall["label_delay_s"]["median"] >= 0
    predicted = [p for a in answers[:15] for p in a["predictions"]]
    expected_accuracy = sum(int(p == int(t)) for p, t in zip(predicted, truth[:150])) / 150
    assert abs(overall["metrics"]["accuracy"] - expected_accuracy) < 1e-12
    assert 0 <= overall["metrics"]["roc_auc"] <= 1 and 0 <= overall["metrics"]["brier"] <= 1
    assert len(report["buckets"]) == 2 and sum(b["answered"] for b in report["buckets"]) == 200
    assert report["versions"]["1"]["labelled"] == 150
    origins = {s["value"]: s for s in report["segments"] if s["column"] == "origin"}
    assert sum(s["answered"] for s in origins.values()) == 200
    text = cli("outcomes", "delay", "--window", "1h", "--bucket", "30m", "--home", daemon.home).out
    assert "150 labelled (coverage 75.0%)" in text
    assert cli("outcomes", "nope", "--home", daemon.home).code == 2


def test_audit_samples_show_what_a_biased_feedback_loop_hides(configured_daemon, sample_records, flights_small,
                                                              cli) -> None:
    """Half the requests are audit samples. Every audit sample gets its true label; of the others only
    those the model called delayed do (a loop where only flagged cases are checked): their accuracy
    looks different from the audit samples', and their coverage is lower."""
    import polars as pl

    daemon = configured_daemon("[serving]\naudit_sample_share = 0.5\n")
    truth = pl.read_parquet(flights_small).drop_nulls(["sched_dep_time", "distance", "temp", "wind_speed", "visib",
                                                      "carrier", "origin"]).tail(200)["delayed"].to_list()
    labels, marked = [], 0
    for i, record in enumerate(sample_records[:200]):
        status, answer = daemon.post("/v1/models/delay/predict", {"records": [record]})
        assert status == 200
        audit = answer.get("audit_sample", False)
        marked += audit
        if audit or answer["predictions"][0] == 1:
            labels.append({"request_id": answer["request_id"], "label": truth[i]})
    assert 60 < marked < 140  # about half, at random
    assert daemon.post("/v1/models/delay/feedback", {"labels": labels})[0] == 200
    report = json.loads(cli("outcomes", "delay", "--window", "1h", "--json", "--home", daemon.home).out)
    audit, other = report["audit_samples"], report["not_audit_samples"]
    assert audit["answered"] == marked and audit["coverage"] == 1.0
    assert other["answered"] == 200 - marked and other["coverage"] < 0.5
    assert audit["metrics"]["accuracy"] != (other.get("metrics") or {}).get("accuracy")
    text = cli("outcomes", "delay", "--window", "1h", "--home", daemon.home).out
    assert f"audit samples: {marked} answered, coverage 100.0%" in text
