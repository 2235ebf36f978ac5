"""The daemon's jobs on APScheduler 3.x: monitor, rollup and retention (interval), retraining (cron,
drift-triggered, event-triggered), batch scoring, reports and the lake export (cron).

The scheduler schedules and records; it reaches the daemon only through `JobHost` (jobs/host.py).
What follows a monitoring check (drift-triggered retraining, canary judgement) is decided by
`monitoring/after_monitor.py`, which asks the scheduler to queue or record the runs.

Every run is a `job_runs` row (job, model, trigger, start, end, status, error). A job never overlaps
itself: APScheduler keeps one instance per job, and a run that finds the previous one still going is
recorded as `skipped`. Schedules live in `vigil.toml` and their state in `job_runs`: at start-up a
job whose last run is older than its interval (or whose cron time passed while the daemon was down)
runs once, with trigger `startup`; runs left `running` by a daemon that died are marked failed. A
failing job records its error, feeds the `job_failed` alert rules, and never takes the daemon down.
"""

from __future__ import annotations

import logging
import threading
import traceback
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

from appliance.clock import utc_now
from appliance.errors import JobsStopping
from appliance.monitoring.after_monitor import AfterMonitor
from appliance.core.windows import parse_window
from appliance.jobs.schedules import scheduled
from appliance.store import job_queries as jq

if TYPE_CHECKING:
    from appliance.jobs.host import JobHost

log = logging.getLogger("vigil.jobs")


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc)


