"""The partition value of a name used in a lake path (a model name in `model=`): the rule lives in
`appliance.core.lake_partitions`, below the lake export and the cluster runs of scoring plans, which
both name their folders with it.

>>> partition_value("a/b")
'a_b~c14cddc033f64b9d'
"""

from __future__ import annotations

from appliance.core.lake_partitions import partition_value

__all__ = ["partition_value"]
