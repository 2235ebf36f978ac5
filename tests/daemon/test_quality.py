"""Data quality of a model's traffic: missing values, flagged rows, rejections, volume."""

from __future__ import annotations

import json

from daemon_support import Daemon


def test_quality_names_each_problem(daemon: Daemon, sample_records, cli) -> None:
    clean = cli("quality", "delay", "--json", "--home", daemon.home)
    assert clean.code == 0 and json.loads(clean.out)["volume"]["requests"] == 0
    assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:40]})[0] == 200
    gaps = [dict(r, visib=None) for r in sample_records[40:60]]
    assert daemon.post("/v1/models/delay/predict", {"records": gaps})[0] == 200
    odd = [dict(r, carrier="ZZ") for r in sample_records[60:63]]
    assert daemon.post("/v1/models/delay/predict", {"records": odd})[0] == 200
    assert daemon.post("/v1/models/delay/predict", {"records": [dict(sample_records[0], temp="hot")]})[0] == 400
    result = cli("quality", "delay", "--window", "1h", "--json", "--home", daemon.home)
    report = json.loads(result.out)
    assert result.code == 1 and report["ok"] is False
    assert abs(report["missing_rates"]["visib"] - 20 / 63) < 1e-9 and report["missing_rates"]["temp"] == 0
    assert report["flags"] == {"unknown_category:carrier": 3}
    assert report["rejected"] == {"wrong_type": 1}
    assert report["volume"] == {"requests": 3, "usual_requests": 0.0}
    problems = " | ".join(report["problems"])
    assert "visib: 31.7% missing" in problems and "carrier: 3 rows with unknown category" in problems
    assert "1 requests rejected: wrong_type" in problems
    text = cli("quality", "delay", "--window", "1h", "--home", daemon.home).out
    assert "3 requests in the last 1h" in text and "problem(s)" in text
