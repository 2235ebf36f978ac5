"""Lowering a training process's CPU priority before it imports anything heavy.

A spawned child process runs this first (as the process pool's initializer): only the standard
library is imported here, so the imports of NumPy, polars and scikit-learn that follow already run
at the lowest priority, like the training itself.
"""

from __future__ import annotations

import contextlib
import os

NICENESS = 19


def lower_priority() -> None:
    """Nice 19, and on Linux `SCHED_IDLE`: run only when a core is otherwise idle."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(NICENESS)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
