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
    assert report["volume"] == {"requests": 3, "rows": 63, "flagged_rows": 3, "usual_requests": 0.0}
    problems = " | ".join(report["problems"])
    assert "visib: 31.7% missing" in problems and "carrier: 3 rows with unknown category" in problems
    assert "1 requests rejected: wrong_type" in problems
    text = cli("quality", "delay", "--window", "1h", "--home", daemon.home).out
    assert "3 requests in the last 1h" in text and "problem(s)" in text


def test_system_health_per_minute(daemon: Daemon, sample_records, cli) -> None:
    for start in range(0, 60, 2):
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[start:start + 2]})[0] == 200
    assert daemon.post("/v1/models/delay/predict", {"records": [dict(sample_records[0], temp="hot")]})[0] == 400
    report = json.loads(cli("system", "delay", "--window", "15m", "--json", "--home", daemon.home).out)
    minutes = report["minutes"]
    assert sum(m["requests"] for m in minutes) == 30 and sum(m["rows"] for m in minutes) == 60
    assert sum(m["rejected"] for m in minutes) == 1
    answered = [m for m in minutes if m["requests"]]
    assert all(0 < m["p50_ms"] <= m["p95_ms"] <= m["p99_ms"] for m in answered)
    assert all(m["version"] == 1 for m in answered)
    total_errors = sum(m["rejected"] for m in minutes) / (30 + 1)
    assert any(m["error_rate"] > 0 for m in minutes) and total_errors == 1 / 31
    assert cli("system", "nope", "--home", daemon.home).code == 2
