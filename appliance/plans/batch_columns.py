"""A pandas or Arrow batch's columns as NumPy arrays, read as `vigil score` reads the same data from Parquet.

`vigil score` reads its input through Parquet, so a batch's column is what pandas or Arrow writes to
Parquet: a pandas float column's NaN is a missing value (pyarrow writes it as null), an Arrow float
column's NaN is a number that is not finite, a categorical (dictionary) column is its values' text. Each
column is sorted into one of five kinds, which decide what the contract's rules make of it:

    number   floats, decimals            values as float64, NaN where missing
    integer  integers (also a pandas     values as float64 (NaN where missing), and `integers` the exact
             object column of ints)      values, for a categorical feature's digits
    text     strings, categoricals       values as str objects, None where missing
    boolean  booleans                    values as bool objects, None where missing
    other    anything else (dates, mixed objects, lists): wrong for every feature

pandas and pyarrow are imported only when such a batch is passed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

NUMBER, TEXT, BOOLEAN, INTEGER, OTHER = "number", "text", "boolean", "integer", "other"


@dataclass(frozen=True, slots=True)
class BatchColumn:
    kind: str
    values: np.ndarray  # number, integer: float64 (NaN where missing); else object (None where missing)
    present: np.ndarray  # bool per row
    integers: np.ndarray | None = None  # integer: the exact values (anything where missing)


def library_of(frame: Any) -> str:
    """"pandas", "arrow-table" or "arrow-batch"; TypeError for anything else."""
    module = type(frame).__module__.split(".")[0]
    name = type(frame).__name__
    if module == "pandas" and name == "DataFrame":
        return "pandas"
    if module == "pyarrow" and name == "Table":
        return "arrow-table"
    if module == "pyarrow" and name == "RecordBatch":
        return "arrow-batch"
    raise TypeError(f"score takes a pandas DataFrame or a pyarrow Table or RecordBatch, not {type(frame).__name__}")


def column_names(frame: Any) -> list[str]:
    return [str(name) for name in (frame.columns if library_of(frame) == "pandas" else frame.schema.names)]


def height(frame: Any) -> int:
    return int(len(frame) if library_of(frame) == "pandas" else frame.num_rows)


def read_column(frame: Any, name: str) -> BatchColumn:
    if library_of(frame) == "pandas":
        return _pandas_column(frame[name])
    return _arrow_column(frame.column(name))


def _arrow_column(column: Any) -> BatchColumn:
    import pyarrow as pa
    import pyarrow.compute as pc

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    kind = array.type
    present = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        numbers = pc.fill_null(pc.cast(array, pa.float64()), float("nan"))
        values = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)
        if not pa.types.is_integer(kind):
            return BatchColumn(NUMBER, values, present)
        return BatchColumn(INTEGER, values, present, np.asarray(pc.fill_null(array, 0).to_numpy(zero_copy_only=False)))
    values = _objects(array.to_pylist()) if pa.types.is_boolean(kind) or not (
        pa.types.is_string(kind) or pa.types.is_large_string(kind)) else \
        np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)  # str objects, None where missing
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return BatchColumn(TEXT, values, present)
    if pa.types.is_boolean(kind):
        return BatchColumn(BOOLEAN, values, present)
    return BatchColumn(OTHER, values, present)


def _pandas_column(series: Any) -> BatchColumn:
    import pandas as pd

    missing = np.asarray(series.isna(), dtype=bool)
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _pandas_objects(series.astype(object), missing)
    if pd.api.types.is_bool_dtype(dtype):
        return BatchColumn(BOOLEAN, _objects([None if m else bool(v) for v, m in zip(series.tolist(), missing)]),
                           ~missing)
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        numbers = np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        if not pd.api.types.is_integer_dtype(dtype):
            return BatchColumn(NUMBER, numbers, ~missing)
        return BatchColumn(INTEGER, numbers, ~missing, np.asarray(series.fillna(0).to_numpy()))
    if pd.api.types.is_string_dtype(dtype) or dtype == object:
        return _pandas_objects(series, missing)
    return BatchColumn(OTHER, _objects([None if m else v for v, m in zip(series.tolist(), missing)]), ~missing)


def _pandas_objects(series: Any, missing: np.ndarray) -> BatchColumn:
    """An object column sorted by what it holds, as pyarrow would type it for Parquet."""
    values = [None if m else v for v, m in zip(series.tolist(), missing)]
    kinds = {type(v) for v in values if v is not None}
    present = ~missing
    if kinds <= {str}:
        return BatchColumn(TEXT, _objects(values), present)
    if kinds <= {bool, np.bool_}:
        return BatchColumn(BOOLEAN, _objects([None if v is None else bool(v) for v in values]), present)
    if all(issubclass(k, (int, np.integer)) and not issubclass(k, (bool, np.bool_)) for k in kinds):
        exact = _objects([0 if v is None else int(v) for v in values])
        numbers = np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
        return BatchColumn(INTEGER, numbers, present, exact)
    return BatchColumn(OTHER, _objects(values), present)


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out
