"""The Vigil home: one directory holding the store, artifacts, dataset snapshots and config."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import HomeError

DEFAULT_HOME = "vigil-home"
STORE_FILE = "vigil.duckdb"


@dataclass(frozen=True, slots=True)
class Home:
    """Paths inside a Vigil home."""

    root: Path

    @property
    def store_path(self) -> Path:
        return self.root / STORE_FILE

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def datasets(self) -> Path:
        return self.root / "datasets"

    @property
    def config_path(self) -> Path:
        return self.root / "vigil.toml"

    def require(self) -> "Home":
        """Refuse a directory that was never initialised."""
        if not self.store_path.exists():
            raise HomeError(
                f"no Vigil home at {self.root} (no {STORE_FILE}); run `vigil init --home {self.root}`"
            )
        return self


def resolve_home(explicit: str | None = None) -> Home:
    """`--home`, else `$VIGIL_HOME`, else `./vigil-home`."""
    chosen = explicit or os.environ.get("VIGIL_HOME") or DEFAULT_HOME
    return Home(Path(chosen).expanduser().resolve())
