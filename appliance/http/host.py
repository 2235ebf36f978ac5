"""What the HTTP layer needs from the process it serves: the daemon's `Service` provides it.

The handlers know the daemon only through this protocol, so `appliance.http` never imports
`appliance.daemon` (the layering test holds it so): the daemon builds the routes and hands itself in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from appliance.config import VigilConfig
    from appliance.serving.access import ScoringAccess
    from appliance.serving.feedback import FeedbackRecorder
    from appliance.serving.metrics import Metrics
    from appliance.serving.routing import Router
    from appliance.serving.scoring import Scorer


class HttpHost(Protocol):
    """The configuration and admin token, the serving parts a request reaches (scorer, routes, API keys,
    feedback, metrics), readiness and status, and the admin API's one entry, `run_operation`."""

    @property
    def config(self) -> VigilConfig: ...

    @property
    def admin_token(self) -> str: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def scorer(self) -> Scorer: ...

    @property
    def router(self) -> Router: ...

    @property
    def access(self) -> ScoringAccess: ...

    @property
    def feedback(self) -> FeedbackRecorder: ...

    def readiness(self) -> tuple[bool, dict[str, Any]]: ...

    def status(self) -> dict[str, Any]: ...

    def default_model(self) -> str:
        """The model `/invocations` answers for."""
        ...

    def run_operation(self, name: str, args: dict[str, Any], *, token: str | None = None,
                      os_user: str | None = None, client_gone: Callable[[], bool] | None = None) -> Any:
        """Run the operation `name` as the caller (role checked first)."""
        ...
