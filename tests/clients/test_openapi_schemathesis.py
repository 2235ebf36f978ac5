"""The daemon's /openapi.json fuzzed with schemathesis (`--checks all`), on a daemon of its own.

Every public path is generated from the document: scoring and feedback for model 'delay', MLflow's
/invocations, the Open Inference Protocol, health and metrics, and every admin operation. The admin
API is fuzzed with a viewer's token and with none, never with the admin token (it would run the
destructive operations). A 5xx, a response the document does not describe, invalid data accepted or a
405 without `Allow` fails the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from daemon_support import Daemon, op, token_of
from support import VIGIL

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ADMIN = "^/admin/"
# A request the schema allows may still be refused with 400 where the answer depends on what the box
# holds, not on the body's shape: records against the model's features, SQL text, files named on the
# box, a version that does not answer traffic, an event time against the box's clock (from 1900 to a day
# past now, which no schema states). Everywhere else a valid body must be accepted.
CONFIG = """\
[parameters]
"path.name" = "delay"

[[operations]]
include-path-regex = "^/(v1/models/[^/]+/(predict|feedback)|invocations|v2/models/.*infer|admin/v1/ops/.*)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "413", "429"]
"""


def _run(daemon: Daemon, tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [str(SCHEMATHESIS), "--config-file", str(config), "run", f"{daemon.url}/openapi.json",
               "--checks", "all", "--seed", "18", "--generation-database", "none", "--no-color",
               "--request-timeout", "30", "--report", "junit", "--report-dir", str(tmp_path / name), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "SCHEMATHESIS_HOOKS": ""})


def _passed(result: subprocess.CompletedProcess[str]) -> bool:
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return result.returncode == 0 and " in " in summary and "failure" not in summary and "error" not in summary


def test_schemathesis_finds_nothing(daemon: Daemon, tmp_path: Path) -> None:
    viewer = token_of(subprocess.run([str(VIGIL), "users", "add", "vera", "--role", "viewer", "--home",
                                      str(daemon.home)], capture_output=True, text=True, check=True).stdout)
    assert op(daemon, viewer, "whoami", {})[1]["role"] == "viewer"
    public = _run(daemon, tmp_path, "public", "--max-examples", "25", "--exclude-path-regex", ADMIN)
    assert _passed(public), public.stdout[-20000:]
    anonymous = _run(daemon, tmp_path, "anonymous", "--max-examples", "3", "--include-path-regex", ADMIN)
    assert _passed(anonymous), anonymous.stdout[-20000:]
    as_viewer = _run(daemon, tmp_path, "viewer", "--max-examples", "8", "--include-path-regex", ADMIN,
                     "-H", f"Authorization: Bearer {viewer}")
    assert _passed(as_viewer), as_viewer.stdout[-20000:]
    status, _, log = daemon.request("GET", "/healthz")
    assert status == 200 and "internal error" not in daemon.output
