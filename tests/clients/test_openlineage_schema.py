"""Every OpenLineage event Vigil writes, validated with jsonschema against the official OpenLineage
schema and each facet against its own facet schema, offline (copies in tests/fixtures/openlineage/);
and `vigil audit export` creating its directory, through the daemon only where exports may go."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pandas as pd
import polars as pl

from daemon_support import Daemon

SPEC_DIR = Path(__file__).parents[1] / "fixtures" / "openlineage"
CONTAINERS = {  # where a facet sits -> the OpenLineage base facet its schema must extend
    ("run", "facets"): "RunFacet", ("job", "facets"): "JobFacet", ("inputs", "facets"): "DatasetFacet",
    ("inputs", "inputFacets"): "InputDatasetFacet", ("outputs", "facets"): "DatasetFacet",
    ("outputs", "outputFacets"): "OutputDatasetFacet",
}


def _schemas() -> dict[str, dict[str, Any]]:
    """The official schema files by their `$id`: the event schema and every facet's."""
    paths = [SPEC_DIR / "OpenLineage.json", *sorted((SPEC_DIR / "facets").glob("*.json"))]
    return {schema["$id"]: schema for schema in (json.loads(p.read_text(encoding="utf-8")) for p in paths)}


def _validator(schema: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> Any:
    """A draft 2020-12 validator resolving `$ref`s only to the local copies (no network), checking formats."""
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry().with_resources(
        (uri, Resource.from_contents(contents)) for uri, contents in schemas.items())
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:  # RFC 3339: a date, 'T', a time and an offset
        return not isinstance(value, str) or ("T" in value and datetime.fromisoformat(
            value.replace("Z", "+00:00")).tzinfo is not None)

    @checker.checks("uri")
    def _uri(value: object) -> bool:  # absolute: a scheme, and no spaces
        return not isinstance(value, str) or (bool(urlsplit(value).scheme) and " " not in value)

    return Draft202012Validator(schema, registry=registry, format_checker=checker)


def _errors(validator: Any, instance: Any) -> list[str]:
    """Each validation error as `path: message`; a `$ref` that names nothing in the spec is one too."""
    from referencing.exceptions import Unresolvable

    try:
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
    except Unresolvable as e:
        return [f"unresolvable: {e}"[:200]]


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(base facet its container asks for, facet name, facet) for every facet of the event."""
    for container, holder in (("run", event["run"]), ("job", event["job"])):
        for name, facet in holder.get("facets", {}).items():
            yield CONTAINERS[(container, "facets")], name, facet
    for container in ("inputs", "outputs"):
        for dataset in event.get(container, []):
            for key in ("facets", "inputFacets", "outputFacets"):
                for name, facet in dataset.get(key, {}).items():
                    assert (container, key) in CONTAINERS, f"{container}[].{key} is not a facet container"
                    yield CONTAINERS[(container, key)], name, facet


def _extends(definition: dict[str, Any]) -> set[str]:
    return {part["$ref"].rsplit("/", 1)[-1] for part in definition.get("allOf", []) if "$ref" in part}


def _check(event: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> list[str]:
    """Every problem of one event: against the spec, the schema its `schemaURL` names, each facet's schema."""
    spec = schemas["https://openlineage.io/spec/2-0-2/OpenLineage.json"]
    problems = _errors(_validator(spec, schemas), event)
    problems += _errors(_validator({"$ref": event["schemaURL"]}, schemas), event)
    for base, name, facet in _facets(event):
        url = facet["_schemaURL"]
        if name.startswith("vigil_"):  # Vigil's own facet: the spec's base facet rules only (checked above)
            continue
        file_id, _, pointer = url.partition("#")
        if file_id not in schemas:
            problems.append(f"{name}: {file_id} is not a published facet schema")
            continue
        facet_kind = pointer.rsplit("/", 1)[-1]
        problems += [f"{name}: {p}" for p in _errors(_validator({"$ref": url}, schemas), facet)]
        problems += [f"{name}: {p}" for p in _errors(_validator(schemas[file_id], schemas), {name: facet})]
        if name not in schemas[file_id]["properties"]:
            problems.append(f"{name}: {facet_kind} is published as {sorted(schemas[file_id]['properties'])}")
        if base not in _extends(schemas[file_id]["$defs"][facet_kind]):
            problems.append(f"{name}: a {facet_kind} does not belong where a {base} goes")
    return problems


def _lightgbm_file(flights_small: Path, tmp_path: Path) -> Path:
    import lightgbm

    numeric, categorical = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"], ["carrier", "origin"]
    frame = pd.DataFrame(pl.read_parquet(flights_small).select(numeric + categorical + ["delayed"])
                         .to_dict(as_series=False))
    for column in categorical:
        frame[column] = frame[column].astype("category")
    model = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=8, n_jobs=1, verbose=-1, random_state=0)
    model.fit(frame[numeric + categorical], frame["delayed"].astype(int))
    path = tmp_path / "team.txt"
    model.booster_.save_model(path)
    return path


