"""Label batches written to a real store: each label located (model, version, row; a row index beyond the
tables' INTEGER names no row), new labels inserted, changed ones replaced, the same ones left alone, per
label in batch order, whatever order the batch names its rows in."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from appliance.serving import labels
from appliance.serving.feedback import batch_of_items
from appliance.serving.labels import LabelsRefused, VersionClasses
from appliance.store import migrations
from appliance.store.connection import Store

VERSIONS = {1: VersionClasses("binary", {"false": 0.0, "true": 1.0}), 2: VersionClasses("binary", {"0": 0.0, "1": 1.0})}
NOW = datetime(2026, 1, 2, 3, 4, 5)
LOGGED = [("a", 0, "m", 1, "champion"), ("a", 1, "m", 1, "champion"), ("a", 2, "m", 1, "champion"),
          ("b", 0, "m", 2, "canary"), ("b", 1, "m", 2, "canary"), ("o", 0, "other", 1, "champion"),
          ("s", 0, "m", 2, "shadow")]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "vigil.duckdb") as opened:
        migrations.apply(opened)
        opened.append_rows("prediction_log", ["request_id", "row_index", "logged_at", "model_name", "version", "route",
                                              "api", "latency_ms", "flags"],
                           [(*row[:2], NOW, *row[2:], "native", 1.0, []) for row in LOGGED])
        yield opened


def _write(store: Store, items: list[dict[str, Any]], now: datetime = NOW) -> list[tuple[Any, ...]]:
    with store.transaction():
        written = labels.write_checked(store, "m", "binary", VERSIONS, batch_of_items(items), now)
    return written.select("index", "request_id", "row_index", "status").rows()


def _stored(store: Store) -> list[tuple[Any, ...]]:
    return store.execute("SELECT request_id, row_index, model_name, label, label_value, received_at, event_time "
                         "FROM feedback ORDER BY request_id, row_index")


def test_new_changed_and_same_labels_in_any_order(store: Store) -> None:
    first = [{"request_id": "b", "row_index": 1, "label": 1}, {"request_id": "o", "label": True},
             {"request_id": "a", "row_index": 0, "label": True, "event_time": datetime(2016, 3, 1)},
             {"request_id": "s", "label": True}, {"request_id": "a", "row_index": 5, "label": True},
             {"request_id": "a", "row_index": 2 ** 31, "label": True}, {"request_id": "a", "row_index": 1, "label": False}]
    assert _write(store, first) == [
        (0, "b", 1, "recorded"), (1, "o", 0, "wrong_model"), (2, "a", 0, "recorded"), (3, "s", 0, "unknown_request_id"),
        (4, "a", 5, "unknown_row"), (5, "a", 2 ** 31, "unknown_row"), (6, "a", 1, "recorded")]
    assert _stored(store) == [("a", 0, "m", "true", 1.0, NOW, datetime(2016, 3, 1)), ("a", 1, "m", "false", 0.0, NOW, None),
                              ("b", 1, "m", "1", 1.0, NOW, None)]

    later = datetime(2026, 1, 3)
    second = [{"request_id": "a", "row_index": 2, "label": "false"}, {"request_id": "b", "row_index": 1, "label": "0"},
              {"request_id": "a", "row_index": 0, "label": True}, {"request_id": "a", "row_index": 1, "label": True,
                                                                  "event_time": datetime(2016, 3, 2)}]
    assert _write(store, second, later) == [(0, "a", 2, "recorded"), (1, "b", 1, "updated"), (2, "a", 0, "unchanged"),
                                            (3, "a", 1, "updated")]
    assert _stored(store) == [("a", 0, "m", "true", 1.0, NOW, datetime(2016, 3, 1)),
                              ("a", 1, "m", "true", 1.0, later, datetime(2016, 3, 2)),
                              ("a", 2, "m", "false", 0.0, later, None), ("b", 1, "m", "0", 0.0, later, None)]
    assert _write(store, second, datetime(2026, 1, 4)) == [(0, "a", 2, "unchanged"), (1, "b", 1, "unchanged"),
                                                           (2, "a", 0, "unchanged"), (3, "a", 1, "unchanged")]
    assert _stored(store)[1][5] == later  # the same file twice adds nothing, not even a new arrival time


def test_each_row_is_checked_against_its_own_versions_classes(store: Store) -> None:
    mixed = [{"request_id": "a", "row_index": 0, "label": True}, {"request_id": "b", "row_index": 0, "label": True},
             {"request_id": "b", "row_index": 1, "label": 1}, {"request_id": "a", "row_index": 1, "label": 1}]
    with pytest.raises(LabelsRefused) as refused:
        _write(store, mixed)
    assert [(b.index, b.kind, b.problem) for b in refused.value.bad] == [
        (1, "unknown_class", "'true' is not a class of this model; its classes are 0, 1"),
        (3, "unknown_class", "'1' is not a class of this model; its classes are false, true")]
    assert _stored(store) == []
