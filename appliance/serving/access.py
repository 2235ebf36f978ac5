"""Scoring API keys and their rate limits (token buckets), and the admin token check."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from appliance.clock import utc_now
from appliance.errors import AccessError, RetryLater, Unauthorized
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store

KEY_PREFIX = "vsk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(store: Store, name: str, rate_per_second: float | None, actor: str) -> str:
    """Store a new key's hash and return the key itself (shown once)."""
    if not name.strip():
        raise AccessError("an API key needs a name; pass NAME")
    if rate_per_second is not None and rate_per_second <= 0:
        raise AccessError("--rate must be a positive number of requests per second")
    if pq.api_key_name_count(store, name):
        raise AccessError(f"an API key named '{name}' exists; choose another name or revoke it first")
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    at = utc_now()
    with store.transaction():
        pq.insert_api_key(store, name, hash_key(key), rate_per_second, actor, at)
        _audit(store, actor, "api_key.create", {"name": name, "rate_per_second": rate_per_second}, name,
               None, {"rate_per_second": rate_per_second})
    return key


def revoke_api_key(store: Store, name: str, actor: str) -> None:
    with store.transaction():
        if not pq.revoke_api_key(store, name, utc_now()):
            raise AccessError(f"no active API key named '{name}'; list them with `vigil api-keys list`")
        _audit(store, actor, "api_key.revoke", {"name": name}, name, {"active": True}, {"active": False})


def _audit(store: Store, actor: str, action: str, details: dict[str, object], name: str, before: object,
           after: object) -> None:
    from appliance.store import registry_queries as q

    q.insert_audit(store, utc_now(), actor, action, None, None, details, subject=f"api_key:{name}", before=before,
                   after=after)


class _Bucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> float:
        """0 if a token was taken, else seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class ScoringAccess:
    """Checks a scoring request's API key (when keys are required) and its rate limit."""

    def __init__(self, store: Store, *, required: bool) -> None:
        self._store = store
        self.required = required
        self._lock = threading.Lock()
        self._known: dict[str, tuple[str, float | None] | None] = {}
        self._buckets: dict[str, _Bucket] = {}

    def forget(self) -> None:
        """Drop cached keys (after a key is created or revoked)."""
        with self._lock:
            self._known.clear()

    def check(self, key: str | None) -> str | None:
        """The key's name, or raise Unauthorized / RetryLater(429)."""
        if not self.required and key is None:
            return None
        if key is None:
            raise Unauthorized("this endpoint needs an API key: send it as 'Authorization: Bearer KEY'")
        digest = hash_key(key)
        with self._lock:
            if digest not in self._known:
                row = pq.api_key_by_hash(self._store, digest)
                self._known[digest] = (row["name"], row["rate_per_second"]) if row else None
            found = self._known[digest]
            if found is None:
                raise Unauthorized("unknown or revoked API key")
            name, rate = found
            if rate is not None:
                bucket = self._buckets.setdefault(name, _Bucket(rate))
                wait = bucket.take()
                if wait > 0:
                    raise RetryLater(f"API key '{name}' is over its limit of {rate:g} requests/s", 429, wait)
        return name


def check_admin_token(expected: str, given: str | None) -> None:
    if given is None or not hmac.compare_digest(expected.encode(), given.encode()):
        raise Unauthorized("the admin API needs the daemon's token: 'Authorization: Bearer TOKEN' "
                           "(the CLI reads it from <home>/admin.token)")
