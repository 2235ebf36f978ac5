"""`vigil report` and `vigil reports` without a daemon, on a regression model scored in batch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tests.support import query


def test_a_regression_models_report_from_batch_traffic(home: Path, cli: Callable[..., Any], write_spec,
                                                       flights_small: Path, tmp_path: Path) -> None:
    text = (write_spec().read_text()
            .replace('task = "binary"', 'task = "regression"').replace('target = "delayed"', 'target = "arr_delay"')
            .replace("positive_class = true\n", "").replace('model = "delay"', 'model = "minutes"'))
    spec = tmp_path / "minutes.toml"
    spec.write_text(text)
    assert cli("train", "--spec", spec, "--home", home).code == 0
    assert cli("promote", "minutes", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    scored = cli("score", "minutes", "--input", flights_small, "--output", tmp_path / "s.parquet", "--home", home,
                 "--json")
    assert scored.code == 0, scored.err

    made = cli("report", "minutes", "--window", "24h", "--home", home, "--json")
    assert made.code == 0, made.err
    report = json.loads(made.out)
    page = Path(report["path"]).read_text()
    assert Path(report["path"]).parent == home / "reports" and report["trigger"] == "manual"
    assert 'data-chart="traffic"' in page and 'data-chart="scores"' in page  # a batch is traffic too
    assert "No labels arrived" in page and "mae" in page  # regression: the outcome table's metrics
    listed = cli("reports", "--home", home)
    assert listed.code == 0 and f"{report['report_id']}  " in listed.out and "manual" in listed.out
    assert query(home, "SELECT count(*) FROM reports WHERE model_name = 'minutes'") == [(1,)]
    bad = cli("report", "minutes", "--out", tmp_path / "r.txt", "--home", home)
    assert bad.code == 2 and "FILE.html" in bad.err and bad.err.count("\n") == 1
    assert cli("report", "minutes", "--window", "7x", "--out", tmp_path / "r.html", "--home", home).code == 2
