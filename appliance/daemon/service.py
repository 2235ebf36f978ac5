"""Everything the running daemon holds, wired together: store, router, log, scorer, access, metrics.

`Service` is also the jobs' host (`appliance/jobs/host.py`): the scheduler reaches the daemon only
through that protocol. What the daemon does for an operation beyond running it is declared on the
operation (`OperationSpec.in_daemon`, a kind) and done by this module's table of those kinds.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from appliance.alerts.routing import AlertRouter
from appliance.config import VigilConfig
from appliance.home.context import AppContext
from appliance.contracts.features import features_from_json
from appliance.errors import DaemonError, ModelNotServed, OperationError
from appliance.home import Home
from appliance.jobs.scheduler import Jobs
from appliance.registry.contracts import current_contract
from appliance.registry.versions import get_version
from appliance.serving.access import ScoringAccess
from appliance.serving.batching import Predictor
from appliance.serving.feedback import FeedbackRecorder
from appliance.serving.metrics import Metrics
from appliance.serving.model_cache import ModelCache
from appliance.serving.prediction_log import PredictionLog
from appliance.serving.request_frame import Policy
from appliance.serving.routing import AliasState, Router
from appliance.serving.scoring import Scorer
from appliance.serving.version_loading import loaded_version
from appliance.store import alias_queries
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store
from appliance.store.sql_console import Console

if TYPE_CHECKING:
    from appliance.alerts.evaluation import AlertChange

class Service:
    def __init__(self, home: Home, config: VigilConfig, store: Store, admin_token: str) -> None:
        self.home = home
        self.config = config
        self.store = store
        self.admin_token = admin_token
        _check_declared_kinds()
        self.started = time.time()
        serving = config.serving
        self.metrics = Metrics()
        self.write_lock = threading.Lock()  # one writing operation at a time (admin API, jobs)
        self.alert_router = AlertRouter.from_config(home.root, config)
        self.jobs: Jobs | None = None  # set by the runtime once the scheduler runs
        self.cache = ModelCache(self._load, serving.model_cache_mb * 1024 * 1024)
        self.router = Router(self.cache, self._alias_states)
        self.log = PredictionLog(store.cursor(), max_pending_rows=serving.max_pending_log_rows)
        self.scorer = Scorer(self.router, self.log, self.metrics, self._policy, max_rows=serving.max_rows,
                             audit_share=serving.audit_sample_share)
        self.feedback = FeedbackRecorder(store.cursor(), home.root)
        self.access = ScoringAccess(store.cursor(), required=serving.require_api_key)
        self.load_error: str | None = None
        self.console = Console(config.sql)  # the SQL console's queries: limited, watched, stopped on shutdown
        self.metrics.gauge("vigil_sql_queries_running", "SQL console queries running now.",
                           lambda: [((), float(self.console.running))])
        self.metrics.gauge("vigil_prediction_log_queue_depth", "Prediction log rows waiting to be committed.",
                           lambda: [((), float(self.log.depth))])
        self.metrics.gauge("vigil_loaded_versions", "Model versions loaded in memory: 1 per loaded model and version.",
                           lambda: [((m, str(v)), 1.0) for m, v in self.cache.loaded], labels=("model", "version"))
        self.metrics.gauge("vigil_model_cache_bytes", "Bytes of loaded model versions held by the model cache.",
                           lambda: [((), float(self.cache.total_bytes))])

    def context(self, client_gone: Callable[[], bool] | None = None) -> AppContext:
        return AppContext(self.home, self.config, self.store.cursor(), self.alert_router, self.console, client_gone)

    def refresh_routes(self) -> None:
        try:
            self.router.refresh()
            self.load_error = None
        except Exception as e:  # the daemon keeps serving what it has and reports not ready
            self.load_error = str(e)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        with self.write_lock:
            wanted = {name for name, state in self._alias_states().items() if state.champion is not None}
        served = set(self.router.models)
        missing = sorted(wanted - served)
        ready = not missing and self.load_error is None
        detail: dict[str, Any] = {"models": sorted(served)}
        if missing:
            detail["not_loaded"] = missing
        if self.load_error:
            detail["error"] = self.load_error
        return ready, detail

    def default_model(self) -> str:
        chosen = self.config.serving.default_model
        if chosen:
            return chosen
        served = sorted(self.router.models)
        if len(served) == 1:
            return served[0]
        raise ModelNotServed(f"/invocations needs serving.default_model when {len(served)} models are served "
                             f"({', '.join(served) or 'none'}); or use /v1/models/NAME/predict")

    def run_operation(self, name: str, args: dict[str, Any], *, token: str | None = None,
                      os_user: str | None = None, client_gone: Callable[[], bool] | None = None) -> Any:
        """Run `name` as the user of `token`, else as the OS account `os_user`, else (neither known)
        as the fixed `admin-token` identity; the caller's role is checked first."""
        from appliance import operations
        from appliance.access.output_paths import confined
        from appliance.access.roles import allows
        from appliance.access.users import authorize, identify

        if name in operations.NOT_IN_DAEMON:
            raise OperationError(f"'{name}' needs the store to itself; stop the daemon first")
        spec = operations.find(name)
        store = self.context().store
        who = identify(store, token, os_user)
        needed = operations.required_role(name)
        if not allows(who.role, needed):  # a refusal is audited: a write, so under the write lock
            with self.write_lock:
                authorize(store, who, name, needed)
        args = operations.arguments(name, args, who)  # checked (400 naming each field) before anything runs
        instead, after = BY_SCHEDULER.get(spec.in_daemon or ""), AFTER.get(spec.in_daemon or "")
        if instead is not None and self.jobs is not None:
            return instead(self.jobs, args)
        ctx = self.context(client_gone)
        with confined():  # files the caller names go only under <home>/exports/ or [exports] allowed_dirs
            if spec.writes:
                with self.write_lock:
                    result = operations.run(ctx, name, args)
            else:
                result = operations.run(ctx, name, args)
        if after is not None:
            after(self, args, result)
        if spec.changes_routes:
            self.access.forget()
            self.refresh_routes()
        return result

    def status(self) -> dict[str, Any]:
        ready, detail = self.readiness()
        return {"pid": __import__("os").getpid(), "uptime_s": round(time.time() - self.started, 1), "ready": ready,
                **detail, "loaded": [list(k) for k in self.cache.engines], "log_queue": self.log.depth,
                "sql_queries_running": self.console.running,
                "log_commits": self.log.commits}

    def prediction_commits(self) -> int:
        """How many times the prediction log has committed (the jobs read it to see serving busy)."""
        return self.log.commits

    def version_outcomes(self, model_name: str, version: str) -> tuple[int, int]:
        """(answered, server errors) of one version since the daemon started (canary judgement)."""
        return self.metrics.version_outcomes(model_name, version)

    def deliver_alerts(self, changes: list[AlertChange]) -> None:
        """Route alert changes made outside an operation (a canary rolled back by a job)."""
        self.alert_router.deliver(changes)

    def _policy(self, model_name: str) -> Policy:
        policy = self.config.serving.policy_for(model_name)
        return Policy(policy.unknown_category, policy.out_of_range, policy.extra_columns)

    def _alias_states(self) -> dict[str, AliasState]:
        """Every model's aliases as the router follows them."""
        states = alias_queries.all_aliases(self.store.cursor())
        return {m: AliasState(champion=a.get("champion", (None, None))[0], canary=a.get("canary", (None, None))[0],
                              canary_percent=a.get("canary", (None, None))[1], shadow=a.get("shadow", (None, None))[0])
                for m, a in states.items()}

    def _load(self, model_name: str, version: int) -> Predictor:
        ctx = self.context()
        row = get_version(ctx.store, model_name, version)
        features = features_from_json(row["features"])
        _, contract = current_contract(ctx.store, model_name, version)
        pq.ensure_inputs_table(ctx.store, model_name, features)
        loaded = loaded_version(ctx, row, features, contract)
        serving = self.config.serving
        batching = serving.batching if isinstance(serving.batching, bool) else loaded.engine != "plan"
        return Predictor(loaded, batching=batching, max_rows=serving.batch_max_rows,
                         max_wait_ms=serving.batch_max_wait_ms)

    def close(self) -> None:
        self.console.close()
        self.scorer.close()
        self.log.close()
        self.alert_router.close(timeout=5.0)


