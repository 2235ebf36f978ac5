"""The store never downloads extensions; light commands never import the heavy libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from appliance.store.connection import Store


def test_extension_downloads_are_off(home: Path) -> None:
    with Store.open(home / "vigil.duckdb", read_only=True) as store:
        settings = dict(store.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('autoinstall_known_extensions', 'autoload_known_extensions', 'allow_community_extensions')"))
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false",
                        "allow_community_extensions": "false"}


def test_models_and_help_import_no_heavy_library(home: Path) -> None:
    probe = (
        "import sys\n"
        "from appliance.cli.main import main\n"
        "code = main(sys.argv[1:])\n"
        "heavy = {'sklearn', 'polars', 'numpy', 'scipy', 'skops', 'pandas', 'pyarrow'}\n"
        "print(code, sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, "models", "--home", str(home)],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_csv_source_trains(home: Path, cli, write_spec, flights_small: Path, tmp_path: Path) -> None:
    import polars as pl

    csv = tmp_path / "flights.csv"
    pl.read_parquet(flights_small).write_csv(csv)
    result = cli("train", "--spec", write_spec(source=f'path = "{csv.as_posix()}"'), "--home", home, "--json")
    assert result.code == 0, result.err
    parquet = cli("train", "--spec", write_spec("p.toml"), "--home", home, "--json")
    import json

    assert json.loads(result.out)["metrics"]["roc_auc"] == json.loads(parquet.out)["metrics"]["roc_auc"]
