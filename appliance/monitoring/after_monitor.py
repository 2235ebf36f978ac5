"""What the daemon does after every monitoring check (the monitor job or `vigil monitor run`), per
model checked: drift-triggered retraining, then canary analysis and acting on its verdict.

Drift: when a model's drift verdict has been critical for `jobs.drift_retrain_windows` consecutive
monitor runs, a retrain is queued (trigger `drift`), once per streak: a drift that persists does not
retrain every window. Canary: once the canary has run long enough, `monitoring/canary.py` judges it
and acts by policy through the release door (`release/canary.py`: a pass files a promotion request, a
failure removes the canary); the action is recorded as a `canary` job run. The scheduler only runs
and records jobs: this module decides.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence

from appliance.store import alert_queries as aq
from appliance.store import registry_queries as q

if TYPE_CHECKING:
    from appliance.alerts.evaluation import AlertChange
    from appliance.home.context import AppContext

ACTOR = "vigil-jobs"


class PolicyHost(Protocol):
    """What the policy needs from the daemon it runs in (the jobs' host, `jobs/host.py`, extends it)."""

    @property
    def write_lock(self) -> AbstractContextManager[Any]:
        """Held by every writing operation and job: one writer at a time."""
        ...

    def context(self) -> AppContext: ...

    def refresh_routes(self) -> None: ...

    def version_outcomes(self, model_name: str, version: str) -> tuple[int, int]:
        """(answered, server errors) of one version since the daemon started."""
        ...

    def deliver_alerts(self, changes: list[AlertChange]) -> None: ...


class JobRuns(Protocol):
    """What the policy asks of the job runner: record an action as a job run, queue a retrain."""

    def record(self, job: str, model_name: str | None, trigger: str, work: Callable[[], Any]) -> dict[str, Any]: ...

    def request_retrain(self, model_name: str, reason: str, actor: str, trigger: str = "event") -> dict[str, Any]: ...

    def replay_soon(self) -> None: ...


def drift_streak_complete(verdicts: Sequence[str | None], needed: int) -> bool:
    """Do the latest verdicts (newest first) open with exactly `needed` critical ones? Exactly, so a
    streak retrains once, when it reaches its length, and not again while it lasts.

    >>> drift_streak_complete(["critical", "critical", "warning"], 2)
    True
    >>> drift_streak_complete(["critical", "critical", "critical"], 2)
    False
    """
    if needed <= 0:
        return False
    streak = 0
    for verdict in verdicts:
        if verdict != "critical":
            break
        streak += 1
    return streak == needed


class AfterMonitor:
    """The policy applied to a monitoring result; called by the monitor job and after `monitor_run`."""

    def __init__(self, host: PolicyHost, runs: JobRuns, drift_retrain_windows: int) -> None:
        self.host = host
        self.runs = runs
        self.drift_retrain_windows = drift_retrain_windows

    def __call__(self, result: dict[str, Any]) -> None:
        for check in result["checks"]:
            if not check.get("alerting", True):
                continue  # a past period's check: it neither retrains nor judges a canary
            self.drift_retrain(check["model"])
            self.canary(check["model"])

    def drift_retrain(self, model_name: str) -> dict[str, Any] | None:
        """Queue a retrain when the model's critical drift streak has just reached its length."""
        needed = self.drift_retrain_windows
        if needed <= 0:
            return None
        verdicts = aq.recent_drift_verdicts(self.host.context().store, model_name, needed + 1)
        if not drift_streak_complete(verdicts, needed):
            return None
        return self.runs.request_retrain(model_name, f"critical drift for {needed} consecutive windows", ACTOR,
                                         trigger="drift")

    def canary(self, model_name: str) -> dict[str, Any] | None:
        """Judge the model's canary if it has run long enough, and act by policy (a job run when it acts)."""
        from appliance.monitoring.canary import analyse

        aliases = q.aliases(self.host.context().store, model_name)
        canary, champion = aliases.get("canary"), aliases.get("champion")
        if canary is None or champion is None:
            return None
        errors = (self.host.version_outcomes(model_name, str(canary)),
                  self.host.version_outcomes(model_name, str(champion)))
        verdict = analyse(self.host.context(), model_name, errors)
        if verdict is None or verdict["status"] == "waiting":
            return verdict
        return self.runs.record("canary", model_name, "analysis", lambda: self._act(verdict))

    def _act(self, verdict: dict[str, Any]) -> dict[str, Any]:
        """Act on the verdict through the release door, route the alerts it opened, follow the new aliases."""
        from appliance.monitoring.canary import act

        with self.host.write_lock:
            done, changes = act(self.host.context(), verdict)
        self.host.deliver_alerts(changes)
        self.host.refresh_routes()
        if done.get("action") == "promotion requested":  # the approver sees its replay evidence at once
            self.runs.replay_soon()
        return done
