"""`vigil audit export --openlineage`: one OpenLineage run event per training run, snapshot in, version out,
into a directory the export creates. (tests/clients/test_openlineage_schema.py validates the events
against the official OpenLineage schemas.)"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from tests.support import query


def test_run_events_follow_the_spec_and_are_stable(home: Path, cli: Callable[..., Any],
                                                   write_spec: Callable[..., Path], tmp_path: Path) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    assert cli("train", "--spec", write_spec("b.toml", seed=9), "--home", home).code == 0
    out = tmp_path / "export" / "new"  # does not exist yet: the export creates it, private
    result = cli("audit", "export", out, "--openlineage", "--home", home)
    assert result.code == 0 and "2 OpenLineage run events" in result.out
    assert out.stat().st_mode & 0o077 == 0
    events = [json.loads(line) for line in (out / "openlineage" / "events.ndjson").read_text().splitlines()]
    assert len(events) == 2 and len(list((out / "openlineage").glob("*.json"))) == 2
    snapshot, columns = query(home, "SELECT snapshot_id, (SELECT count(*) FROM datasheet_columns) FROM dataset_snapshots")[0]
    for version, event in enumerate(events, start=1):
        for key in ("eventType", "eventTime", "run", "job", "inputs", "outputs", "producer", "schemaURL"):
            assert key in event  # the RunEvent's required fields
        assert event["eventType"] == "COMPLETE" and event["schemaURL"].endswith("OpenLineage.json#/$defs/RunEvent")
        assert uuid.UUID(event["run"]["runId"]).version == 5
        datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
        assert event["job"]["name"] == "train.delay" and event["job"]["namespace"].startswith("vigil://")
        source, file = event["inputs"]
        assert file == {"namespace": "file", "name": query(home, "SELECT source FROM dataset_snapshots")[0][0],
                        "facets": {}}
        assert source["name"] == f"snapshots/{snapshot}" and len(source["facets"]["schema"]["fields"]) == columns
        [model] = event["outputs"]
        assert model["name"] == f"models/delay/v{version}"
        for facets in (source["facets"], model["facets"], event["job"]["facets"]):
            assert all({"_producer", "_schemaURL"} <= set(f) for f in facets.values())
    again = tmp_path / "again"
    again.mkdir()
    assert cli("audit", "export", again, "--openlineage", "--home", home).code == 0
    assert (again / "openlineage" / "events.ndjson").read_text() == (out / "openlineage" / "events.ndjson").read_text()
