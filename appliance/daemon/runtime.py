"""Start, serve and stop the daemon.

Stopping (SIGTERM or SIGINT): stop accepting connections, answer 503 to new requests on open
ones, interrupt running SQL console queries, wait for in-flight requests, commit the prediction
log, checkpoint the store, exit 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

from appliance.config import load_config
from appliance.daemon import discovery
from appliance.daemon.service import Service
from appliance.errors import DaemonError
from appliance.home import Home, make_private, private_umask, refuse_shared_home
from appliance.http.app import App
from appliance.store import backup_queries, migrations
from appliance.store.connection import LOCK_WAIT_S, Store

log = logging.getLogger("vigil.daemon")


def serve(home: Home, host: str | None, port: int | None) -> int:
    home.require()
    _private_home(home)
    config = load_config(home.root)
    host = host or config.server.host
    port = config.server.port if port is None else port
    store = Store.open(home.store_path, threads=config.store.threads, memory_limit=config.store.memory_limit,
                       wait_s=LOCK_WAIT_S)
    service: Service | None = None
    try:
        migrations.require_current(store)
        service = Service(home, config, store, discovery.ensure_token(home))
        service.refresh_routes()
        return _run(home, service, host, port)
    finally:
        if service is not None:
            service.close()
        store.close()


def _private_home(home: Home) -> None:
    """Refuse a home other accounts may write to; make everything the daemon creates, and what the
    home already holds, private to its account (appliance/home/)."""
    refuse_shared_home(home.root)
    private_umask()
    home.exports.mkdir(mode=0o700, exist_ok=True)
    changed = make_private(home.root)
    if changed:
        log.warning("made %d file(s) and folder(s) of %s private to their owner (no group or other access)",
                    changed, home.root)


def _run(home: Home, service: Service, host: str, port: int) -> int:
    from apscheduler.schedulers.background import BackgroundScheduler

    from appliance.http.server import create_server
    from appliance.jobs.scheduler import Jobs

    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True})
    scheduler.start()
    service.jobs = Jobs(service, scheduler)
    service.jobs.start()
    serving = service.config.serving
    holder: dict[str, Any] = {}
    app = App(service, max_body_bytes=serving.max_body_bytes, max_queue=serving.max_queue,
              queue_depth=lambda: len(holder["server"].task_dispatcher.queue),
              max_feedback_body_bytes=serving.max_feedback_body_bytes)
    try:
        server = create_server(app, host=host, port=port, threads=serving.threads, ident="vigil",
                               max_request_body_size=max(serving.max_body_bytes * 16, serving.max_feedback_body_bytes), channel_timeout=60,
                               backlog=1024, clear_untrusted_proxy_headers=True, asyncore_use_poll=True,
                               read_timeout_s=serving.read_timeout_s,
                               max_per_client=serving.max_connections_per_client,
                               channel_request_lookahead=1)  # keeps reading, so a client gone is seen
    except OSError as e:
        scheduler.shutdown(wait=False)
        raise DaemonError(f"cannot listen on {host}:{port} ({e.strerror or e}); choose another --port "
                          "or stop what uses it") from e
    holder["server"] = server
    # waitress warns "Task queue depth is N" for every request that waits for a thread: under load a
    # line per request on the daemon's output. Vigil sheds load itself and exports the depth instead.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    service.metrics.gauge("vigil_request_queue_depth", "Requests waiting for a worker thread (shedding starts "
                          "above serving.max_queue).", lambda: [((), float(len(server.task_dispatcher.queue)))])
    actual_port = int(server.effective_port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.run, name="http", daemon=True).start()
    discovery.publish(home, host, actual_port)
    ready, detail = service.readiness()
    sys.stdout.write(f"vigil up: serving {home.root} on http://{host}:{actual_port} (pid "
                     f"{__import__('os').getpid()}; {'ready' if ready else 'NOT ready'}: "
                     f"{', '.join(detail.get('models', [])) or 'no models with a champion'})\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        _shutdown(home, service, app, server, scheduler)
    sys.stdout.write("vigil up: stopped cleanly\n")
    return 0


def _shutdown(home: Home, service: Service, app: App, server: Any, scheduler: Any) -> None:
    app.draining = True
    server.accepting = False
    server.pull_trigger()
    service.console.stop_all()  # running SQL console queries are interrupted, not waited for
    if not app.wait_idle(service.config.serving.shutdown_timeout_s):
        log.warning("shutdown: %d request(s) still in flight after the timeout", app.in_flight)
    if service.jobs is not None and not service.jobs.stop(timeout_s=10.0):  # a replay ends at its next chunk
        log.warning("shutdown: a replay was still running after 10 s")
    service.close()
    scheduler.shutdown(wait=False)
    from appliance.serving.cost_meter import save
    from appliance.serving.unanswered import save as save_unanswered

    for what, keep in (("the measured predict costs", save),  # CPU time measured since the last rollup
                       ("the requests refused unkept", save_unanswered)):  # 503s (shed, draining) since then
        try:
            with service.write_lock:
                keep(service.store)
        except Exception as e:  # measurements, never a reason to fail a shutdown
            log.warning("shutdown: could not store %s: %s", what, e)
    with service.write_lock:  # a job still running (a replay) writes under this lock: never mid-checkpoint
        backup_queries.checkpoint(service.store)
    discovery.withdraw(home)
