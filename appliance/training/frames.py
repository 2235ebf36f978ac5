"""Read a Parquet (.parquet or .pq) or CSV file into a polars frame, with a clear error for anything else."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from appliance.errors import SpecError

PARQUET_SUFFIXES = (".parquet", ".pq")


def read_frame(path: Path) -> pl.DataFrame:
    if not path.is_file():
        raise SpecError(f"data file {path} does not exist; check the path")
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET_SUFFIXES:
            return pl.read_parquet(path)
        if suffix == ".csv":
            return pl.read_csv(path, try_parse_dates=True)
    except (pl.exceptions.PolarsError, OSError) as e:
        raise SpecError(f"cannot read {path}: {e}") from e
    raise SpecError(f"{path}: unsupported file type '{suffix}'; use .parquet, .pq or .csv")
