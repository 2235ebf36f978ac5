"""What every command works in: the home, its configuration and an open store."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol

from appliance.config import VigilConfig, load_config
from appliance.home import Home
from appliance.store import migrations
from appliance.store.connection import Store

if TYPE_CHECKING:
    from appliance.store.sql_console import Console


class AlertDelivery(Protocol):
    """Where alert changes go: the daemon's one `alerts.routing.AlertRouter` (typed here by what the
    context needs, so the home stays below the alerts that use it)."""

    def deliver(self, changes: list[Any]) -> None: ...

    def close(self, timeout: float = 10.0) -> None: ...


@dataclass(frozen=True, slots=True)
class AppContext:
    home: Home
    config: VigilConfig
    store: Store
    alerts: AlertDelivery | None = None  # the daemon's alert routing; None: commands route for themselves
    console: "Console | None" = None  # the daemon's SQL console; None: a query gets a console of its own
    client_gone: Callable[[], bool] | None = None  # True once the caller's connection closed (admin API)


@contextmanager
def open_context(home: Home, *, read_only: bool = False, check_schema: bool = True,
                 wait_s: float = 0.0) -> Iterator[AppContext]:
    """Open an initialised home's store (refusing one with pending or foreign migrations), waiting up to
    `wait_s` seconds while another process holds it."""
    home.require()
    config = load_config(home.root)
    store = Store.open(home.store_path, read_only=read_only, threads=config.store.threads,
                       memory_limit=config.store.memory_limit, wait_s=wait_s)
    try:
        if check_schema:
            migrations.require_current(store)
        yield AppContext(home, config, store)
    finally:
        store.close()
