"""A multiclass version in a signed bundle: its class names travel in the lineage, so the box that imports
it names the classes as the box that trained it (the model itself only knows class positions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from daemon_support import BAND_CLASSES, BAND_SPEC
from support import query


def test_bundle_carries_the_classes(tmp_path: Path, cli: Callable[..., Any], flights_small: Path) -> None:
    source, target = tmp_path / "factory", tmp_path / "edge"
    for home in (source, target):
        assert cli("init", "--home", home).code == 0
    spec = tmp_path / "band.toml"
    spec.write_text(BAND_SPEC.format(path=flights_small.as_posix(), estimator="hist_gradient_boosting",
                                     params="{ max_iter = 20 }"))
    assert cli("train", "--spec", spec, "--home", source).code == 0
    key = json.loads(cli("keys", "init", "--home", source, "--json").out)
    bundle = tmp_path / "band-v1.vbundle"
    assert cli("bundle", "export", "band", "1", bundle, "--home", source).code == 0
    assert cli("keys", "trust", "factory", key["public_key"], "--home", target).code == 0

    done = cli("bundle", "import", bundle, "--reason", "ship to the edge", "--home", target)
    assert done.code == 0, done.err
    assert query(target, "SELECT version, classes FROM model_versions") == [(1, BAND_CLASSES)]
    ours = json.loads(cli("show", "band", "1", "--home", target, "--json").out)
    theirs = json.loads(cli("show", "band", "1", "--home", source, "--json").out)
    assert ours["metrics"] == theirs["metrics"]  # per-class metrics under the same class names
    assert {f"recall:{c}" for c in BAND_CLASSES} <= set(ours["metrics"])
