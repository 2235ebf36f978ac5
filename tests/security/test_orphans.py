"""The training process and a trusted import's loader die with the daemon, even while paused (SIGSTOP): no
orphan keeps its memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from daemon_support import Daemon, admin, wait_until


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def _state(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[0] if fields else None


def _gone(pid: int) -> bool:
    """Ended: no process, or a zombie (it holds no memory; only its exit status waits to be read)."""
    return _state(pid) in (None, "Z")


def _training_child(parent: int) -> int | None:
    """The parent's spawned training process, once its setup ran (it runs at nice 19 from then on)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if not fields or int(fields[1]) != parent or int(fields[16]) != 19:
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            return int(entry.name)
    return None


def test_kill_9_of_the_daemon_during_a_paused_retrain_leaves_no_training_process(daemon: Daemon) -> None:
    queued = admin(daemon, "retrain", {"name": "delay", "reason": "orphan check"})
    assert queued["queued"] is True
    child = wait_until(lambda: _training_child(daemon.process.pid), timeout=120)
    try:
        os.kill(child, signal.SIGSTOP)  # paused, as the daemon pauses it while it answers traffic
        wait_until(lambda: _state(child) == "T", timeout=10)
        daemon.process.kill()
        daemon.process.wait(30)
        wait_until(lambda: _gone(child), timeout=30)
    finally:
        if not _gone(child):  # leave nothing behind when the test fails
            os.kill(child, signal.SIGKILL)


def test_a_stopped_training_process_dies_with_its_parent_outside_the_daemon() -> None:
    """The pool alone: a parent that started the training process and then died by SIGKILL."""
    code = ("import os, time\nfrom appliance.training.retraining import training_pool\n"
            "if __name__ == '__main__':\n"
            "    pool = training_pool()\n"
            "    print(pool.submit(os.getpid).result(), flush=True)\n"
            "    pool.submit(time.sleep, 600)\n"
            "    time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)

    def stopped_child() -> int:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        os.kill(child, signal.SIGSTOP)
        wait_until(lambda: _state(child) == "T", timeout=10)
        return child

    _dies_with_its_parent(parent, stopped_child)


def test_a_trusted_import_loader_dies_with_its_parent(tmp_path: Path) -> None:
    """The loader of a trusted import (a pickle that hangs) ends when the process that started it is killed."""
    seen = tmp_path / "loader.pid"
    hang = (f"(__import__('builtins').open({str(seen)!r}, 'w').write(str(__import__('os').getpid())), "
            "__import__('time').sleep(600))")
    code = ("import pickle, sys\nfrom appliance.registry.conversion import convert_trusted\n"
            "class P:\n    def __reduce__(self):\n        return eval, (sys.argv[1],)\n"
            "convert_trusted(pickle.dumps(P()), 'slow.pkl', timeout_s=600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code, hang])

    def loader() -> int:
        pid = int(wait_until(lambda: seen.exists() and seen.read_text() and int(seen.read_text()), timeout=60))
        assert not _gone(pid)
        return pid

    _dies_with_its_parent(parent, loader)


def _dies_with_its_parent(parent: subprocess.Popen[Any], find_child: Callable[[], int]) -> None:
    """Find the parent's child, kill the parent with SIGKILL, and wait until the child is gone too."""
    child = 0
    try:
        child = find_child()
        parent.kill()
        parent.wait(30)
        wait_until(lambda: _gone(child), timeout=30)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(30)
        if child and not _gone(child):
            os.kill(child, signal.SIGKILL)


def test_the_setup_module_imports_nothing_heavy() -> None:
    found = subprocess.run([sys.executable, "-c", "import sys, appliance.core.child_setup; "
                            "print(sorted(m for m in ('numpy', 'polars', 'sklearn', 'duckdb', 'pydantic') "
                            "if m in sys.modules))"], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
