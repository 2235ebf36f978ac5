"""`vigil init`: create a home with its store, artifact and dataset folders and a commented config."""

from __future__ import annotations

from appliance.config import load_config, render_template
from appliance.errors import HomeError
from appliance.home import Home
from appliance.store import migrations
from appliance.store.connection import Store


def initialise(home: Home) -> list[str]:
    """Create (or complete) the home and apply migrations; returns the migrations applied."""
    if home.root.exists() and not home.root.is_dir():
        raise HomeError(f"{home.root} exists and is not a directory; choose another --home")
    home.root.mkdir(parents=True, exist_ok=True)
    home.artifacts.mkdir(exist_ok=True)
    home.datasets.mkdir(exist_ok=True)
    if not home.config_path.exists():
        home.config_path.write_text(render_template(), encoding="utf-8")
    config = load_config(home.root)
    with Store.open(home.store_path, threads=config.store.threads, memory_limit=config.store.memory_limit) as store:
        return migrations.apply(store)
