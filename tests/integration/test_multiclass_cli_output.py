"""`vigil train` and `vigil show` on a multiclass model: the overall metrics on one line, then precision and
recall one class a line and the confusion matrix as a table, instead of every count on one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from daemon_support import BAND_CLASSES, BAND_SPEC
from support import query


def test_train_and_show_group_multiclass_metrics_per_class(home: Path, cli: Callable[..., Any], tmp_path: Path,
                                                           flights_small: Path) -> None:
    spec = tmp_path / "band.toml"
    spec.write_text(BAND_SPEC.format(path=flights_small.as_posix(), estimator="hist_gradient_boosting",
                                     params="{ max_iter = 10 }"))
    trained = cli("train", "--spec", spec, "--home", home)
    assert trained.code == 0, trained.err
    counts = dict(query(home, "SELECT metric, value FROM version_metrics WHERE segment_column IS NULL "
                              "AND metric LIKE 'confusion:%'"))
    shown = cli("show", "band", "1", "--home", home)
    assert shown.code == 0, shown.err
    for output, indent in ((trained.out, "  "), (shown.out, " " * 13)):
        lines = output.splitlines()
        overall = next(line for line in lines if "log_loss=" in line)
        assert "roc_auc_ovr_macro=" in overall and "confusion" not in overall and "precision" not in overall
        assert f"{indent}class    precision  recall" in lines
        for name in BAND_CLASSES:
            assert any(line.startswith(f"{indent}{name}") and len(line.split()) == 3 for line in lines)
        at = lines.index(f"{indent}confusion (rows: true class, columns: predicted)")
        assert lines[at + 1].split() == BAND_CLASSES
        for offset, true in enumerate(BAND_CLASSES, start=2):
            row = lines[at + offset].split()
            assert row == [true, *[f"{counts[f'confusion:{true}:{p}']:.0f}" for p in BAND_CLASSES]]
