"""A cluster run's manifest, read as hostile input, and its directory checked file by file against it.

The manifest (`appliance.plans.run_files` writes it) comes from outside the box: nothing in it is
trusted until checked. `read_manifest` takes at most 64 MiB of JSON into a strict model (unknown keys,
wrong types, impossible counts refused, each named). `check_files` then holds the directory to it:
every listed path is a plain relative name in its table's partition folder for the manifest's model,
reached without a symlink; every listed file is there with its size, sha256 and Parquet row count;
no other file is there (hidden and `_` names, which Spark and Hive leave, aside); the counts add up.
Every problem is collected, so a partial run is refused once, naming all that is missing or wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appliance.core.lake_partitions import partition_value
from appliance.errors import RunRefused
from appliance.plans.run_files import FORMAT, KIND, MANIFEST, PREDICTIONS, REJECTS, TABLES

MAX_MANIFEST_BYTES = 64 << 20
MAX_ROWS = 2**31 - 1  # a row's index is the prediction log's INTEGER row_index
MAX_FILES = 100_000
SHOWN = 5  # problems named per kind in the refusal; the rest are counted
_PART = re.compile(r"(predictions|rejects)/model=([A-Za-z0-9_.~-]{1,64})/day=(\d{4}-\d{2}-\d{2})/"
                   r"([A-Za-z0-9][A-Za-z0-9._-]{0,99}\.parquet)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RunInput(_Strict):
    path: str = Field(max_length=4096)
    rows: int = Field(ge=0, le=MAX_ROWS)


class RunFile(_Strict):
    table: Literal["predictions", "rejects"]
    path: str = Field(max_length=300)
    rows: int = Field(ge=0, le=MAX_ROWS)
    bytes: int = Field(ge=0, le=1 << 40)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    seconds: float = Field(ge=0, le=1e9)


class RunManifest(_Strict):
    kind: Literal["vigil-cluster-run"]
    format: int = Field(ge=1, le=FORMAT)
    run_id: str = Field(pattern=r"^run-[0-9a-f]{16}$")
    model: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1, le=MAX_ROWS)
    plan_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    key_id: str = Field(max_length=64)
    started_at: str = Field(max_length=64)
    finished_at: str = Field(max_length=64)
    inputs: list[RunInput] = Field(max_length=MAX_FILES)
    rows_in: int = Field(ge=0, le=MAX_ROWS)
    rows_scored: int = Field(ge=0, le=MAX_ROWS)
    rows_rejected: int = Field(ge=0, le=MAX_ROWS)
    files: list[RunFile] = Field(max_length=MAX_FILES)


@dataclass(frozen=True, slots=True)
class CheckedRun:
    """A run whose every file matched its manifest: absolute paths of each table's files, in manifest order."""

    root: Path
    manifest: RunManifest
    predictions: list[Path]
    rejects: list[Path]

    def seconds_per_row_ms(self) -> list[float]:
        """Each predictions file's scoring time per row, in milliseconds (the logged latency)."""
        files = [f for f in self.manifest.files if f.table == PREDICTIONS]
        return [f.seconds * 1000 / f.rows if f.rows else 0.0 for f in files]


