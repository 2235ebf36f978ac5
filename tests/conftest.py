"""Shared fixtures: a small real slice of the sample data, specs, homes, and ways to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import polars as pl
import pytest

from appliance.cli.main import main

from support import SAMPLE, SPEC, VIGIL, Result, files_under, query  # noqa: F401 (re-exported)

@pytest.fixture(scope="session")
def flights_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 5,000 real flights from January to March 2013."""
    path = tmp_path_factory.mktemp("data") / "flights_small.parquet"
    pl.read_parquet(SAMPLE).filter(pl.col("month") <= 3).gather_every(4).write_parquet(path)
    return path


@pytest.fixture
def write_spec(tmp_path: Path, flights_small: Path) -> Callable[..., Path]:
    """Write a spec file; keyword arguments replace parts of the template."""

    def write(name: str = "spec.toml", *, model: str = "delay", seed: int = 7, source: str | None = None,
              estimator: str = "hist_gradient_boosting", params: str = "{ max_iter = 30 }",
              text: str | None = None) -> Path:
        path = tmp_path / name
        source = source or f'path = "{flights_small.as_posix()}"'
        path.write_text(text or SPEC.format(model=model, seed=seed, source=source, estimator=estimator,
                                            params=params), encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `vigil ARGS` in this process."""

    def run(*args: str) -> Result:
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:
            code = int(e.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def vigil() -> Callable[..., Result]:
    """Run the installed `vigil` console script as a separate process."""

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run([str(VIGIL), *map(str, args)], capture_output=True, text=True, timeout=300,
                              env={**os.environ, **(env or {})})
        return Result(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def home(tmp_path: Path, cli: Callable[..., Result]) -> Path:
    """An initialised Vigil home."""
    path = tmp_path / "home"
    assert cli("init", "--home", path).code == 0
    return path


class _Webhook:
    """A real HTTP receiver on loopback that can fail its first requests with 500."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, HTTPServer

        outer = self
        self.received: list[dict[str, object]] = []
        self.failures_left = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                import json

                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if outer.failures_left > 0:
                    outer.failures_left -= 1
                    self.send_response(500)
                else:
                    outer.received.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)

    def url(self, failures: int = 0) -> str:
        self.failures_left = failures
        return f"http://127.0.0.1:{self.server.server_port}/hook"


@pytest.fixture
def webhook() -> Iterator[_Webhook]:
    import threading

    receiver = _Webhook()
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    yield receiver
    receiver.server.shutdown()