def test_every_event_follows_the_official_schemas(home: Path, cli: Callable[..., Any], write_spec: Callable[..., Path],
                                                   flights_small: Path, tmp_path: Path) -> None:
    query = f"SELECT * FROM '{flights_small.as_posix()}' WHERE month <= 2"
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0  # from a file
    assert cli("train", "--spec", write_spec("q.toml", source=f'query = """{query}"""'), "--home", home).code == 0
    file = _lightgbm_file(flights_small, tmp_path)
    assert cli("import", "delay", file, "--spec", write_spec(), "--reason", "team model", "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    assert cli("score", "delay", "--input", flights_small, "--output", tmp_path / "a.parquet", "--home", home).code == 0
    assert cli("score", "delay", "--query", f"{query} LIMIT 50", "--output", tmp_path / "b.parquet",
               "--home", home).code == 0
    out = tmp_path / "not" / "yet"  # created by the export
    result = cli("audit", "export", out, "--openlineage", "--home", home)
    assert result.code == 0, result.err
    events = [json.loads(line) for line in (out / "openlineage" / "events.ndjson").read_text().splitlines()]
    assert sorted(e["job"]["name"] for e in events) == ["import.delay", "score.delay", "score.delay",
                                                        "train.delay", "train.delay"]
    schemas = _schemas()
    assert {name: _check(event, schemas) for name, event in ((e["run"]["runId"], e) for e in events)} == {
        e["run"]["runId"]: [] for e in events}
    from_query = [e for e in events if "sql" in e["job"]["facets"]]
    assert len(from_query) == 2 and all(query in e["job"]["facets"]["sql"]["query"] for e in from_query)
    sources = [f["dataSource"]["name"] for e in events for d in e["inputs"] for f in [d["facets"]] if "dataSource" in f]
    assert sources and not any("SELECT" in name.upper() for name in sources)
    [scored_file] = [d for e in events for d in e["outputs"] if d["name"].endswith("a.parquet")]
    assert scored_file["outputFacets"]["outputStatistics"]["rowCount"] == pl.read_parquet(tmp_path / "a.parquet").height


def test_the_checks_catch_what_the_spec_forbids() -> None:
    """The validation above is not vacuous: a facet version that never existed, a job facet among a
    dataset's facets and an old `definitions` URL are each reported."""
    schemas = _schemas()
    producer = "https://vigil.invalid/openlineage"
    event = {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": producer,
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": "6f1c9d1e-0b7a-4c3e-9a52-7d1f0c2b9e11"}, "job": {"namespace": "n", "name": "j"},
             "inputs": [{"namespace": "n", "name": "d", "facets": {"sql": {
                 "_producer": producer, "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/SQLJobFacet.json"
                                                      "#/$defs/SQLJobFacet", "query": "SELECT 1"}}}]}
    assert _check(event, schemas) == ["sql: a SQLJobFacet does not belong where a DatasetFacet goes"]
    event["job"]["facets"] = {"jobType": {"_producer": producer, "_schemaURL": "https://openlineage.io/spec/facets/"
                                          "1-0-1/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"}}
    assert "jobType: https://openlineage.io/spec/facets/1-0-1/JobTypeJobFacet.json is not a published facet schema" \
        in _check(event, schemas)
    event["schemaURL"] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"
    assert any(p.startswith("unresolvable:") and "/definitions/RunEvent" in p for p in _check(event, schemas))


def test_audit_export_creates_its_directory_only_where_the_daemon_may_write(
        client_daemon: Daemon, vigil: Callable[..., Any], tmp_path: Path) -> None:
    inside = client_daemon.home / "exports" / "audit-new" / "deeper"
    result = vigil("audit", "export", inside, "--openlineage", "--home", client_daemon.home)
    assert result.code == 0, result.err
    assert (inside / "audit_log.parquet").is_file() and (inside / "openlineage" / "events.ndjson").is_file()
    assert inside.stat().st_mode & 0o077 == 0
    outside = tmp_path / "elsewhere" / "audit"
    refused = vigil("audit", "export", outside, "--home", client_daemon.home)
    assert refused.code == 2 and len(refused.err.strip().splitlines()) == 1 and "Traceback" not in refused.err
    assert "outputs go only under" in refused.err and not outside.parent.exists()
