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
    found = subprocess.run([sys.executable, "-c", "import sys, appliance.training.idle_priority; "
                            "print(sorted(m for m in ('numpy', 'polars', 'sklearn', 'duckdb', 'pydantic') "
                            "if m in sys.modules))"], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
