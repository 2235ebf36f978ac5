"""`vigil init` and `vigil migrate` on a real home."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from appliance.store.migrations import discover
from support import query

SHIPPED = [(m.number, m.name) for m in discover()]


def test_init_creates_the_home_layout(tmp_path: Path, cli) -> None:
    target = tmp_path / "h"
    result = cli("init", "--home", target)
    assert result.code == 0
    assert (target / "vigil.duckdb").is_file()
    assert (target / "artifacts").is_dir() and (target / "datasets").is_dir()
    config = (target / "vigil.toml").read_text()
    assert config.startswith("# Vigil configuration")
    assert "# port = 8700" in config and "VIGIL_SERVER_PORT" in config
    assert tomllib.loads(config) == {"store": {}, "server": {}, "training": {}, "serving": {}, "monitoring": {},
                                     "alerts": {}, "jobs": {}, "canary": {}, "promotion": {}, "sql": {},
                                     "exports": {}, "slo": {}, "owners": {}}
    assert query(target, "SELECT version, name FROM schema_migrations ORDER BY 1") == SHIPPED


def test_init_uses_vigil_home_then_default(tmp_path: Path, vigil, monkeypatch) -> None:
    from_env = tmp_path / "from-env"
    assert vigil("init", env={"VIGIL_HOME": str(from_env)}).code == 0
    assert (from_env / "vigil.duckdb").is_file()
    monkeypatch.chdir(tmp_path)
    result = vigil("init", env={"VIGIL_HOME": ""})
    assert result.code == 0
    assert (tmp_path / "vigil-home" / "vigil.duckdb").is_file()


def test_init_twice_keeps_everything(home: Path, cli) -> None:
    (home / "vigil.toml").write_text("[server]\nport = 9100\n")
    assert cli("init", "--home", home).code == 0
    assert (home / "vigil.toml").read_text() == "[server]\nport = 9100\n"
    assert query(home, "SELECT count(*) FROM schema_migrations") == [(len(SHIPPED),)]


def test_migrate_status_lists_applied_migrations(home: Path, cli) -> None:
    result = cli("migrate", "--status", "--json", "--home", home)
    assert result.code == 0
    states = json.loads(result.out)
    assert [(s["number"], s["name"], s["state"]) for s in states] == [(n, name, "applied") for n, name in SHIPPED]
    assert cli("migrate", "--home", home).out.strip() == "store is up to date"


def test_store_newer_than_code_is_refused(home: Path, cli) -> None:
    from appliance.store.connection import Store

    with Store.open(home / "vigil.duckdb") as store:
        store.execute("INSERT INTO schema_migrations VALUES (999, '0999_future', 'x', now()::TIMESTAMP)")
    for args in (["models"], ["migrate"], ["migrate", "--status"]):
        result = cli(*args, "--home", home)
        if args == ["migrate", "--status"]:
            assert result.code == 0 and "unknown" in result.out
        else:
            assert result.code == 2
            assert "newer than this Vigil" in result.err and "upgrade Vigil" in result.err


def test_changed_migration_is_refused(home: Path, cli) -> None:
    from appliance.store.connection import Store

    with Store.open(home / "vigil.duckdb") as store:
        store.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    result = cli("models", "--home", home)
    assert result.code == 2
    assert "changed after it was applied" in result.err


def test_commands_on_a_missing_home_say_how_to_create_it(tmp_path: Path, cli) -> None:
    result = cli("models", "--home", tmp_path / "nowhere")
    assert result.code == 2
    assert "run `vigil init --home" in result.err


def test_invalid_config_names_the_key(home: Path, cli) -> None:
    (home / "vigil.toml").write_text("[server]\nprot = 1\n")
    result = cli("models", "--home", home)
    assert result.code == 2
    assert "server.prot" in result.err and "unknown key" in result.err
