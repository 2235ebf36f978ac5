"""Fixtures for the protocol tests that use other people's clients and tools (MLflow, tritonclient,
KServe, promtool, schemathesis, jsonschema, PySpark). Starting a daemon costs seconds, so the tests
that only read share one for the whole session (`client_daemon`); a test that changes the store or
needs its own settings starts its own from the fixtures in tests/daemon_support.py."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterator

import pytest

from daemon_support import *  # noqa: F401,F403
from daemon_support import Daemon, start_daemon


@pytest.fixture(scope="session")
def client_daemon(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """One `vigil up` on a copy of the served home (model 'delay', v1 champion, v2 registered), shared by
    every client test that does not change what it serves."""
    root = tmp_path_factory.mktemp("clients")
    home = root / "home"
    shutil.copytree(served_home, home)
    running = start_daemon(home, root / "daemon.log")
    yield running
    if running.process.poll() is None:
        running.stop()
