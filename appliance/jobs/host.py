"""What the job scheduler needs from the process it runs in: the daemon's `Service` provides it.

The scheduler knows the daemon only through this protocol, so `appliance.jobs` never imports
`appliance.daemon` (a test holds it so) and a test may run the jobs on any object that has these.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from appliance.alerts.evaluation import AlertChange
    from appliance.config import VigilConfig
    from appliance.home.context import AppContext
    from appliance.home import Home


class JobHost(Protocol):
    """The home and configuration, the one write lock, a context per call, the routes to refresh after
    an alias may have moved, and the serving counters the jobs read (it also serves as the after-monitor
    policy's host, `monitoring/after_monitor.py`)."""

    @property
    def home(self) -> Home: ...

    @property
    def config(self) -> VigilConfig: ...

    @property
    def write_lock(self) -> AbstractContextManager[Any]:
        """Held by every writing operation and job: one writer at a time."""
        ...

    def context(self) -> AppContext: ...

    def refresh_routes(self) -> None: ...

    def prediction_commits(self) -> int:
        """How many times the prediction log has committed (it changes while serving is busy)."""
        ...

    def version_outcomes(self, model_name: str, version: str) -> tuple[int, int]:
        """(answered, server errors) of one version since the daemon started."""
        ...

    def deliver_alerts(self, changes: list[AlertChange]) -> None: ...
