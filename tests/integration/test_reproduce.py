"""`vigil reproduce` and artifact verification."""

from __future__ import annotations

import json
from pathlib import Path

from support import query


def _trained(cli, home: Path, write_spec) -> Path:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    return home / query(home, "SELECT a.path FROM model_versions JOIN artifacts a ON a.sha256 = artifact_sha256")[0][0]


def test_reproduce_matches(home: Path, cli, write_spec) -> None:
    _trained(cli, home, write_spec)
    result = cli("reproduce", "delay", "1", "--json", "--home", home)
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["predictions_match"] is True and report["max_abs_difference"] == 0.0
    assert report["holdout_rows"] == query(home, "SELECT holdout_rows FROM model_versions")[0][0]
    assert all(pair["recorded"] == pair["reproduced"] for pair in report["metrics"].values())
    assert report["environment_changes"] == {}


def test_changed_artifact_is_refused_naming_version_and_file(home: Path, cli, write_spec) -> None:
    artifact = _trained(cli, home, write_spec)
    artifact.write_bytes(artifact.read_bytes() + b"tampered")
    result = cli("reproduce", "delay", "1", "--home", home)
    assert result.code == 2
    assert "model delay v1" in result.err and artifact.name in result.err and "was changed" in result.err


def test_missing_artifact_is_refused(home: Path, cli, write_spec) -> None:
    artifact = _trained(cli, home, write_spec)
    artifact.unlink()
    result = cli("reproduce", "delay", "1", "--home", home)
    assert result.code == 2 and "is missing" in result.err and artifact.name in result.err


def test_changed_champion_artifact_stops_training_cleanly(home: Path, cli, write_spec) -> None:
    artifact = _trained(cli, home, write_spec)
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "r", "--home", home).code == 0
    artifact.write_bytes(b"not a model")
    result = cli("train", "--spec", write_spec(), "--home", home)
    assert result.code == 2 and "model delay v1" in result.err
    assert query(home, "SELECT count(*) FROM model_versions") == [(1,)]


def test_changed_snapshot_is_refused(home: Path, cli, write_spec) -> None:
    _trained(cli, home, write_spec)
    snapshot = home / query(home, "SELECT path FROM dataset_snapshots")[0][0]
    snapshot.write_bytes(snapshot.read_bytes()[:-10])
    result = cli("reproduce", "delay", "1", "--home", home)
    assert result.code == 2 and "dataset snapshot" in result.err and "was changed" in result.err


def test_unknown_version(home: Path, cli, write_spec) -> None:
    _trained(cli, home, write_spec)
    assert "has no version 9" in cli("reproduce", "delay", "9", "--home", home).err
    assert "no model named 'nope'" in cli("show", "nope", "1", "--home", home).err
