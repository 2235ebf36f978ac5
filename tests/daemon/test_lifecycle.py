"""`vigil up`: one owner of the store, health and readiness, CLI through the admin API, clean stop."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from daemon_support import Daemon
from support import query


def test_second_daemon_names_the_first(daemon: Daemon, vigil) -> None:
    result = vigil("up", "--home", daemon.home, "--port", "0")
    assert result.code == 2
    assert f"in use by process {daemon.process.pid}" in result.err


def test_health_and_readiness(daemon: Daemon) -> None:
    assert daemon.get("/healthz") == (200, b'{"alive": true}')
    status, body = daemon.get("/readyz")
    assert status == 200 and json.loads(body) == {"ready": True, "models": ["delay"]}
    assert daemon.get("/v2/health/live")[0] == 200 and daemon.get("/v2/health/ready")[0] == 200


def test_cli_goes_through_the_daemon(daemon: Daemon, cli) -> None:
    models = json.loads(cli("models", "--json", "--home", daemon.home).out)
    assert [(m["name"], m["champion"]) for m in models] == [("delay", 1)]
    shown = json.loads(cli("show", "delay", "2", "--json", "--home", daemon.home).out)
    assert shown["version"] == 2 and shown["snapshot"]["rows"] > 0
    assert cli("sql", "SELECT count(*) AS n FROM model_versions", "--format", "csv", "--home", daemon.home).out \
        == "n\n2\n"
    refused = cli("sql", "DELETE FROM models", "--home", daemon.home)
    assert refused.code == 2 and "read-only" in refused.err
    bad = cli("sql", "SELECT nope FROM models", "--home", daemon.home)
    assert bad.code == 2 and "query failed" in bad.err
    missing = cli("show", "delay", "9", "--home", daemon.home)
    assert missing.code == 2 and "has no version 9" in missing.err
    migrate = cli("migrate", "--home", daemon.home)
    assert migrate.code == 2 and "stop it, then run `vigil migrate`" in migrate.err


def test_promote_through_the_daemon_changes_what_answers(daemon: Daemon, cli, sample_records) -> None:
    assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:1]})[1]["version"] == 1
    result = cli("promote", "delay", "2", "--to", "champion", "--reason", "better", "--home", daemon.home)
    assert result.code == 0 and result.out.startswith("delay: champion v1 -> v2 (request ")
    assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:1]})[1]["version"] == 2


def test_sigterm_stops_cleanly_and_keeps_the_log(daemon: Daemon, sample_records) -> None:
    status, answer = daemon.post("/v1/models/delay/predict", {"records": sample_records[:3], "request_id": "kept"})
    assert status == 200
    assert daemon.stop(signal.SIGTERM) == 0
    assert "stopped cleanly" in daemon.output
    assert not (daemon.home / "daemon.json").exists()
    assert query(daemon.home, "SELECT count(*) FROM prediction_log WHERE request_id = 'kept'") == [(3,)]


def test_sigint_stops_cleanly(daemon: Daemon) -> None:
    assert daemon.stop(signal.SIGINT) == 0 and "stopped cleanly" in daemon.output


def test_cli_works_again_after_the_daemon_stops(daemon: Daemon, cli) -> None:
    home: Path = daemon.home
    assert daemon.stop() == 0
    assert json.loads(cli("models", "--json", "--home", home).out)[0]["champion"] == 1


def test_a_taken_port_is_one_clear_line(daemon: Daemon, served_home: Path, tmp_path: Path, vigil) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(served_home, other)
    port = daemon.url.rsplit(":", 1)[1]
    result = vigil("up", "--home", other, "--port", port)
    assert result.code == 2
    assert result.err == f"vigil: error: cannot listen on 127.0.0.1:{port} (Address already in use); " \
                         "choose another --port or stop what uses it\n"
    assert not (other / "daemon.json").exists()
