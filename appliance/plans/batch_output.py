"""A scored batch's answer columns, added to the input as pandas or Arrow: what `PortablePlan.score` returns.

One row per input row, in input order: `input_row`, `model`, `version`, `prediction` and `score` (null
where the row was refused, `score` also for regression), `flags` (problems the policy accepted, on
answered rows), `rejected` and `reasons` (why a row was refused, as `vigil score`'s rejects file says).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from appliance.plans.batch_checks import Checked

ANSWER_COLUMNS = ("input_row", "model", "version", "prediction", "score", "flags", "rejected", "reasons")


@dataclass(frozen=True, slots=True)
class Answered:
    model: str
    version: int
    prediction: np.ndarray  # float64 per row, NaN where refused
    score: np.ndarray  # float64 per row, NaN where refused or no score
    checked: Checked


def answer_schema(input_schema: Any = None) -> Any:
    """The pyarrow schema of a scored batch: the input's fields (if given), then the answer columns."""
    import pyarrow as pa

    answer = [pa.field("input_row", pa.int64()), pa.field("model", pa.string()), pa.field("version", pa.int64()),
              pa.field("prediction", pa.float64()), pa.field("score", pa.float64()),
              pa.field("flags", pa.list_(pa.string())), pa.field("rejected", pa.bool_()),
              pa.field("reasons", pa.list_(pa.string()))]
    return pa.schema([*(input_schema or []), *answer])


def assemble(library: str, frame: Any, answered: Answered) -> Any:
    """The answer columns after `frame`'s (None: alone), as the library of the input ("pandas",
    "arrow-table" or "arrow-batch")."""
    return _pandas(frame, answered) if library == "pandas" else _arrow(library, frame, answered)


def _pandas(frame: Any, answered: Answered) -> Any:
    import pandas as pd

    checked = answered.checked
    rows = checked.rows
    out = pd.DataFrame({
        "input_row": np.arange(rows, dtype=np.int64), "model": pd.Series([answered.model] * rows, dtype=object),
        "version": np.full(rows, answered.version, dtype=np.int64), "prediction": answered.prediction,
        "score": answered.score, "flags": pd.Series(checked.per_row(checked.flags), dtype=object),
        "rejected": ~checked.accepted, "reasons": pd.Series(checked.per_row(checked.reasons), dtype=object)})
    return out if frame is None else pd.concat([frame.reset_index(drop=True), out], axis=1)


def _arrow(library: str, frame: Any, answered: Answered) -> Any:
    import pyarrow as pa

    checked = answered.checked
    rows = checked.rows
    arrays = [pa.array(np.arange(rows, dtype=np.int64)), pa.array([answered.model] * rows, pa.string()),
              pa.array(np.full(rows, answered.version, dtype=np.int64)),
              pa.array(answered.prediction, pa.float64(), mask=~checked.accepted),
              pa.array(answered.score, pa.float64(), mask=np.isnan(answered.score)),
              _lists(checked.flags, rows), pa.array(~checked.accepted, pa.bool_()), _lists(checked.reasons, rows)]
    names = list(ANSWER_COLUMNS)
    if frame is not None:
        arrays = [*(_whole(frame.column(i)) for i in range(frame.num_columns)), *arrays]
        names = [*frame.schema.names, *names]
    if library == "arrow-batch":
        return pa.RecordBatch.from_arrays(arrays, names=names)
    return pa.Table.from_arrays(arrays, names=names)


def _lists(found: dict[int, list[str]], rows: int) -> Any:
    """A list<string> column from the rows that have entries (every other row's list is empty)."""
    import pyarrow as pa

    counts = np.zeros(rows, dtype=np.int32)
    texts: list[str] = []
    for row in sorted(found):
        counts[row] = len(found[row])
        texts.extend(found[row])
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(texts, pa.string()))


def _whole(column: Any) -> Any:
    import pyarrow as pa

    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
