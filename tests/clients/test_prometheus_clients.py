"""`/metrics` read by Prometheus's own tools after real traffic: `promtool check metrics` passes with
no warning, prometheus_client's parser reads exact counts, and clients making up model names grow
neither the series nor the store."""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.admin_client import call
from daemon_support import Daemon, start_daemon

ANSWERED = 7
FLOOD = 500
NOT_SERVED_LINE = "request(s) for models not served"


@pytest.fixture(scope="module")
def metrics_daemon(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A daemon of its own (the counts must be this module's traffic only), with v2 as shadow."""
    root = tmp_path_factory.mktemp("prometheus")
    shutil.copytree(served_home, root / "home")
    running = start_daemon(root / "home", root / "daemon.log")
    call(str(running.home), "promote", {"name": "delay", "version": 2, "alias": "shadow", "reason": "metrics",
                                        "actor": "tester"})
    yield running
    if running.process.poll() is None:
        running.stop()


def _promtool() -> str:
    found = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    assert found, "promtool is needed: `apt-get install prometheus` (make test does this)"
    return found


def _scrape(daemon: Daemon) -> str:
    status, body = daemon.get("/metrics")
    assert status == 200
    return body.decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _traffic(daemon: Daemon, records: list[dict[str, Any]]) -> None:
    """Answered, rejected (a served model's contract), and requests for a model not served."""
    for i in range(ANSWERED):
        assert daemon.post("/v1/models/delay/predict", {"records": records[i:i + 2]})[0] == 200
    assert daemon.post("/v1/models/delay/predict", {"records": [dict(records[0], temp="hot")]})[0] == 400
    assert daemon.post("/v1/models/nope/predict", {"records": records[:1]})[0] == 404
    assert daemon.post("/invocations", {"dataframe_records": records[:1]})[0] == 200


def test_promtool_checks_the_exposition_without_a_warning(metrics_daemon: Daemon, sample_records) -> None:
    _traffic(metrics_daemon, sample_records)
    checked = subprocess.run([_promtool(), "check", "metrics"], input=_scrape(metrics_daemon), text=True,
                             capture_output=True, timeout=60)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "", "")


def test_counts_are_exact_and_the_histogram_adds_up(metrics_daemon: Daemon, sample_records) -> None:
    before = _samples(_scrape(metrics_daemon))
    _traffic(metrics_daemon, sample_records)
    after = _samples(_scrape(metrics_daemon))

    def added(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    answered = dict(model="delay", version="1", route="champion", api="native", status="200")
    assert added("vigil_requests_total", **answered) == ANSWERED
    assert added("vigil_requests_total", **dict(answered, api="mlflow")) == 1
    assert added("vigil_predicted_rows_total", model="delay", version="1") == 2 * ANSWERED + 1
    assert added("vigil_rejected_requests_total", model="delay", api="native", reason="wrong_type") == 1
    assert added("vigil_rejected_requests_total", model="_unknown", api="native", reason="model_not_served") == 1
    series = dict(model="delay", route="champion")
    count = _value(after, "vigil_request_duration_seconds_count", **series)
    assert count == _value(after, "vigil_request_duration_seconds_bucket", le="+Inf", **series)
    assert count == sum(v for (name, labels), v in after.items() if name == "vigil_requests_total"
                        and ("model", "delay") in labels and ("route", "champion") in labels)
    loaded = {labels for name, labels in after if name == "vigil_loaded_versions"}
    assert loaded == {(("model", "delay"), ("version", "1")), (("model", "delay"), ("version", "2"))}


def _made_up(daemon: Daemon, i: int, records: list[dict[str, Any]]) -> int:
    """One request naming a model that does not exist, by each API, with a good or a bad body."""
    name = urllib.parse.quote(f"made-up-{i}" if i % 5 else f"evil\n{i}\"}} 1e9", safe="")
    if i % 3 == 0:
        return daemon.post(f"/v1/models/{name}/predict", {"records": records[:1]} if i % 2 else {"rows": 1})[0]
    if i % 3 == 1:
        return daemon.post(f"/v1/models/{name}/predict", {"dataframe_split": 7})[0]
    return daemon.post(f"/v2/models/{name}/infer", {"inputs": "none"})[0]


def test_made_up_model_names_add_no_series_and_no_rows(metrics_daemon: Daemon, sample_records) -> None:
    _traffic(metrics_daemon, sample_records)  # every series this traffic makes exists before the flood
    for i in range(FLOOD):
        _made_up(metrics_daemon, i, sample_records)
    rows_sql = "SELECT count(*) FROM rejected_requests"
    stored = call(str(metrics_daemon.home), "sql", {"query": rows_sql})["rows"][0][0]
    before_text, log_before = _scrape(metrics_daemon), metrics_daemon.output.count(NOT_SERVED_LINE)
    before = _samples(before_text)
    statuses = [_made_up(metrics_daemon, i, sample_records) for i in range(FLOOD, 2 * FLOOD)]
    after = _samples(_scrape(metrics_daemon))
    assert set(statuses) <= {400, 404} and 404 in statuses and 400 in statuses
    assert set(after) == set(before)  # not one new series
    unknown = sum(v for (name, labels), v in after.items()
                  if name == "vigil_rejected_requests_total" and ("model", "_unknown") in labels)
    assert unknown - sum(v for (name, labels), v in before.items()
                         if name == "vigil_rejected_requests_total" and ("model", "_unknown") in labels) == FLOOD
    assert call(str(metrics_daemon.home), "sql", {"query": rows_sql})["rows"][0][0] == stored
    assert metrics_daemon.output.count(NOT_SERVED_LINE) - log_before <= 1  # told, not once per request
    assert metrics_daemon.output.count(NOT_SERVED_LINE) >= 1
    assert "made-up" not in before_text and "evil" not in before_text
