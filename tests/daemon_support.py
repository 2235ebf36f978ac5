"""A real `vigil up` on a free loopback port, with a small real model as champion."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import polars as pl
import pytest

from support import SPEC, VIGIL

FEATURES = ["sched_dep_time", "distance", "temp", "wind_speed", "visib", "carrier", "origin"]
BAND_CLASSES = ["early", "late", "on_time"]
BAND_QUERY = """SELECT *, CASE WHEN arr_delay < 0 THEN 'early' WHEN arr_delay <= 15 THEN 'on_time' ELSE 'late' END
AS band FROM '{path}' WHERE arr_delay IS NOT NULL"""
BAND_SPEC = """\
model = "band"
task = "multiclass"
target = "band"
seed = 7

[source]
query = \"\"\"""" + BAND_QUERY + """\"\"\"

[features]
numeric = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
categorical = ["carrier", "origin"]
segments = ["origin"]

[fairness]
protected = ["origin"]

[split]
time_column = "time_hour"
holdout_fraction = 0.25

[estimator]
kind = "{estimator}"
params = {params}
"""  # a multiclass model: a flight's arrival band (early, on time or late), from the shipped flights


@dataclass
class Daemon:
    home: Path
    process: subprocess.Popen[str]
    url: str
    log_path: Path

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                raw: bytes | None = None, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, _, payload = self.request("POST", path, body, **kw)
        return status, json.loads(payload) if payload else None

    def get(self, path: str) -> tuple[int, bytes]:
        status, _, payload = self.request("GET", path)
        return status, payload

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)

    @property
    def output(self) -> str:
        return self.log_path.read_text()


def admin(daemon: Daemon, name: str, args: dict[str, Any]) -> Any:
    """Run an operation through the daemon's admin API (as the CLI does)."""
    from appliance.admin_client import call

    return call(str(daemon.home), name, {"actor": "tester", **args})


def wait_until(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll `check` every 0.2 s until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not reached in {timeout} s")


def start_daemon(home: Path, log_path: Path, env: dict[str, str] | None = None, timeout: float = 90) -> Daemon:
    state = home / "daemon.json"
    state.unlink(missing_ok=True)
    handle = log_path.open("w")
    process = subprocess.Popen([str(VIGIL), "up", "--home", str(home), "--port", "0"], stdout=handle,
                               stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vigil up exited with {process.returncode}: {log_path.read_text()}")
        try:
            info = json.loads(state.read_text())
        except (OSError, ValueError):
            time.sleep(0.05)
            continue
        daemon = Daemon(home, process, f"http://127.0.0.1:{info['port']}", log_path)
        status, _ = daemon.get("/healthz")
        if status == 200:
            return daemon
    process.kill()
    raise RuntimeError(f"vigil up did not start in {timeout} s: {log_path.read_text()}")


def record(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in FEATURES}


@pytest.fixture(scope="session")
def sample_records(flights_small: Path) -> list[dict[str, Any]]:
    """Real rows with every feature present, as a client would send them."""
    frame = pl.read_parquet(flights_small).drop_nulls(FEATURES)
    return [record(r) for r in frame.tail(200).to_dicts()]


@pytest.fixture(scope="session")
def served_home(tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> Path:
    """A home with model 'delay': v1 champion and v2 (a different seed) registered; trained once."""
    from appliance.cli.main import main

    root = tmp_path_factory.mktemp("served")
    home = root / "home"
    assert main(["init", "--home", str(home)]) == 0
    for seed in (7, 8):
        spec = root / f"spec{seed}.toml"
        spec.write_text(SPEC.format(model="delay", seed=seed, source=f'path = "{flights_small.as_posix()}"',
                                    estimator="hist_gradient_boosting", params="{ max_iter = 30 }"))
        assert main(["train", "--spec", str(spec), "--home", str(home)]) == 0
    assert main(["promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", str(home)]) == 0
    return home


@pytest.fixture
def fresh_home(served_home: Path, tmp_path: Path) -> Path:
    """A private copy of the served home, so a test may change it."""
    import shutil

    target = tmp_path / "home"
    shutil.copytree(served_home, target)
    return target


@pytest.fixture
def daemon(fresh_home: Path, tmp_path: Path) -> Iterator[Daemon]:
    running = start_daemon(fresh_home, tmp_path / "daemon.log")
    yield running
    if running.process.poll() is None:
        running.stop()


@pytest.fixture
def configured_daemon(fresh_home: Path, tmp_path: Path) -> Iterator[Callable[[str], Daemon]]:
    """Start a daemon after writing `vigil.toml` with the given text."""
    started: list[Daemon] = []

    def start(config: str) -> Daemon:
        (fresh_home / "vigil.toml").write_text(config)
        started.append(start_daemon(fresh_home, tmp_path / "daemon.log"))
        return started[-1]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.stop()


def add_people(home: Path, vigil: Callable[..., Any]) -> dict[str, str]:
    """ada (admin) is added while no user exists (bootstrap), then adds otto (operator), alice and bob
    (approvers); their tokens by name."""
    tokens = {"ada": token_of(vigil("users", "add", "ada", "--role", "admin", "--home", home).out)}
    for name, role in (("otto", "operator"), ("alice", "approver"), ("bob", "approver")):
        added = vigil("users", "add", name, "--role", role, "--home", home, env={"VIGIL_TOKEN": tokens["ada"]})
        tokens[name] = token_of(added.out)
    return tokens


def token_of(output: str) -> str:
    """The token `vigil users add` printed (shown once)."""
    return next(line for line in output.splitlines() if line.startswith("vgu_"))


def op(daemon: Daemon, token: str, name: str, args: Any, headers: dict[str, str] | None = None,
       raw: bytes | None = None) -> tuple[int, Any]:
    """An admin-API operation with a user's token: (HTTP status, its result or its error)."""
    status, _, payload = daemon.request("POST", f"/admin/v1/ops/{name}", args, raw=raw,
                                        headers={"Authorization": f"Bearer {token}", **(headers or {})})
    found = json.loads(payload)
    return status, found.get("result", found.get("error"))


BAND_LENIENT = {"VIGIL_PROMOTION_COMPARISON_TOLERANCE": "1", "VIGIL_PROMOTION_SEGMENT_REGRESSION_LIMIT": "1",
                "VIGIL_PROMOTION_MAX_COST_RATIO": "1000"}


@pytest.fixture(scope="session")
def band_trained_home(tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> Path:
    """A home with the multiclass model 'band': v1 (scikit-learn boosting) champion and v2, trained from
    the same spec on the same snapshot (so it answers as v1 does); trained once."""
    from appliance.cli.main import main

    root = tmp_path_factory.mktemp("band")
    home = root / "home"
    spec = root / "band.toml"
    spec.write_text(BAND_SPEC.format(path=flights_small.as_posix(), estimator="hist_gradient_boosting",
                                     params="{ max_iter = 30 }"))
    assert main(["init", "--home", str(home)]) == 0
    assert main(["train", "--spec", str(spec), "--home", str(home)]) == 0
    assert main(["promote", "band", "1", "--to", "champion", "--reason", "first", "--home", str(home)]) == 0
    assert main(["train", "--spec", str(spec), "--home", str(home), "--reason", "same data"]) == 0
    return home


@pytest.fixture
def band_home_copy(band_trained_home: Path, tmp_path: Path) -> Path:
    """A private copy of the multiclass home, so a test may change it."""
    import shutil

    target = tmp_path / "band-home"
    shutil.copytree(band_trained_home, target)
    return target
