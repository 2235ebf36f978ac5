"""Where alert changes go once committed: a JSON-lines file in the home and an optional webhook.

The `alerts` table is the record (written in the check's transaction). After the commit, each
unmuted change is appended to `<home>/alerts.jsonl` (one JSON object per line, fsynced) and, when
`alerts.webhook_url` is set, queued for the webhook. The webhook sender is one background thread
with a bounded queue: each POST is retried with exponential backoff, and a receiver that is down,
slow or refusing only costs log lines and the `dropped`/`failed` counters — never a blocked check,
never a crash.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from appliance.alerts.evaluation import AlertChange
from appliance.jsonable import plain

log = logging.getLogger("vigil.alerts")
JSONL_FILE = "alerts.jsonl"


def payload(change: AlertChange) -> dict[str, Any]:
    alert = change.alert
    record = {"event": f"alert.{change.kind}", "alert_id": alert["alert_id"], "rule": alert["rule"],
              "model": alert["model_name"], "subject": alert["subject"], "metric": alert["metric"],
              "severity": alert["severity"], "value": alert["value"], "threshold": alert["threshold"],
              "message": alert["message"], "opened_at": alert["opened_at"],
              "resolved_at": alert["resolved_at"], "incident_id": alert["incident_id"], "owner": alert.get("owner")}
    return dict(json.loads(json.dumps(record, default=plain)))


def append_jsonl(home: Path, changes: list[AlertChange]) -> int:
    lines = [json.dumps(payload(c), sort_keys=True) + "\n" for c in changes if not c.alert["muted"]]
    if lines:
        with (home / JSONL_FILE).open("a", encoding="utf-8") as handle:
            handle.write("".join(lines))
            handle.flush()
            os.fsync(handle.fileno())
    return len(lines)


class WebhookSender:
    def __init__(self, url: str, *, timeout_s: float = 5.0, attempts: int = 5, backoff_s: float = 0.5,
                 max_queue: int = 1000) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=max_queue)
        self.sent = self.failed = self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="alert-webhook", daemon=True)
        self._thread.start()

    def send(self, changes: list[AlertChange]) -> None:
        for change in changes:
            if change.alert["muted"]:
                continue
            try:
                self._queue.put_nowait(payload(change))
            except queue.Full:
                self.dropped += 1
                log.warning("alert webhook queue full; dropped alert %s", change.alert["alert_id"])

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (within `timeout`), then stop."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            self._deliver(item)

    def _deliver(self, item: dict[str, Any]) -> None:
        body = json.dumps(item).encode()
        for attempt in range(self.attempts):
            try:
                request = urllib.request.Request(self.url, data=body, method="POST",
                                                 headers={"Content-Type": "application/json",
                                                          "User-Agent": "vigil-alerts"})
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    if 200 <= response.status < 300:
                        self.sent += 1
                        return
            except (urllib.error.URLError, OSError, ValueError) as e:
                log.warning("alert webhook attempt %d/%d failed: %s", attempt + 1, self.attempts, e)
            if attempt + 1 < self.attempts:
                time.sleep(self.backoff_s * (2 ** attempt))
        self.failed += 1
        log.warning("alert webhook gave up on alert %s after %d attempts", item.get("alert_id"), self.attempts)


class AlertRouter:
    """Routing for one home: the JSON-lines file, the webhook when configured, and each model owner's own
    webhook (`[owners.models.NAME] webhook_url`) for that model's alerts."""

    def __init__(self, home: Path, *, jsonl: bool, webhook_url: str, timeout_s: float, attempts: int,
                 backoff_s: float, owner_webhooks: dict[str, str] | None = None) -> None:
        self.home = home
        self.jsonl = jsonl
        self.webhook = WebhookSender(webhook_url, timeout_s=timeout_s, attempts=attempts, backoff_s=backoff_s) \
            if webhook_url else None
        self.owner_webhooks = {model: WebhookSender(url, timeout_s=timeout_s, attempts=attempts, backoff_s=backoff_s)
                               for model, url in (owner_webhooks or {}).items()}

    @classmethod
    def from_config(cls, home: Path, config: Any) -> "AlertRouter":
        alerts = config.alerts
        owners = {name: owner.webhook_url for name, owner in config.owners.models.items() if owner.webhook_url}
        return cls(home, jsonl=alerts.jsonl, webhook_url=alerts.webhook_url, timeout_s=alerts.webhook_timeout_s,
                   attempts=alerts.webhook_attempts, backoff_s=alerts.webhook_backoff_s, owner_webhooks=owners)

    def deliver(self, changes: list[AlertChange]) -> None:
        """Never raises: a failure to route is logged (the alerts table already holds the record)."""
        if not changes:
            return
        if self.jsonl:
            try:
                append_jsonl(self.home, changes)
            except OSError as e:
                log.warning("could not append to %s: %s", self.home / JSONL_FILE, e)
        if self.webhook is not None:
            self.webhook.send(changes)
        for model, sender in self.owner_webhooks.items():
            sender.send([c for c in changes if c.alert["model_name"] == model])

    def close(self, timeout: float = 10.0) -> None:
        if self.webhook is not None:
            self.webhook.close(timeout)
        for sender in self.owner_webhooks.values():
            sender.close(timeout)
