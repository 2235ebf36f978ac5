"""Attacks on the monitoring doors against one real `vigil up`: past periods (`vigil monitor run --from
--to --chunk`), `vigil history`, estimates and stored results, event times through other projects'
clients (MLflow, tritonclient, KServe), the release gate on estimated performance, the false-page
budget, and `kill -9` while a long past period is being written.

The cast: ada (admin), otto (operator), alice and bob (approvers), vera (viewer). The model `census`
(v1 champion, v2 registered) was trained on seeded 2015-2016 rows; `vigil history` of 2017-2018 is
scored once for the module. The daemon is killed and restarted by the last test only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest

from daemon_support import Daemon, op, start_daemon, token_of, wait_until
from daemon.test_past_periods import census_home
from support import VIGIL

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]

ROLES = {"ada": "admin", "otto": "operator", "alice": "approver", "bob": "approver", "vera": "viewer"}
PAST = {"names": ["census"], "start": "2017-01-01", "end": "2019-01-01"}
RECORD = {"age": 41.0, "hours": 38.5, "sector": "public"}
STORED = ("monitor_runs", "monitor_observations", "drift_runs", "estimate_runs", "prediction_log", "feedback",
          "aliases", "promotion_requests")


class Box:
    """The module's daemon (replaced when the last test restarts it), its tokens and files."""

    def __init__(self, daemon: Daemon, tokens: dict[str, str], root: Path) -> None:
        self.daemon, self.tokens, self.root = daemon, tokens, root

    def op(self, who: str, name: str, args: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return op(self.daemon, self.tokens.get(who, who), name, args, headers=headers)

    def sql(self, query: str) -> list[list[Any]]:
        status, found = self.op("ada", "sql", {"query": query})
        assert status == 200, found
        return [list(r) for r in found["rows"]]

    def counts(self) -> dict[str, int]:
        return {t: self.sql(f"SELECT count(*) FROM {t}")[0][0] for t in STORED}

    def cli(self, who: str | None, *args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "VIGIL_TOKEN"}
        if who is not None:
            env["VIGIL_TOKEN"] = self.tokens[who]
        return subprocess.run([str(VIGIL), *map(str, args), "--home", str(self.daemon.home)], capture_output=True,
                              text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    from appliance.cli.main import main

    root = tmp_path_factory.mktemp("monitoring-attacks")
    home = census_home(root)
    assert main(["train", "--spec", str(root / "spec.toml"), "--home", str(home), "--reason", "again"]) == 0
    tokens = _people(home)
    daemon = start_daemon(home, root / "daemon.log")
    found = Box(daemon, tokens, root)
    status, history = found.op("otto", "history", {
        "name": "census", "input": str(root / "history.pq"), "event_time_column": "period", "chunk": "1y",
        "output": str(home / "exports" / "history.parquet")})
    assert status == 200 and history["batch"]["scored"] == 2400, history
    yield found
    if found.daemon.process.poll() is None:
        found.daemon.stop()


def _people(home: Path) -> dict[str, str]:
    def add(name: str, role: str, token: str | None) -> str:
        env = {**os.environ, **({"VIGIL_TOKEN": token} if token else {})}
        done = subprocess.run([str(VIGIL), "users", "add", name, "--role", role, "--home", str(home)],
                              capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return token_of(done.stdout)

    tokens = {"ada": add("ada", "admin", None)}
    for name, role in ROLES.items():
        if name != "ada":
            tokens[name] = add(name, role, tokens["ada"])
    return tokens


# --- 1. who may read and who may write, on every door -------------------------------------------------

WRITERS = {"monitor_run": {**PAST, "chunk": "1y"},
           "estimate": {"name": "census", "start": "2017-01-01", "end": "2019-01-01", "chunk": "1y"},
           "history": {"name": "census", "input": "/nonexistent/history.pq", "event_time_column": "period"}}
READERS = {"results": {"name": "census"}, "estimates": {"name": "census"}}


def test_a_viewer_writes_no_monitoring_result_by_any_header(box: Box) -> None:
    who = "vera"
    before = box.counts()
    for name, args in WRITERS.items():
        for headers in ({}, {"X-Vigil-User": "ada"}, {"X-Forwarded-User": "otto"}, {"Remote-User": "ada"}):
            status, error = box.op(who, name, {**args, "actor": "ada"} if not headers else args, headers=headers)
            assert status in (403, 400), (name, headers, error)
            if status == 400:  # an `actor` argument is refused before the role check, naming the field
                assert "actor" in json.dumps(error), error
            else:
                assert who in error["message"] and "operator" in error["message"], error
    assert box.counts() == before
    denied = box.sql(f"SELECT DISTINCT actor FROM audit_log WHERE action = 'access.denied' AND actor = '{who}'")
    assert denied == [[who]]  # audited under the token's user, not a header's name
    done = box.cli(who, "monitor", "run", "census", "--from", "2017-01-01", "--chunk", "1y")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "operator" in done.stderr
    assert box.counts() == before


def test_no_token_an_unknown_one_or_a_forged_header_is_401(box: Box) -> None:
    before = box.counts()
    for token in ("", "vgu_forged", box.tokens["otto"] + "x"):
        for name, args in {**WRITERS, **READERS}.items():
            status, _, body = box.daemon.request("POST", f"/admin/v1/ops/{name}", args, headers={
                "X-Vigil-User": "ada", "X-Forwarded-User": "ada", **({"Authorization": f"Bearer {token}"}
                                                                     if token else {})})
            assert status == 401, (name, token, body)
    assert box.counts() == before


@pytest.mark.parametrize("who", ["vera", "alice", "otto", "ada"])
def test_every_role_reads_stored_results_and_estimates(box: Box, who: str) -> None:
    for name, args in READERS.items():
        status, found = box.op(who, name, args)
        assert status == 200 and found, (who, name, found)
    done = box.cli(who, "results", "census", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)
    assert box.cli(who, "estimates", "census").returncode == 0


def test_an_approver_and_an_operator_write_under_their_own_names_whatever_the_headers(box: Box) -> None:
    """Roles are ordered (viewer < operator < approver < admin): an approver may check a past period too."""
    marker = box.sql("SELECT max(id) FROM audit_log")[0][0]
    for who in ("otto", "alice"):
        status, found = box.op(who, "monitor_run", {**PAST, "chunk": "1y"},
                               headers={"X-Vigil-User": "ada", "X-Forwarded-User": "bob", "Remote-User": "ada"})
        assert status == 200 and [c["rows"] for c in found["chunks"]] == [1200, 1200]
        assert all(c["alerting"] is False and c["alerts"] == [] for c in found["checks"])  # the past pages no one
    forged = box.sql(f"SELECT count(*) FROM audit_log WHERE id > {marker} AND actor IN ('ada', 'bob')")
    assert forged == [[0]]
    scored = box.sql("SELECT DISTINCT actor FROM audit_log WHERE model_name = 'census' AND actor <> 'os-user' "
                     "AND action NOT LIKE 'access%' AND action NOT LIKE 'user%' AND action NOT LIKE 'train%' "
                     "AND action NOT LIKE 'promot%' AND action NOT LIKE 'alias%'")
    assert ["otto"] in scored and ["ada"] not in scored  # the module's `vigil history` ran as otto


# --- 1. hostile periods and chunks ---------------------------------------------------------------------

HOSTILE_ARGS = [  # (arguments, the field the 400 names, or a text of the one-line refusal)
    ({**PAST, "chunk": "0d"}, "chunk"), ({**PAST, "chunk": "-1d"}, "chunk"),
    ({**PAST, "chunk": "chunks:1000000000000"}, "chunk"), ({**PAST, "chunk": "rows:0"}, "chunk"),
    ({**PAST, "chunk": "1x"}, "chunk"), ({**PAST, "chunk": "P-1D"}, "chunk"), ({**PAST, "chunk": ""}, "chunk"),
    ({**PAST, "chunk": 7}, "chunk"), ({**PAST, "start": "0000-01-01"}, "start"),
    ({**PAST, "start": "2017-01-01T00:00+99:00"}, "start"), ({**PAST, "start": "last tuesday"}, "start"),
    ({**PAST, "start": 20170101}, "start"), ({**PAST, "end": "2019-01-01T00:00:00 Europe/Paris"}, "end"),
    ({**PAST, "start": "0001-01-01T00:00+05:00"}, "start"),  # an offset moving it before year 1: was a 500
    ({**PAST, "end": "9999-12-31T23:00-05:00"}, "end"),  # ... past year 9999: was a 500
    ({**PAST, "axis": "EVENT"}, "axis"), ({**PAST, "names": ["census'; DROP TABLE prediction_log;--"]},
                                          "no model named"),
    ({**PAST, "start": "2019-01-01", "end": "2017-01-01"}, "must be after --from"),
    ({**PAST, "start": "0001-01-01", "end": "9999-12-31", "chunk": "1y"}, "more than 5000"),
    ({**PAST, "start": "2017-01-01", "end": "2018-01-01", "chunk": "1m"}, "more than 5000"),
    ({"names": ["census"], "end": "2018-01-01"}, "--to needs --from"),
    ({**PAST, "names": ["census", "no-such-model"]}, "no-such-model"),  # the known first name was checked first
]


def test_hostile_periods_and_chunks_are_4xx_naming_the_field_and_store_nothing(box: Box) -> None:
    before = box.counts()
    for args, named in HOSTILE_ARGS:
        started = time.monotonic()
        status, error = box.op("otto", "monitor_run", args)
        assert 400 <= status < 500, (args, status, error)
        assert named in json.dumps(error), (args, error)
        assert time.monotonic() - started < 10, args
    for args, named in HOSTILE_ARGS[-9:-1]:  # estimates take the same times
        status, error = box.op("vera", "estimates", {"name": "census", "start": args.get("start", "2017-01-01"),
                                                     "end": args.get("end", "2019-01-01")})
        assert status < 500, (args, error)
    assert box.counts() == before
    status, _ = box.daemon.get("/healthz")
    assert status == 200


def test_a_period_at_the_calendars_edges_is_checked_not_a_500(box: Box) -> None:
    """Chunks whose next edge lies past year 9999 end with the period (each was a 500)."""
    for args in ({**PAST, "start": "9999-12-01", "end": "9999-12-31T23:59:59", "chunk": "1M"},
                 {**PAST, "start": "9999-12-27", "end": "9999-12-31T23:59:59", "chunk": "1w"},
                 {**PAST, "start": "9999-01-01", "end": "9999-12-31", "chunk": "1y"},
                 {**PAST, "start": "2017-01-01", "end": "2019-01-01", "chunk": "99999y"},
                 {**PAST, "start": "0001-01-01", "end": "0001-01-15", "chunk": "1w"}):
        status, found = box.op("otto", "monitor_run", args)
        assert status == 200, (args, found)
        assert found["chunks"][-1]["end"].startswith(args["end"][:10]), found["chunks"]
        assert all(c["rows"] == 0 for c in found["chunks"]) or args["start"] == "2017-01-01"
    status, found = box.op("otto", "monitor_run", {**PAST, "chunk": "99999y"})
    assert [(c["start"], c["end"], c["rows"]) for c in found["chunks"]] == [
        ("2017-01-01T00:00:00", "2019-01-01T00:00:00", 2400)]


def test_absurd_chunk_counts_are_bounded_by_the_rows_and_a_repeated_name_is_one_check(box: Box) -> None:
    for chunk in ("chunks:9999999999", "rows:1"):
        started = time.monotonic()
        status, found = box.op("otto", "monitor_run", {**PAST, "chunk": chunk})
        assert status == 200 and time.monotonic() - started < 30
        assert len(found["chunks"]) == 24 and sum(c["rows"] for c in found["chunks"]) == 2400  # month ties kept
    status, found = box.op("otto", "monitor_run", {**PAST, "names": ["census"] * 5000, "chunk": "1y"})
    assert status == 200 and len(found["chunks"]) == 2, len(found["chunks"])  # was 10,000 checks
    done = box.cli("otto", "monitor", "run", "census", "--from", "2017-01-01", "--to", "2018-01-01", "--chunk", "1m")
    assert done.returncode == 2 and "more than 5000" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_cli_mistakes_are_one_line_exit_2(box: Box) -> None:
    for args in (("monitor", "run", "census", "--from", "0001-01-01T00:00+05:00"),
                 ("monitor", "run", "census", "--from", "2017-01-01", "--chunk", "P-1D"),
                 ("history", "census", "--input", box.root / "history.pq", "--chunk", "rows:0"),
                 ("estimate", "census", "--from", "2017-01-01", "--to", "9999-12-31T23:00-05:00"),
                 ("estimates", "census", "--from", "2017-13-01")):
        done = box.cli("otto", *args)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
        assert "Traceback" not in done.stderr


# --- 2. the release gate on estimated performance -----------------------------------------------------

def test_a_batch_file_scored_with_the_candidate_does_not_feed_the_estimated_performance_gate(box: Box) -> None:
    """`vigil score --version 2` of a file an operator chose is not traffic: it must not decide the gate
    (before, the gate estimated v2 on the batch rows and could be moved by choosing them)."""
    status, scored = box.op("otto", "score", {"name": "census", "input": str(box.root / "history.pq"),
                                              "output": str(box.daemon.home / "exports" / "v2.parquet"),
                                              "version": 2})
    assert status == 200 and scored["scored"] == 2400
    status, request = box.op("otto", "promote", {"name": "census", "version": 2, "alias": "champion",
                                                 "reason": "estimated better"})
    assert status == 200, request
    gates = {g["gate"]: g for g in json.loads(json.dumps(request)).get("gates", [])} or _gates_of(box, request)
    gate = gates["estimated_performance"]
    assert gate["value"] is None and "not estimated" in gate["detail"], gate
    assert box.sql("SELECT version FROM aliases WHERE model_name = 'census' AND alias = 'champion'") == [[1]]
    status, error = box.op("otto", "approve", {"id": _request_id(request)})
    assert status == 403  # four-eyes: the requester cannot approve, and an operator is no approver
    status, error = box.op("ada", "approve", {"id": _request_id(request)}, headers={"X-Vigil-User": "bob"})
    assert status in (200, 400, 403, 409), error
    status, _ = box.op("alice", "reject", {"id": _request_id(request), "reason": "test"})
    assert box.sql("SELECT version FROM aliases WHERE model_name = 'census' AND alias = 'champion'")[0][0] in (1, 2)


def _request_id(request: dict[str, Any]) -> int:
    return int(request.get("request_id") or request.get("id") or request["request"]["request_id"])


def _gates_of(box: Box, request: dict[str, Any]) -> dict[str, Any]:
    rows = box.sql(f"SELECT gates FROM promotion_requests WHERE request_id = {_request_id(request)}")
    return {g["gate"]: g for g in json.loads(rows[0][0])}


def test_hostile_estimate_arguments_are_4xx(box: Box) -> None:
    before = box.counts()
    for args, field in (({"name": "census", "version": 0}, "version"), ({"name": "census", "version": "2"}, "version"),
                        ({"name": "census", "version": 2**40}, "version"), ({"name": "census", "window": "0d"}, "window"),
                        ({"name": "census", "window": "99999d"}, "window"),
                        ({"name": "x' OR 1=1 --"}, "no model named"), ({"name": "census", "chunk": "rows:-5"}, "chunk"),
                        ({"name": "census", "version": 99}, "99")):
        status, error = box.op("otto", "estimate", args)
        assert 400 <= status < 500 and field in json.dumps(error), (args, status, error)
    assert box.counts() == before


# --- 3. event times through other projects' clients ---------------------------------------------------

def _stored_times(box: Box, request_id: str) -> list[Any]:
    return [r[0] for r in box.sql("SELECT strftime(event_time, '%Y-%m-%dT%H:%M:%S') FROM prediction_log "
                                  f"WHERE request_id = '{request_id}' AND route <> 'shadow' ORDER BY row_index")]


def _oip_inputs(module: Any, rows: int) -> list[Any]:
    inputs = []
    for name in ("age", "hours", "sector"):
        tensor = module.InferInput(name, [rows], "BYTES" if name == "sector" else "FP64")
        values = [RECORD[name]] * rows
        tensor.set_data_from_numpy(np.array(values, dtype=object if name == "sector" else np.float64))
        inputs.append(tensor)
    return inputs


def test_event_times_through_tritonclient_kserve_and_mlflow_and_bad_ones_surface_as_errors(box: Box) -> None:
    import asyncio

    import httpx
    import pandas as pd
    import tritonclient.http as httpclient
    from kserve import InferInput, InferRequest
    from kserve.inference_client import InferenceRESTClient, RESTConfig
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient
    from tritonclient.utils import InferenceServerException

    url = box.daemon.url
    triton = httpclient.InferenceServerClient(url=url.removeprefix("http://"))
    triton.infer("census", _oip_inputs(httpclient, 3), request_id="tc-ok",
                 parameters={"event_time": "2017-05-01T12:00:00+02:00"})
    assert _stored_times(box, "tc-ok") == ["2017-05-01T10:00:00"] * 3
    for bad in (["2017-05-01"] * 3, "yesterday", 1e300, True, "2017-02-30", {"t": 1}):
        with pytest.raises(InferenceServerException) as refused:
            triton.infer("census", _oip_inputs(httpclient, 3), request_id="tc-bad",
                         parameters={"event_time": bad})
        assert "event_time" in str(refused.value) and "400" in str(refused.value.status()), bad

    async def kserve(event_time: Any, request_id: str) -> Any:
        client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
        try:
            request = InferRequest(model_name="census", infer_inputs=_oip_inputs(
                type("M", (), {"InferInput": InferInput}), 2), request_id=request_id,
                parameters={"event_time": event_time})
            return await client.infer(url, request, model_name="census")
        finally:
            await client.close()

    asyncio.run(kserve(1483228800, "ks-ok"))
    assert _stored_times(box, "ks-ok") == ["2017-01-01T00:00:00"] * 2
    for bad in ("never", -1e20, [1483228800, 1483228800]):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            asyncio.run(kserve(bad, "ks-bad"))
        assert refused.value.response.status_code == 400 and "event_time" in refused.value.response.text

    host, port = url.removeprefix("http://").split(":")
    mlflow = ScoringServerClient(host, int(port))
    frame = pd.DataFrame([RECORD] * 2)
    mlflow.invoke(frame, params={"event_time": "2018-03-04T05:06:07Z"})
    found = box.sql("SELECT count(*) FROM prediction_log WHERE api = 'mlflow' "
                    "AND event_time = TIMESTAMP '2018-03-04 05:06:07'")
    assert found == [[2]]
    for bad in ("soon", [1, 2], 10**30):
        with pytest.raises(Exception) as refused:
            mlflow.invoke(frame, params={"event_time": bad})
        assert "event_time" in str(refused.value), bad

    huge = {"records": [RECORD] * 3, "event_times": [1483228800] * 80_000, "request_id": "huge-times"}
    started = time.monotonic()
    status, error = box.daemon.post("/v1/models/census/predict", huge)
    assert status in (400, 413) and "event_times" in json.dumps(error) and time.monotonic() - started < 10
    assert box.sql("SELECT count(*) FROM prediction_log WHERE request_id IN ('tc-bad', 'ks-bad', 'huge-times')") \
        == [[0]]


# --- 5. the false-page budget: no door takes nonsense -------------------------------------------------

@pytest.mark.parametrize("value", ["0", "-1", "1e308", "nan", "inf", "1e-300", "0.001"])
def test_a_nonsense_false_page_budget_is_refused_by_the_file_and_the_environment(tmp_path: Path, value: str) -> None:
    from appliance.config import load_config
    from appliance.errors import ConfigError

    for text in (f"[monitoring]\nfalse_page_budget_days = {value}\n",
                 f"[monitoring.models.census]\nfalse_page_budget_days = {value}\n"):
        (tmp_path / "vigil.toml").write_text(text)
        with pytest.raises(ConfigError, match="false_page_budget_days"):
            load_config(tmp_path, {})
    (tmp_path / "vigil.toml").unlink()
    with pytest.raises(ConfigError, match="VIGIL_MONITORING_FALSE_PAGE_BUDGET_DAYS"):
        load_config(tmp_path, {"VIGIL_MONITORING_FALSE_PAGE_BUDGET_DAYS": value})
    shorter = value == "0.001"  # 1.44 minutes: shorter than one 15-minute check (every threshold was a 500)
    assert shorter or value in ("0", "-1", "1e308", "nan", "inf", "1e-300")


def test_a_budget_of_one_check_is_taken_and_no_operation_sets_one(tmp_path: Path) -> None:
    from appliance.config import load_config
    from appliance.operations import OPERATIONS

    (tmp_path / "vigil.toml").write_text("[jobs]\nmonitor_every = \"1h\"\n[monitoring]\nfalse_page_budget_days = 0.05\n")
    assert load_config(tmp_path, {}).monitoring.false_page_budget_days == 0.05
    (tmp_path / "vigil.toml").write_text("[jobs]\nmonitor_every = \"2h\"\n[monitoring]\nfalse_page_budget_days = 0.05\n")
    with pytest.raises(Exception, match="shorter than one monitoring check"):
        load_config(tmp_path, {})
    assert not [name for name in OPERATIONS if "config" in name or "budget" in name]


# --- 4. kill -9 while a long past period is written ---------------------------------------------------

def test_kill_minus_9_mid_past_period_leaves_whole_runs_and_the_run_repeats(box: Box) -> None:
    before = box.sql("SELECT coalesce(max(run_id), 0) FROM monitor_runs")[0][0]
    run = subprocess.Popen([str(VIGIL), "monitor", "run", "census", "--from", "2017-01-01", "--to", "2019-01-01",
                            "--chunk", "1d", "--home", str(box.daemon.home), "--json"],
                           env={**os.environ, "VIGIL_TOKEN": box.tokens["otto"]}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: box.sql(f"SELECT count(*) FROM monitor_runs WHERE run_id > {before}")[0][0] >= 20)
        box.daemon.process.send_signal(signal.SIGKILL)
        box.daemon.process.wait(30)
    finally:
        run.wait(60)
    assert run.returncode != 0  # the caller was not told it finished
    box.daemon = start_daemon(box.daemon.home, box.root / "daemon-after-kill.log")
    written = box.sql(f"SELECT run_id, window_start, drift_run_id FROM monitor_runs WHERE run_id > {before} "
                      "ORDER BY run_id")
    assert 20 <= len(written) < 730
    bare = box.sql(f"SELECT count(*) FROM monitor_runs r WHERE run_id > {before} AND drift_run_id IS NOT NULL "
                   "AND NOT EXISTS (SELECT 1 FROM monitor_observations o WHERE o.run_id = r.run_id)")
    assert bare == [[0]]  # every stored chunk with rows has its observations: no half-written chunk
    days = {r[1][:10] for r in written if r[2] is not None}
    assert days and all(day.endswith("-01") for day in days)  # rows fall on the first of each month
    dangling = box.sql(f"SELECT count(*) FROM monitor_runs r WHERE run_id > {before} AND drift_run_id IS NOT NULL "
                       "AND NOT EXISTS (SELECT 1 FROM drift_runs d WHERE d.run_id = r.drift_run_id)")
    assert dangling == [[0]]
    starts = [r[1] for r in written]
    assert starts == sorted(starts) and starts[0].startswith("2017-01-01")  # a prefix of the period, in order
    status, again = box.op("otto", "monitor_run", {**PAST, "chunk": "1M"})
    assert status == 200 and len(again["chunks"]) == 24
    assert sum(c["rows"] for c in again["chunks"]) == 2400 + 3 + 2 + 2  # and the clients' rows of 2017-2018
