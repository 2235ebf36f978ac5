"""What the job scheduler needs from the process it runs in: the daemon's `Service` provides it.

The scheduler knows the daemon only through this protocol, so `appliance.jobs` never imports
`appliance.daemon` (a test holds it so) and a test may run the jobs on any object that has these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from appliance.monitoring.after_monitor import PolicyHost

if TYPE_CHECKING:
    from appliance.config import VigilConfig
    from appliance.home import Home


class JobHost(PolicyHost, Protocol):
    """What the jobs need from the daemon they run in: the after-monitor policy's host
    (`monitoring/after_monitor.py`: the write lock, a context per call, the routes to refresh after an
    alias may have moved, the serving counters, alert delivery) plus the home, the configuration and the
    prediction log's commit count."""

    @property
    def home(self) -> Home: ...

    @property
    def config(self) -> VigilConfig: ...

    def prediction_commits(self) -> int:
        """How many times the prediction log has committed (it changes while serving is busy)."""
        ...
