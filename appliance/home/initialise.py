"""`vigil init`: create a home with its store, artifact, dataset and export folders and a commented config.

Everything is created private (folders 0700, files 0600) whatever the umask, and a home that exists
already has group and other permissions taken off (appliance/home/).
"""

from __future__ import annotations

from appliance.config import load_config, render_template
from appliance.errors import HomeError
from appliance.home import Home, make_private
from appliance.store import migrations
from appliance.store.connection import Store


def initialise(home: Home) -> list[str]:
    """Create (or complete) the home and apply migrations; returns the migrations applied."""
    if home.root.exists() and not home.root.is_dir():
        raise HomeError(f"{home.root} exists and is not a directory; choose another --home")
    home.root.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in (home.artifacts, home.datasets, home.exports):
        folder.mkdir(mode=0o700, exist_ok=True)
    if not home.config_path.exists():
        home.config_path.write_text(render_template(), encoding="utf-8")
    config = load_config(home.root)
    with Store.open(home.store_path, threads=config.store.threads, memory_limit=config.store.memory_limit) as store:
        applied = migrations.apply(store)
    make_private(home.root)
    return applied