# What the daemon does for an operation beyond running it, by the kind its declaration names
# (`OperationSpec.in_daemon`). While the scheduler runs, it answers these in the operation's place:


def _queue_retrain(jobs: Jobs, args: dict[str, Any]) -> Any:
    """Training runs as a job, in its own process: queued now, its run id answered at once."""
    return jobs.request_retrain(str(args["name"]), str(args.get("reason", "")), str(args["actor"]))


def _schedule(jobs: Jobs, args: dict[str, Any]) -> Any:
    """The scheduler's own schedule, with each job's next run."""
    return {"running": True, "enabled": jobs.config.enabled, "jobs": jobs.schedule()}


BY_SCHEDULER: dict[str, Callable[[Jobs, dict[str, Any]], Any]] = {
    "queued_job": _queue_retrain,
    "schedule": _schedule,
}

# ... and these it does after the operation ran:


def _after_monitor(service: Service, args: dict[str, Any], result: Any) -> None:
    """Drift-triggered retraining and canary judgement on what the check found (monitoring/after_monitor.py)."""
    if service.jobs is not None:
        service.jobs.after_monitor(result)


def _replay_request(service: Service, args: dict[str, Any], result: Any) -> None:
    """A request left waiting for an approver is replayed now, on a job thread (monitoring/replay.py)."""
    if service.jobs is not None and isinstance(result, dict) and result.get("status") == "pending":
        service.jobs.replay_soon()


def _unload_named(service: Service, args: dict[str, Any], result: Any) -> None:
    """The named model's loaded versions are dropped (its contract changed), loaded afresh when routed."""
    service.cache.drop(str(args.get("name")))


def _unload_listed(service: Service, args: dict[str, Any], result: Any) -> None:
    """The loaded versions of the models the result lists stop now (they shipped revoked code)."""
    for model_name in result.get("models", []):
        service.cache.drop(str(model_name))


AFTER: dict[str, Callable[[Service, dict[str, Any], Any], None]] = {
    "after_monitor": _after_monitor,
    "replays_request": _replay_request,
    "unloads_model": _unload_named,
    "unloads_listed_models": _unload_listed,
}


def unknown_kinds(declared: Iterable[tuple[str, str | None]]) -> list[str]:
    """The (operation, kind) pairs whose daemon kind this module does not handle, as 'operation: kind'."""
    return [f"{name}: {kind}" for name, kind in declared
            if kind is not None and kind not in BY_SCHEDULER and kind not in AFTER]


def _check_declared_kinds() -> None:
    """A declaration naming a kind the daemon does not handle stops the daemon starting (a bug, never a
    silent no-op)."""
    from appliance import operations

    unknown = unknown_kinds((name, spec.in_daemon) for name, spec in operations.OPERATIONS.items())
    if unknown:
        raise DaemonError(f"operations declare daemon kinds the daemon does not handle: {'; '.join(unknown)}")
