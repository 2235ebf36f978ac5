"""OpenLineage run events for Vigil's lineage: one per training run (and per import or retrain) —
the dataset snapshot in, the model version out — and one per batch score — the source and the
model version in, the scored file out — so Marquez or any OpenLineage consumer can ingest it.

Each event is a `COMPLETE` RunEvent of the OpenLineage 2-0-2 spec; every facet names the facet
schema version it follows (`FACETS`), and sits where the spec puts it: the source query as the job's
`sql` facet, the row count of a scored file as the output's `outputStatistics` output facet. Its run
id is a UUID derived from the model and version (or the batch), so exporting twice gives the same
events (consumers deduplicate by run). Namespaces are `vigil://<host>`; the input dataset is
`snapshots/<sha256>` with its schema facet (from the datasheet) and a file source as a `file` dataset,
the output `models/<name>/v<version>` with Vigil's lineage in a custom facet.
"""

from __future__ import annotations

import json
import re
import socket
import uuid
from pathlib import Path
from typing import Any

from appliance.store import lineage_event_queries as q
from appliance.store.connection import Store

PRODUCER = "https://vigil.invalid/openlineage"  # identifies the producing tool, as the spec asks
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACETS = {  # each facet's schema version, as published by OpenLineage (the `$id` of its schema file)
    "DatasourceDatasetFacet": "1-0-1",
    "JobTypeJobFacet": "2-0-4",
    "OutputStatisticsOutputDatasetFacet": "1-0-2",
    "SchemaDatasetFacet": "1-2-0",
    "SQLJobFacet": "1-1-0",
}
VIGIL_FACET_URL = f"{PRODUCER}/VigilLineageDatasetFacet.json#/$defs/VigilLineageDatasetFacet"
NAMESPACE_ID = uuid.UUID("6f1c9d1e-0b7a-4c3e-9a52-7d1f0c2b9e11")
_QUERY = re.compile(r"\s*(\(|(select|with|from|values|table|pivot|unpivot)[\s(])", re.IGNORECASE)


def _facet(kind: str, **fields: Any) -> dict[str, Any]:
    url = f"https://openlineage.io/spec/facets/{FACETS[kind]}/{kind}.json#/$defs/{kind}"
    return {"_producer": PRODUCER, "_schemaURL": url, **fields}


def _iso(value: Any) -> str:
    return f"{str(value).replace(' ', 'T')[:26]}Z"


def _is_query(source: str) -> bool:
    """A source is a DuckDB query (SQL text) or a file path; queries start with a query keyword."""
    return _QUERY.match(source) is not None


def _job(namespace: str, name: str, kind: str, source: str) -> dict[str, Any]:
    """The job, typed, with the query it read as its `sql` facet when its source was one."""
    facets = {"jobType": _facet("JobTypeJobFacet", processingType="BATCH", integration="VIGIL", jobType=kind)}
    if _is_query(source):
        facets["sql"] = _facet("SQLJobFacet", query=source, dialect="duckdb")
    return {"namespace": namespace, "name": name, "facets": facets}


def _file_inputs(source: str) -> list[dict[str, Any]]:
    """A file source as an input dataset in OpenLineage's `file` namespace (none for a query)."""
    return [] if not source or _is_query(source) else [{"namespace": "file", "name": source, "facets": {}}]


def _run_event(event_time: Any, run_id: str, job: dict[str, Any], inputs: list[dict[str, Any]],
               outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eventType": "COMPLETE", "eventTime": _iso(event_time), "producer": PRODUCER, "schemaURL": RUN_EVENT,
            "run": {"runId": run_id, "facets": {}}, "job": job, "inputs": inputs, "outputs": outputs}


def training_events(store: Store, box: str | None = None) -> list[dict[str, Any]]:
    namespace = f"vigil://{box or socket.gethostname()}"
    return [_training_event(store, namespace, v) for v in q.trained_versions(store)]


def _training_event(store: Store, namespace: str, v: dict[str, Any]) -> dict[str, Any]:
    """Snapshot (and the file it was taken from) in, model version out."""
    columns = q.snapshot_columns(store, v["snapshot_id"])
    job = "retrain" if v["retrain_trigger"] else ("import" if v["origin"] == "imported" else "train")
    source = str(v["source"] or "").strip()
    snapshot: dict[str, Any] = {"namespace": namespace, "name": f"snapshots/{v['snapshot_id']}", "facets": {
        "dataSource": _facet("DatasourceDatasetFacet", name=namespace, uri=namespace)}}  # Vigil's snapshot store
    if columns:
        snapshot["facets"]["schema"] = _facet("SchemaDatasetFacet", fields=[
            {"name": c["column_name"], "type": c["column_type"]} for c in columns])
    model = {"namespace": namespace, "name": f"models/{v['model_name']}/v{v['version']}", "facets": {
        "vigil_lineage": {"_producer": PRODUCER, "_schemaURL": VIGIL_FACET_URL,
                          "model": v["model_name"], "version": v["version"], "origin": v["origin"],
                          "artifact_sha256": v["artifact_sha256"], "spec_sha256": v["spec_sha256"],
                          "estimator": v["estimator"], "target": v["target"], "created_by": v["created_by"],
                          "training_rows": v["row_count"], "data_from": _iso(v["time_min"]),
                          "data_to": _iso(v["time_max"])}}}
    return _run_event(v["created_at"], str(uuid.uuid5(NAMESPACE_ID, f"{v['model_name']}/{v['version']}")),
                      _job(namespace, f"{job}.{v['model_name']}", job.upper(), source),
                      [snapshot, *_file_inputs(source)], [model])


def batch_events(store: Store, box: str | None = None) -> list[dict[str, Any]]:
    """One event per batch score: the source (file or query) in, the scored file out, by the version."""
    namespace = f"vigil://{box or socket.gethostname()}"
    return [_batch_event(namespace, row) for row in q.batch_scores(store)]


def _batch_event(namespace: str, row: dict[str, Any]) -> dict[str, Any]:
    d = json.loads(row["details"])
    source = str(d.get("source") or "")
    read = _file_inputs(source) or [{"namespace": namespace, "name": f"queries/{d['batch_id']}", "facets": {}}]
    output: dict[str, Any] = {"namespace": "file", "name": str(d.get("output")), "facets": {}}
    if isinstance(d.get("scored"), int):
        output["outputFacets"] = {"outputStatistics": _facet("OutputStatisticsOutputDatasetFacet",
                                                             rowCount=d["scored"])}
    model = {"namespace": namespace, "name": f"models/{row['model_name']}/v{row['version']}", "facets": {}}
    return _run_event(row["recorded_at"], str(uuid.uuid5(NAMESPACE_ID, d["batch_id"])),
                      _job(namespace, f"score.{row['model_name']}", "SCORE", source), [*read, model], [output])


def write_events(store: Store, directory: Path) -> int:
    """One JSON file per event in `directory/openlineage/`, and all of them as `events.ndjson`."""
    target = directory / "openlineage"
    target.mkdir(parents=True, exist_ok=True)
    events = training_events(store) + batch_events(store)
    for event in events:
        (target / f"{event['run']['runId']}.json").write_text(json.dumps(event, indent=1), encoding="utf-8")
    (target / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return len(events)
