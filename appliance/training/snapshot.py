"""Take a dataset snapshot: the spec's source, written once as Parquet and addressed by its sha256."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import polars as pl

from appliance.access.output_paths import input_path, read_roots
from appliance.core.blobs import BlobWriter
from appliance.core.records import SnapshotInfo
from appliance.store.extraction import extract_to_parquet
from appliance.training.dataset import load_snapshot, require_valid
from appliance.training.spec import LoadedSpec

FOLDER = "datasets"


def take_snapshot(writer: BlobWriter, loaded: LoadedSpec) -> tuple[SnapshotInfo, pl.DataFrame]:
    """Extract, validate against the spec (failing fast), then store by hash."""
    spec = loaded.spec
    if spec.source.path is not None:  # through the daemon, never a file of the home
        input_path(writer.home_root, loaded.base_dir / spec.source.path)
    staged = writer.staging_path(FOLDER, ".parquet")
    extract_to_parquet(path=spec.source.path, query=spec.source.query, base_dir=loaded.base_dir, dest=staged,
                       read_roots=read_roots(writer.home_root, loaded.base_dir))
    frame = load_snapshot(staged, spec.split.time_column)
    source = spec.source.path or spec.source.query or ""
    require_valid(frame, spec, loaded.path.name if loaded.path else "the source")
    blob = writer.adopt(FOLDER, staged, ".parquet")
    times = frame[spec.split.time_column]
    earliest, latest = cast(datetime, times.min()), cast(datetime, times.max())
    return SnapshotInfo(blob, source, frame.height, spec.split.time_column, earliest, latest), frame
