"""The retraining process runs at the lowest priority from its first heavy import on."""

from __future__ import annotations

import os
import subprocess
import sys


def _probe() -> tuple[int, int]:
    return os.sched_getscheduler(0), os.nice(0)


def test_the_training_process_is_idle_priority_before_it_imports_numpy() -> None:
    from appliance.training.retraining import training_pool

    with training_pool() as pool:
        policy, niceness = pool.submit(_probe).result(timeout=60)
    assert policy == os.SCHED_IDLE and niceness == 19
    # the initializer's module imports only the standard library: what follows runs at that priority
    found = subprocess.run([sys.executable, "-c", "import sys, appliance.core.idle_priority; "
                            "print(sorted(m for m in ('numpy', 'polars', 'sklearn', 'duckdb', 'pydantic') "
                            "if m in sys.modules))"], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def _spin(seconds: float) -> float:
    """Burn `seconds` of this process's CPU time; the wall time it took."""
    import time

    wall = time.perf_counter()
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return time.perf_counter() - wall


def test_while_the_daemon_is_busy_the_training_process_is_paused_between_slices() -> None:
    from appliance.training.retraining import run_in_training_process

    wall, paused = run_in_training_process(_spin, (0.6,), busy=lambda: True, busy_share=0.5)
    assert paused >= 0.3  # about as long paused as it ran
    assert wall >= 0.6 + 0.25  # the pauses stretched the work: its own clock saw them
    free, not_paused = run_in_training_process(_spin, (0.3,), busy=lambda: False, busy_share=0.5)
    assert not_paused == 0.0 and free >= 0.3  # never paused when the daemon is idle