class Jobs:
    def __init__(self, host: JobHost, scheduler: Any) -> None:
        self.host = host
        self.scheduler = scheduler
        self.config = host.config.jobs
        self._running: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._last_commits = 0
        self.after_monitor = AfterMonitor(host, self, self.config.drift_retrain_windows)
        self._stopping = threading.Event()
        self._replays = threading.Semaphore(1)  # held while a replay runs, so shutdown can wait for it

    # -- set-up -------------------------------------------------------------------------------
    def start(self) -> None:
        if not self.config.enabled:
            return
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        now = utc_now()
        with self.host.write_lock:
            abandoned = jq.abandon_running(self.host.context().store, now)
        if abandoned:
            log.warning("%d job run(s) were interrupted by the daemon stopping; marked failed", abandoned)
        runs: dict[str, Callable[..., Any]] = {
            "monitor": self.monitor, "retention": self.retention, "rollup": self.rollup,
            "retrain": self.scheduled_retrain, "score": self.scheduled_score, "report": self.weekly_reports,
            "export": self.lake_export, "replay": self.replay}
        for schedule in scheduled(self.config):
            if schedule.job == "export":
                self._lake_directory()  # a directory the daemon may not write to stops `vigil up` here
            if schedule.every is not None:
                self._interval(schedule.job, schedule.model_name, parse_window(schedule.every), runs[schedule.job],
                               now, IntervalTrigger)
            else:
                assert schedule.cron is not None
                self._cron(schedule.job, schedule.model_name, schedule.cron, runs[schedule.job], now, CronTrigger)

    def _cron(self, job: str, model_name: str | None, cron: str, run: Callable[..., Any], now: datetime,
              trigger_class: Any) -> None:
        """A cron job; one whose time passed while the daemon was down runs once at start-up."""
        trigger = trigger_class.from_crontab(cron, timezone="UTC")
        job_id = f"{job}:{model_name}" if model_name else job
        args: list[Any] = [model_name] if model_name else []
        self.scheduler.add_job(run, trigger, args=[*args, "cron"], id=job_id, max_instances=1, coalesce=True,
                               misfire_grace_time=None)
        last = self._last(job, model_name)
        if last is not None:
            missed = trigger.get_next_fire_time(None, _aware(last) + timedelta(seconds=1))
            if missed is not None and missed <= _aware(now):
                self._once(run, [*args, "startup"], f"{job_id}:startup")

    def _interval(self, job: str, model_name: str | None, every: timedelta, run: Callable[[str], Any],
                  now: datetime, trigger_class: Any) -> None:
        last = self._last(job, model_name)
        first = now + every if last is None or last + every <= now else last + every
        self.scheduler.add_job(run, trigger_class(seconds=every.total_seconds(), start_date=_aware(first),
                                                  timezone="UTC"),
                               args=["interval"], id=job, max_instances=1, coalesce=True, misfire_grace_time=None)
        if last is not None and last + every <= now:
            self._once(run, ["startup"], f"{job}:startup")

    def schedule(self) -> list[dict[str, Any]]:
        """Each scheduled job with its trigger and next run (one-off start-up runs excluded)."""
        return [{"job": job.id, "trigger": str(job.trigger), "next_run": job.next_run_time}
                for job in self.scheduler.get_jobs() if not job.id.endswith(":startup")]

    def _once(self, run: Callable[..., Any], args: list[Any], job_id: str) -> None:
        self.scheduler.add_job(run, "date", run_date=datetime.now(timezone.utc), args=args, id=job_id,
                               misfire_grace_time=None, replace_existing=True)

    def _last(self, job: str, model_name: str | None) -> datetime | None:
        return jq.last_started(self.host.context().store, job, model_name)

    # -- running ------------------------------------------------------------------------------
    def record(self, job: str, model_name: str | None, trigger: str, work: Callable[[], Any],
               run_id: int | None = None) -> dict[str, Any]:
        """Run `work` as one job run: a row in job_runs, no overlap, errors recorded and alerted."""
        key = f"{job}:{model_name or ''}"
        with self._guard:
            lock = self._running.setdefault(key, threading.Lock())
        store = self.host.context().store
        if not lock.acquire(blocking=False):
            with self.host.write_lock:
                skipped = jq.start(store, job, model_name, trigger, utc_now()) if run_id is None else run_id
                jq.finish(store, skipped, "skipped", utc_now(), "the previous run of this job is still going", None)
            return {"run_id": skipped, "status": "skipped"}
        try:
            if run_id is None:
                with self.host.write_lock:
                    run_id = jq.start(store, job, model_name, trigger, utc_now())
            else:
                with self.host.write_lock:
                    jq.begin(store, run_id, utc_now())
            try:
                detail = work()
                status, error = "ok", None
            except Exception as e:  # a job never takes the daemon down
                detail, status = None, "failed"
                error = f"{type(e).__name__}: {e}"
                log.error("job %s failed: %s\n%s", key, error, traceback.format_exc())
            with self.host.write_lock:
                jq.finish(store, run_id, status, utc_now(), error, detail)
            self._alert_outcome(job, model_name, failed=status == "failed")
            return {"run_id": run_id, "status": status, "error": error, "detail": detail}
        finally:
            lock.release()

    def _alert_outcome(self, job: str, model_name: str | None, *, failed: bool) -> None:
        from appliance.monitoring.monitor import job_outcome

        try:
            with self.host.write_lock:
                job_outcome(self.host.context(), job, model_name, failed=failed)
        except Exception as e:  # alerting about a job must not fail the job loop either
            log.error("could not record the outcome of job %s: %s", job, e)

    def monitor(self, trigger: str) -> dict[str, Any]:
        from appliance.monitoring.monitor import monitor

        def work() -> Any:
            with self.host.write_lock:
                result = monitor(self.host.context(), None, window=self.config.monitor_every, trigger=trigger,
                                 actor="vigil-jobs")
            self.after_monitor(result)
            return {"models": [c["model"] for c in result["checks"]],
                    "alerts": sum(len(c["alerts"]) for c in result["checks"])}

        return self.record("monitor", None, trigger, work)

    def retention(self, trigger: str) -> dict[str, Any]:
        from appliance.maintenance.retention import prune

        def work() -> Any:
            with self.host.write_lock:
                return prune(self.host.context(), self.config.retention_days, self.config.artifact_retention_days)

        return self.record("retention", None, trigger, work)

    def rollup(self, trigger: str) -> dict[str, Any]:
        from appliance.monitoring.dashboard import roll_up

        def work() -> Any:
            from appliance.serving.cost_meter import save
            from appliance.serving.unanswered import save as save_unanswered

            from appliance.errors import SloJudgingFailed
            from appliance.monitoring.slo_alerts import check_slos

            with self.host.write_lock:  # every read too: the shutdown's checkpoint fails beside a transaction
                rolled = roll_up(self.host.context())
                rolled["cost_rows"] = save(self.host.context().store)  # predict CPU time, per version
                rolled["unanswered"] = save_unanswered(self.host.context().store)  # 503s shed unkept, per model
                rolled["slo_alerts"] = check_slos(self.host.context())  # burn rates read the fresh rollups
            if rolled["slo_alerts"]["errors"]:  # the rollup stands; the failure is the job's, and alerts
                raise SloJudgingFailed("rolled up, but judging the objectives failed for "
                                       + "; ".join(rolled["slo_alerts"]["errors"]))
            return rolled

        return self.record("rollup", None, trigger, work)

    def replay(self, trigger: str) -> dict[str, Any] | None:
        """Replay evidence for every pending champion or canary request without it (monitoring/replay.py);
        a sweep that finds none records no run."""
        from appliance.monitoring.replay import awaiting, replay_waiting, window_of

        if not awaiting(self.host.context()):
            return None

        def work() -> Any:
            if self._stopping.is_set():
                return {"requests": [], "stopped": True}
            with self._replays:
                try:
                    return replay_waiting(self.host.context(), window=window_of(self.config.replay_window),
                                          max_rows=self.config.replay_max_rows, write_lock=self.host.write_lock,
                                          pause=self._yield_to_serving)
                except JobsStopping:
                    return {"requests": [], "stopped": True}

        return self.record("replay", None, trigger, work)

    def replay_soon(self) -> None:
        """Replay a request just filed now, on a job thread (never on the request's own)."""
        self._once(self.replay, ["request"], "replay:request")

    def stop(self, timeout_s: float) -> bool:
        """Start no more replays and end a running one at its next chunk (its request is replayed again
        after the next start); whether none was still running after `timeout_s` seconds. The daemon
        calls this before it closes the store, so no replay writes into a store being closed."""
        self._stopping.set()
        if self._replays.acquire(timeout=timeout_s):
            self._replays.release()
            return True
        return False

    def _yield_to_serving(self) -> None:
        """Wait (at most about a second) while the prediction log is committing: serving goes first; end
        the replay when the daemon is stopping."""
        import time

        if self._stopping.is_set():
            raise JobsStopping("the daemon is stopping; the replay runs again after the next start")
        for _ in range(20):
            if not self._serving_busy():
                return
            time.sleep(0.05)

    def scheduled_retrain(self, model_name: str, trigger: str) -> dict[str, Any]:
        return self.retrain(model_name, "schedule" if trigger in ("cron", "startup") else trigger,
                            f"scheduled retraining ({trigger})", job_trigger=trigger)

    def scheduled_score(self, model_name: str, trigger: str) -> dict[str, Any]:
        """Batch scoring by `[jobs.score.NAME]`: paths relative to the home, {date}/{time} in the output."""
        from pathlib import Path

        from appliance.serving.batch_scoring import score_batch

        scoring = self.config.score[model_name]
        home = self.host.home.root

        def work() -> Any:
            now = utc_now()
            output = home / scoring.output.format(date=now.strftime("%Y-%m-%d"), time=now.strftime("%H%M%S"))
            return score_batch(self.host.context(), model_name, input_path=scoring.input, query=scoring.query,
                               output=Path(output), rejects_path=None, version=scoring.version, actor="vigil-jobs",
                               write_lock=self.host.write_lock, base_dir=home)

        return self.record("score", model_name, trigger, work)

    def weekly_reports(self, trigger: str) -> dict[str, Any]:
        """The report of every model with a champion, over `jobs.report_window`, into <home>/reports/."""
        from appliance.reports.writing import scheduled_reports

        def work() -> Any:
            return scheduled_reports(self.host.context(), self.config.report_window, trigger,
                                     write_lock=self.host.write_lock)

        return self.record("report", None, trigger, work)

    def lake_export(self, trigger: str) -> dict[str, Any]:
        """`vigil export` into `[jobs.export] directory`: what is new since this box's watermarks."""
        from appliance.maintenance.lake.export import export

        schedule = self.config.export
        assert schedule is not None

        def work() -> Any:
            result = export(self.host.context(), self._lake_directory(), schedule.box, full=False)
            return {"directory": result["directory"], "box": result["box"], "rows": result["rows"],
                    "resumed": result["resumed"]}

        return self.record("export", None, trigger, work)

    def _lake_directory(self) -> Any:
        """`[jobs.export] directory`, resolved and confined as any output the daemon writes."""
        from appliance.access.output_paths import confined, output_path
        from appliance.errors import ConfigError, OutputRefused

        assert self.config.export is not None
        with confined():
            try:
                return output_path(self.host.context(), self.config.export.directory)
            except OutputRefused as e:
                raise ConfigError(f"[jobs.export] directory: {e}") from e

    def retrain(self, model_name: str, reason_trigger: str, reason: str, *, job_trigger: str | None = None,
                run_id: int | None = None) -> dict[str, Any]:
        from appliance.release.retrain import retrain

        def work() -> Any:
            result = retrain(self.host.context(), model_name, trigger=reason_trigger, reason=reason,
                             actor="vigil-retrain", write_lock=self.host.write_lock, busy=self._serving_busy,
                             busy_share=self.config.retrain_busy_share)
            self.host.refresh_routes()
            return result

        return self.record("retrain", model_name, job_trigger or reason_trigger, work, run_id)

    def _serving_busy(self) -> bool:
        """Has the prediction log committed since the last call (about 50 ms ago)?"""
        commits = self.host.prediction_commits()
        busy = commits != self._last_commits
        self._last_commits = commits
        return busy

    def request_retrain(self, model_name: str, reason: str, actor: str, trigger: str = "event") -> dict[str, Any]:
        """Queue a retrain now (event or drift trigger); returns its job run id at once."""
        from appliance.registry.versions import require_model

        store = self.host.context().store
        require_model(store, model_name)
        with self.host.write_lock:
            run_id = jq.queue(store, "retrain", model_name, trigger, utc_now(), {"requested_by": actor})
        self._once(lambda: self.retrain(model_name, trigger, f"{reason} (requested by {actor})",
                                        run_id=run_id), [], f"retrain:{model_name}:{run_id}")
        return {"queued": True, "run_id": run_id, "model": model_name, "trigger": trigger,
                "follow": "vigil jobs --job retrain"}
