"""Data contracts: inferred at training, exported and edited as TOML, checked against data files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from support import query


def test_contract_export_edit_apply_check(home: Path, cli, write_spec, flights_small: Path, tmp_path: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    exported = cli("contract", "export", "delay", "1", "--home", home).out
    assert "[columns.distance]" in exported and 'kind = "numeric"' in exported
    assert "[columns.carrier]" in exported and "categories = [" in exported

    clean = cli("contract", "check", "delay", "1", flights_small, "--json", "--home", home)
    report = json.loads(clean.out)
    assert clean.code == 0 and report["ok"] is True
    assert report["row_count"] == pl.read_parquet(flights_small).height

    edited = tmp_path / "contract.toml"
    text = exported.replace("[columns.distance]\n", "[columns.distance]\n", 1)
    lines = text.splitlines()
    at = lines.index("[columns.distance]")
    lines = [f"max = 1000.0" if i > at and line.startswith("max = ") and i < at + 4 else line
             for i, line in enumerate(lines)]
    edited.write_text("\n".join(lines) + "\n")
    applied = cli("contract", "apply", "delay", "1", edited, "--reason", "long flights are out of scope",
                  "--home", home)
    assert applied.code == 0 and "revision 2" in applied.out
    checked = cli("contract", "check", "delay", "1", flights_small, "--json", "--home", home)
    violations = json.loads(checked.out)["violations"]
    above = [v for v in violations if v["column"] == "distance" and v["kind"] == "above_max"]
    long_flights = pl.read_parquet(flights_small).filter(pl.col("distance") > 1000).height
    assert checked.code == 1 and above and above[0]["rows"] == long_flights
    assert query(home, "SELECT revision, reason FROM contracts ORDER BY revision") == [
        (1, "inferred from training data"), (2, "long flights are out of scope")]
    assert query(home, "SELECT count(*) FROM audit_log WHERE action = 'contract.apply'") == [(1,)]


def test_contract_apply_refuses_bad_files(home: Path, cli, write_spec, tmp_path: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    exported = cli("contract", "export", "delay", "1", "--home", home).out
    typo = tmp_path / "typo.toml"
    typo.write_text(exported.replace("\nmax_missing_rate =", "\nmax_missing_rat =", 1))
    result = cli("contract", "apply", "delay", "1", typo, "--reason", "r", "--home", home)
    assert result.code == 2 and "unknown key" in result.err and "max_missing_rat" in result.err
    dropped = tmp_path / "dropped.toml"
    dropped.write_text(exported.split("[columns.origin]")[0])
    result = cli("contract", "apply", "delay", "1", dropped, "--reason", "r", "--home", home)
    assert result.code == 2 and "may change limits, not columns" in result.err
    assert query(home, "SELECT count(*) FROM contracts") == [(1,)]


def test_contract_check_reports_bad_data(home: Path, cli, write_spec, flights_small: Path, tmp_path: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    bad = tmp_path / "bad.csv"
    (pl.read_parquet(flights_small).head(50).drop("visib")
     .with_columns(pl.lit("ZZ").alias("carrier")).write_csv(bad))
    result = cli("contract", "check", "delay", "1", bad, "--home", home)
    assert result.code == 1
    assert "visib" in result.out and "missing_column" in result.out
    assert "carrier" in result.out and "unknown_category" in result.out
