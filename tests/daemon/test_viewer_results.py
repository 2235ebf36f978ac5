"""A viewer reads a model's stored drift, quality and outcome results, through the CLI and the admin API,
and cannot run a check that stores (403 / exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from appliance.core.identity import current_account
from daemon_support import start_daemon


def _token(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("vgu_"))


def test_a_viewer_reads_stored_results_and_cannot_run_a_storing_check(
        fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any], sample_records: list[dict[str, Any]]) -> None:
    assert vigil("users", "add", current_account(), "--role", "admin", "--home", fresh_home).code == 0
    viewer = _token(vigil("users", "add", "vera", "--role", "viewer", "--home", fresh_home).out)
    operator = _token(vigil("users", "add", "otto", "--role", "operator", "--home", fresh_home).out)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:50]})[0] == 200
        as_otto, as_vera = {"VIGIL_TOKEN": operator}, {"VIGIL_TOKEN": viewer}
        assert vigil("monitor", "run", "delay", "--window", "1h", "--home", fresh_home, env=as_otto).code == 0
        read = vigil("results", "delay", "--json", "--home", fresh_home, env=as_vera)
        assert read.code == 0, read.err
        stored = json.loads(read.out)
        assert stored["drift"]["run"]["current_rows"] == 50
        assert {f["feature"] for f in stored["drift"]["features"]} >= {"temp", "carrier", "(prediction)"}
        assert all(f["thresholds"]["judged_by"] == "fixed" for f in stored["drift"]["features"])
        assert {"quality", "system"} <= set(stored["monitor"]["observations"])
        shown = vigil("results", "delay", "--home", fresh_home, env=as_vera)
        assert shown.code == 0 and "judged by" in shown.out and "flagged_share" not in shown.err
        denied = vigil("drift", "delay", "--window", "1h", "--home", fresh_home, env=as_vera)
        assert denied.code == 2 and "vera (viewer) may not run 'drift'; it needs the operator role" in denied.err
        assert "Traceback" not in denied.err
        runs = lambda: daemon.request("POST", "/admin/v1/ops/results", {"name": "delay"},  # noqa: E731
                                      headers={"Authorization": f"Bearer {viewer}"})
        status, _, payload = runs()
        assert status == 200 and json.loads(payload)["result"]["drift"]["run"]["run_id"] == stored["drift"]["run"]["run_id"]
        for name, body in (("drift", {"name": "delay", "window": "1h"}), ("monitor_run", {"names": ["delay"]})):
            status, _, payload = daemon.request("POST", f"/admin/v1/ops/{name}", body,
                                                headers={"Authorization": f"Bearer {viewer}"})
            assert status == 403 and "operator role" in json.loads(payload)["error"]["message"]
        status, _, payload = daemon.request("POST", "/admin/v1/ops/sql",
                                            {"query": "SELECT count(*) FROM drift_runs"},
                                            headers={"Authorization": f"Bearer {operator}"})
        assert json.loads(payload)["result"]["rows"] == [[1]]  # the refused check stored nothing
    finally:
        daemon.stop()
