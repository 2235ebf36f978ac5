"""OpenLineage run events for Vigil's lineage: one per training run (and per import or retrain) —
the dataset snapshot in, the model version out — and one per batch score — the source and the
model version in, the scored file out — so Marquez or any OpenLineage consumer can ingest it.

Each event is a `COMPLETE` RunEvent of the OpenLineage 2-0-2 spec. Its run id is a UUID derived
from the model and version, so exporting twice gives the same events (consumers deduplicate by run).
Namespaces are `vigil://<host>`; the input dataset is `snapshots/<sha256>` with its schema facet
(from the datasheet), the output `models/<name>/v<version>` with Vigil's lineage in a custom facet.
"""

from __future__ import annotations

import json
import socket
import uuid
from pathlib import Path
from typing import Any

from appliance.store.connection import Store

PRODUCER = "https://vigil.invalid/openlineage"  # identifies the producing tool, as the spec asks
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"
FACET = "https://openlineage.io/spec/facets/1-0-1/{}.json#/$defs/{}"
NAMESPACE_ID = uuid.UUID("6f1c9d1e-0b7a-4c3e-9a52-7d1f0c2b9e11")


def _facet(kind: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET.format(kind, kind[0].upper() + kind[1:]), **fields}


def _iso(value: Any) -> str:
    return f"{str(value).replace(' ', 'T')[:26]}Z"


def training_events(store: Store, box: str | None = None) -> list[dict[str, Any]]:
    namespace = f"vigil://{box or socket.gethostname()}"
    versions = store.rows(
        "SELECT v.model_name, v.version, v.origin, v.snapshot_id, v.artifact_sha256, v.estimator, v.spec_sha256, "
        "v.created_by, v.created_at, v.retrain_trigger, v.target, d.source, d.row_count, d.time_min, d.time_max "
        "FROM model_versions v JOIN dataset_snapshots d USING (snapshot_id) ORDER BY v.created_at, v.model_name")
    events = []
    for v in versions:
        columns = store.rows("SELECT column_name, column_type FROM datasheet_columns WHERE snapshot_id = ? "
                             "ORDER BY column_name", [v["snapshot_id"]])
        run_id = str(uuid.uuid5(NAMESPACE_ID, f"{v['model_name']}/{v['version']}"))
        job = "retrain" if v["retrain_trigger"] else ("import" if v["origin"] == "imported" else "train")
        dataset: dict[str, Any] = {"namespace": namespace, "name": f"snapshots/{v['snapshot_id']}",
                   "facets": {"dataSource": _facet("DatasourceDatasetFacet", name=str(v["source"]).strip(),
                                                   uri=f"{namespace}/snapshots/{v['snapshot_id']}")}}
        if columns:
            dataset["facets"]["schema"] = _facet("SchemaDatasetFacet", fields=[
                {"name": c["column_name"], "type": c["column_type"]} for c in columns])
        events.append({
            "eventType": "COMPLETE", "eventTime": _iso(v["created_at"]),
            "producer": PRODUCER, "schemaURL": RUN_EVENT,
            "run": {"runId": run_id, "facets": {}},
            "job": {"namespace": namespace, "name": f"{job}.{v['model_name']}", "facets": {
                "jobType": _facet("JobTypeJobFacet", processingType="BATCH", integration="VIGIL", jobType=job.upper())}},
            "inputs": [dataset],
            "outputs": [{"namespace": namespace, "name": f"models/{v['model_name']}/v{v['version']}", "facets": {
                "vigil_lineage": {"_producer": PRODUCER, "_schemaURL": f"{PRODUCER}/VigilLineageFacet.json",
                                  "model": v["model_name"], "version": v["version"], "origin": v["origin"],
                                  "artifact_sha256": v["artifact_sha256"], "spec_sha256": v["spec_sha256"],
                                  "estimator": v["estimator"], "target": v["target"], "created_by": v["created_by"],
                                  "training_rows": v["row_count"], "data_from": _iso(v["time_min"]),
                                  "data_to": _iso(v["time_max"])}}}],
        })
    return events


def batch_events(store: Store, box: str | None = None) -> list[dict[str, Any]]:
    """One event per batch score: the source (file or query) in, the scored file out, by the version."""
    namespace = f"vigil://{box or socket.gethostname()}"
    events = []
    for row in store.rows("SELECT recorded_at, actor, model_name, version, details::VARCHAR AS details FROM audit_log "
                          "WHERE action = 'batch.score' ORDER BY id"):
        d = json.loads(row["details"])
        source = str(d.get("source") or "")
        is_file = source.lower().endswith((".parquet", ".csv", ".csv.gz"))
        inputs = [{"namespace": "file" if is_file else namespace, "name": source if is_file else f"queries/{d['batch_id']}",
                   "facets": {} if is_file else {"sql": _facet("SQLJobFacet", query=source)}}]
        events.append({
            "eventType": "COMPLETE", "eventTime": _iso(row["recorded_at"]), "producer": PRODUCER, "schemaURL": RUN_EVENT,
            "run": {"runId": str(uuid.uuid5(NAMESPACE_ID, d["batch_id"])), "facets": {}},
            "job": {"namespace": namespace, "name": f"score.{row['model_name']}", "facets": {
                "jobType": _facet("JobTypeJobFacet", processingType="BATCH", integration="VIGIL", jobType="SCORE")}},
            "inputs": [*inputs, {"namespace": namespace, "name": f"models/{row['model_name']}/v{row['version']}",
                                 "facets": {}}],
            "outputs": [{"namespace": "file", "name": str(d.get("output")), "facets": {
                "outputStatistics": _facet("OutputStatisticsOutputDatasetFacet", rowCount=d.get("scored"))}}],
        })
    return events


def write_events(store: Store, directory: Path) -> int:
    """One JSON file per event in `directory/openlineage/`, and all of them as `events.ndjson`."""
    target = directory / "openlineage"
    target.mkdir(parents=True, exist_ok=True)
    events = training_events(store) + batch_events(store)
    for event in events:
        (target / f"{event['run']['runId']}.json").write_text(json.dumps(event, indent=1), encoding="utf-8")
    (target / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return len(events)
