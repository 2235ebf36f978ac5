"""The partition value of a name used in a lake path (a model name in `model=`).

A name is used as it is when it is 1-64 letters, digits, '_', '.' or '-'. Any other name (too long,
'/', '=', '%', spaces, newlines, any non-ASCII letter, or empty) becomes its first 32 characters with
every other character replaced by '_', then '~' and the first 16 hex digits of the SHA-256 of its
UTF-8 bytes: short, the same on every box and in every reader, never a path separator or a hidden
name, and never equal to a name kept as it is (those have no '~'). A missing name (NULL) is '~none'.
The partition only narrows what a reader scans; the name itself is the `model_name` column of every
row. The export's SQL computes the same (appliance/store/lake_queries.py); it lives here, below the lake
export and the scoring plans' cluster runs, which both name their folders with it.

>>> partition_value("delay")
'delay'
>>> partition_value("a/b")
'a_b~c14cddc033f64b9d'
"""

from __future__ import annotations

import hashlib
import re

_KEPT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_OTHER = re.compile(r"[^A-Za-z0-9_.-]")


def partition_value(name: str | None) -> str:
    if name is None:
        return "~none"
    if _KEPT.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return _OTHER.sub("_", name)[:32] + "~" + digest
