"""What a spawned training process does first: tie its life to the daemon's, then lower its priority;
and the environment every child Vigil spawns starts with (`child_environment`).

The daemon pauses a training process with SIGSTOP while it answers traffic. If the daemon then died
(kill -9, OOM killer), a stopped orphan would keep its memory for good. On Linux the child asks the
kernel for SIGKILL when its parent goes (`PR_SET_PDEATHSIG`); SIGKILL ends a stopped process too.
The request only covers a parent alive when it is made, so the child then checks its parent is
still the one that started it, and ends itself if not.

The signal is tied to the parent *thread* that spawned the child: `retraining.run_in_training_process`
spawns the process from the thread that waits for its result, so that thread outlives the child.
Only the standard library is imported here (see `idle_priority.py`).
"""

from __future__ import annotations

import ctypes
import os
import signal

from appliance.core.idle_priority import lower_priority

PR_SET_PDEATHSIG = 1
_QUIET_THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def prepare(parent_pid: int) -> None:
    """The training pool's initializer: die with `parent_pid`, then run at the lowest priority."""
    die_with_parent(parent_pid)
    lower_priority()


def die_with_parent(parent_pid: int) -> bool:
    """Have the kernel SIGKILL this process when its parent ends; end now if `parent_pid` already
    has. False where the kernel offers no such request (not Linux)."""
    armed = _request_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent went before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)
    return armed


def _request_parent_death_signal(signum: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return False
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0


def child_environment() -> dict[str, str]:
    """The caller's environment without Vigil's own variables (tokens among them), on one thread."""
    kept = {key: value for key, value in os.environ.items() if not key.startswith("VIGIL_")}
    return {**kept, **_QUIET_THREADS}
