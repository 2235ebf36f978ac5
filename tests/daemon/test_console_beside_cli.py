"""The console beside other work: the read-only console (no daemon) never keeps CLI commands from the
store, and a hung daemon shows as not connected within three seconds, then reconnects by itself."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from console_support import status as _status, until as _until
from daemon_support import Daemon, token_of
from support import VIGIL

pytest.importorskip("textual")

CLOCK = re.compile(r"\b(\d\d:\d\d:\d\d)\s*$")


@pytest.fixture(autouse=True)
def _no_user_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIGIL_TOKEN", raising=False)
    monkeypatch.delenv("VIGIL_URL", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


class Tmux:
    """A tmux server of this test's own (its socket in the test's directory) running one command."""

    def __init__(self, socket: Path, command: list[str]) -> None:
        self.socket = socket
        self._tmux("new-session", "-d", "-s", "console", "-x", "100", "-y", "30", " ".join(command))

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "console")

    def status(self) -> str:
        lines = self.screen().splitlines()
        return lines[0] if lines else ""

    def until(self, check: Callable[[str], Any], timeout: float = 30.0) -> Any:
        """Poll the status line until `check(line)` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check(self.status())
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"the console never showed what was awaited; its screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True, timeout=30)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", str(self.socket), *args], capture_output=True, text=True,
                              check=True, timeout=30).stdout


def _read_only_clock(line: str) -> str | None:
    found = CLOCK.search(line)
    return found.group(1) if "READ-ONLY" in line and found else None


def test_read_only_console_never_blocks_cli_commands(fresh_home: Path, vigil, tmp_path: Path) -> None:
    # A console refreshing ten times a second (each refresh reads the store) beside commands that read
    # and write the store file themselves: before, most of the writers met the console's lock and failed.
    console = Tmux(tmp_path / "tmux.sock", [str(VIGIL), "tui", "--home", str(fresh_home), "--refresh", "0.1"])
    try:
        first_clock = console.until(_read_only_clock)
        ada = vigil("users", "add", "ada", "--role", "admin", "--home", fresh_home)
        assert ada.code == 0, ada.err
        as_ada = {"VIGIL_TOKEN": token_of(ada.out)}
        writers = [("users", "add", "otto", "--role", "operator"),
                   ("promote", "delay", "2", "--to", "challenger", "--reason", "beside the console"),
                   ("requests",), ("requests", "--all"), ("users", "add", "vera", "--role", "viewer")]
        for words in writers:
            done = vigil(*words, "--home", fresh_home, env=as_ada)
            assert done.code == 0, f"vigil {' '.join(words)}: {done.err}"
        versions = vigil("versions", "delay", "--home", fresh_home)
        assert versions.code == 0, versions.err
        assert re.search(r"^2\s+challenger\b", versions.out, re.MULTILINE), versions.out
        users = vigil("users", "list", "--home", fresh_home, env=as_ada)
        assert [line.split()[0] for line in users.out.splitlines()[1:]] == ["ada", "otto", "vera"], users.err
        # The console kept reading all along and still does: read-only, its clock moving.
        console.until(lambda line: (clock := _read_only_clock(line)) and clock != first_clock)
    finally:
        console.close()


def test_hung_daemon_shows_not_connected_within_three_seconds(daemon: Daemon) -> None:
    from appliance.home import Home
    from tui.app import VigilApp

    async def scenario() -> None:
        app = VigilApp(Home(daemon.home), refresh_s=0.5)  # the console's own call timeout (15 s) unchanged
        async with app.run_test(size=(100, 24)) as pilot:
            await _until(pilot, lambda: "live 127.0.0.1:" in _status(app), timeout=30)
            daemon.process.send_signal(signal.SIGSTOP)  # alive, its port open, nothing answers
            try:
                status = await _until(pilot, lambda: "NOT CONNECTED" in _status(app) and _status(app), timeout=3.0)
                assert f"daemon pid {daemon.process.pid} does not answer; retrying" in status
                assert not CLOCK.search(status)  # no clock that looks live
            finally:
                daemon.process.send_signal(signal.SIGCONT)
            await _until(pilot, lambda: "live 127.0.0.1:" in _status(app), timeout=30)  # back by itself

    asyncio.run(scenario())