def read_manifest(root: Path) -> RunManifest:
    """The run's manifest, checked for shape; RunRefused when there is none or it is not one."""
    path = root / MANIFEST
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise RunRefused(f"{root} has no {MANIFEST}: the run did not finish, or this is no run directory; "
                         "nothing imported") from None
    if not stat.S_ISREG(info.st_mode):
        raise RunRefused(f"{path} is not a regular file (a symlink or a folder); nothing imported")
    if info.st_size > MAX_MANIFEST_BYTES:
        raise RunRefused(f"{path} is {info.st_size} bytes, more than a run's manifest may be "
                         f"({MAX_MANIFEST_BYTES}); nothing imported")
    try:
        raw = json.loads(_read_plain(path))
        if not isinstance(raw, dict) or raw.get("kind") != KIND:
            raise RunRefused(f"{path} is not a cluster run's manifest (kind {KIND}); nothing imported")
        return RunManifest.model_validate(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise RunRefused(f"{path} is not a valid run manifest: {_first_problem(e)}; nothing imported") from e


def _first_problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" + (f" ({len(error.errors())} problems)" if len(error.errors()) > 1 else "")
    return str(error)


def check_files(root: Path, manifest: RunManifest) -> CheckedRun:
    """Hold the directory to its manifest (see the module's text); RunRefused naming every problem."""
    problems: dict[str, list[str]] = {"missing": [], "damaged": [], "not allowed": [], "unlisted": []}
    listed: dict[str, Path] = {}
    for entry in manifest.files:
        where = _listed_path(root, manifest, entry.path, entry.table, problems)
        if where is None:
            continue
        if entry.path in listed:
            problems["not allowed"].append(f"{entry.path} (listed twice)")
            continue
        listed[entry.path] = where
        _check_file(where, entry, problems)
    problems["unlisted"].extend(_unlisted(root, set(listed), problems))
    _check_counts(manifest, problems)
    _refuse(manifest, root, problems)
    return CheckedRun(root, manifest, [listed[f.path] for f in manifest.files if f.table == PREDICTIONS],
                      [listed[f.path] for f in manifest.files if f.table == REJECTS])


def _listed_path(root: Path, manifest: RunManifest, relative: str, table: str,
                 problems: dict[str, list[str]]) -> Path | None:
    found = _PART.fullmatch(relative)
    if found is None or found.group(1) != table or found.group(2) != partition_value(manifest.model):
        problems["not allowed"].append(f"{relative[:120]!r} (not a part file of {table} of model "
                                       f"{manifest.model} under the run's directory)")
        return None
    path = root
    for part in relative.split("/"):
        path = path / part
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            problems["missing"].append(relative)
            return None
        if stat.S_ISLNK(mode):
            problems["not allowed"].append(f"{relative} (reached through the symlink {path.relative_to(root)})")
            return None
    if not stat.S_ISREG(mode):
        problems["not allowed"].append(f"{relative} (not a regular file)")
        return None
    return path


def _check_file(path: Path, entry: RunFile, problems: dict[str, list[str]]) -> None:
    import pyarrow.parquet as pq

    size = path.lstat().st_size
    if size != entry.bytes:
        problems["damaged"].append(f"{entry.path} ({size} bytes, the manifest says {entry.bytes})")
        return
    if _sha256(path) != entry.sha256:
        problems["damaged"].append(f"{entry.path} (its sha256 is not the manifest's)")
        return
    try:
        rows = pq.read_metadata(str(path)).num_rows
    except (OSError, ValueError) as e:
        problems["damaged"].append(f"{entry.path} (no Parquet file: {e})")
        return
    if rows != entry.rows:
        problems["damaged"].append(f"{entry.path} ({rows} rows, the manifest says {entry.rows})")


def _unlisted(root: Path, listed: set[str], problems: dict[str, list[str]]) -> list[str]:
    """Files and symlinks under the run's directory its manifest does not list (hidden and `_` names aside)."""
    found = []
    for top in sorted(os.listdir(root)):
        if top.startswith((".", "_")) or top == MANIFEST:
            continue
        if top not in TABLES or os.path.islink(root / top) or not (root / top).is_dir():
            found.append(top)
            continue
        for folder, dirs, files in os.walk(root / top):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            relative = Path(folder).relative_to(root)
            for name in sorted(files) + [d for d in dirs if (Path(folder) / d).is_symlink()]:
                path = (relative / name).as_posix()
                if not name.startswith((".", "_")) and path not in listed and not _named(problems, path):
                    found.append(path)
    return found


def _named(problems: dict[str, list[str]], path: str) -> bool:
    return any(text.startswith(path) for kind in problems.values() for text in kind)


def _check_counts(manifest: RunManifest, problems: dict[str, list[str]]) -> None:
    scored = sum(f.rows for f in manifest.files if f.table == PREDICTIONS)
    rejected = sum(f.rows for f in manifest.files if f.table == REJECTS)
    read = sum(i.rows for i in manifest.inputs)
    if (scored, rejected) != (manifest.rows_scored, manifest.rows_rejected) or \
            manifest.rows_in != scored + rejected or read != manifest.rows_in:
        problems["damaged"].append(
            f"{MANIFEST} (its counts do not add up: {manifest.rows_in} rows in, {read} in its inputs, "
            f"{manifest.rows_scored} scored and {manifest.rows_rejected} refused, its files hold {scored} and "
            f"{rejected})")


def _refuse(manifest: RunManifest, root: Path, problems: dict[str, list[str]]) -> None:
    said = []
    for kind, found in problems.items():
        if found:
            more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            said.append(f"{kind} {len(found)}: {', '.join(found[:SHOWN])}{more}")
    if said:
        raise RunRefused(f"run {manifest.run_id} in {root} is not whole as its manifest lists it ("
                         + "; ".join(said) + "); nothing imported")


def _read_plain(path: Path) -> bytes:
    """A file's bytes, refusing to follow a symlink put there since it was checked."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        return handle.read(MAX_MANIFEST_BYTES + 1)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recheck(run: CheckedRun) -> None:
    """After the rows are read, before they commit: every file still has the sha256 it was checked with (a
    file replaced meanwhile refuses the import, and the transaction rolls back)."""
    for entry in run.manifest.files:
        path = run.root / entry.path
        if _sha256(path) != entry.sha256:
            raise RunRefused(f"{entry.path} of run {run.manifest.run_id} changed while it was imported; "
                             "nothing imported")


ANSWER_COLUMNS = {PREDICTIONS: ("input", "input_row", "run_id", "model_name", "version", "prediction", "score", "flags"),
                  REJECTS: ("input", "input_row", "run_id", "model_name", "version", "reasons")}


def check_columns(run: CheckedRun, features: list[str]) -> None:
    """Every file holds its table's columns, and a predictions file the version's features in `input` (they
    are logged as the row's inputs); read from the files' footers."""
    import pyarrow.parquet as pq

    for table, paths in ((PREDICTIONS, run.predictions), (REJECTS, run.rejects)):
        for path in paths:
            schema = pq.read_schema(str(path))
            missing = [c for c in ANSWER_COLUMNS[table] if c not in schema.names]
            if not missing and table == PREDICTIONS:
                struct = schema.field("input").type
                held = {struct.field(i).name for i in range(struct.num_fields)} if hasattr(struct, "num_fields") \
                    else set()
                missing = [f"input.{name}" for name in features if name not in held]
            if missing:
                raise RunRefused(f"{path.relative_to(run.root)} of run {run.manifest.run_id} has no column "
                                 f"{', '.join(missing)}; nothing imported")
