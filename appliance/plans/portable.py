"""An exported scoring plan, loaded and run anywhere: NumPy, no store, no scikit-learn, no daemon.

    from appliance.plans.portable import load_plan

    plan = load_plan("delay-v1.plan", trusted_key="q4sV...=")   # the exporting box's `vigil keys show`
    scored = plan.score(batch)                                   # a pandas DataFrame or a pyarrow Table/RecordBatch

`load_plan` refuses a package that is incomplete, unsigned, signed by another key or altered
(`PlanRefused`, naming the file), before its plan is read. `score` checks every row against the
version's contract with its serving policy and answers the accepted rows with the plan, exactly as
`vigil score` does on the box (the same rules and words, the same bits); a batch without one of the
version's feature columns is refused whole (`ScoringError`, with `vigil score`'s message). The result is a
batch of the same library with the input's columns, then, per row in input order:

    input_row  int64      the row's position in the batch
    model      string     the version's model name
    version    int64      the version's number
    prediction float64    binary: 1/0 at the version's threshold; regression: the value (null if rejected)
    score      float64    binary: the positive class's probability (null for regression or if rejected)
    flags      list<str>  problems the policy accepts (`out_of_range:distance`), as the prediction log keeps them
    rejected   bool       whether the row was refused
    reasons    list<str>  why, as `vigil score`'s rejects file says (`distance: not finite`)

Imports: NumPy; SciPy for the plans of logistic models (scikit-learn's own `expit`, so the bits match);
`cryptography` to check the signature; pandas or pyarrow only when such a batch is passed.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from appliance.contracts import row_rules
from appliance.contracts.features import Feature
from appliance.core.answers import answers
from appliance.core.inputs import Inputs
from appliance.errors import PlanRefused, ScoringError
from appliance.plans import batch_columns as columns
from appliance.plans import package
from appliance.plans.batch_checks import Checked, Policy, check_rows
from appliance.plans.batch_output import Answered, answer_schema, assemble
from appliance.plans.plan import ScoringPlan

SCORED_TASKS = ("binary", "regression")  # the tasks plans are made for
CHUNK_ROWS = 4096  # rows per plan call: a tree walk's arrays stay in cache (81,642 rows: 1.9 s, not 3.3 s)


class PlanVersionWarning(UserWarning):
    """The installed NumPy or SciPy is not the version the plan was checked with: its answers are very
    likely the same bits, but that was not checked."""


@dataclass(frozen=True)
class PortablePlan:
    """A verified package's plan, contract and lineage. `score(batch)` answers as `vigil score` does."""

    model: str
    version: int
    task: str
    threshold: float | None
    classes: tuple[str, ...]
    features: tuple[Feature, ...]
    contract: dict[str, Any]  # column -> its contract entry, as contract.json holds it
    contract_revision: int
    policy: Policy
    lineage: dict[str, Any]
    key_id: str  # the key that signed the package
    plan: ScoringPlan = field(repr=False)

    def score(self, frame: Any, *, with_inputs: bool = True) -> Any:
        """The batch's rows checked and scored; see the module's text for the columns. `with_inputs=False`
        returns the answer columns only."""
        library = columns.library_of(frame)
        names = set(columns.column_names(frame))
        missing = [f.name for f in self.features if f.name not in names]
        if missing:
            raise ScoringError(row_rules.missing_columns(missing, self.version))
        rows = columns.height(frame)
        checked = check_rows(lambda name: columns.read_column(frame, name), rows, self.features, self.contract,
                             self.policy)
        return assemble(library, frame if with_inputs else None, self._answers(checked, rows))

    def _answers(self, checked: Checked, rows: int) -> Answered:
        prediction = np.full(rows, np.nan)
        score = np.full(rows, np.nan)
        if checked.inputs.height:
            found = answers(self.task, self._output(checked), self.threshold)
            prediction[checked.accepted] = found.predictions
            if found.scores is not None:
                score[checked.accepted] = found.scores
        return Answered(self.model, self.version, prediction, score, checked)

    def _output(self, checked: Checked) -> np.ndarray:
        """The model's output on the accepted rows, as `vigil score` takes it from the pipeline."""
        inputs = checked.inputs
        parts = [np.asarray(self.plan(Inputs(inputs.features, inputs.numeric[start:start + CHUNK_ROWS],
                                             inputs.categorical[start:start + CHUNK_ROWS])))
                 for start in range(0, inputs.height, CHUNK_ROWS)]
        raw = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return raw[:, 1].astype(float) if self.task == "binary" else raw.astype(float)

    def arrow_schema(self, input_schema: Any = None) -> Any:
        """The pyarrow schema `score` returns for a batch of `input_schema` (None: the answer columns only),
        for a cluster job that declares its output's schema before it runs."""
        return answer_schema(input_schema)


def load_plan(source: str | Path | Mapping[str, bytes], *,
              trusted_key: package.TrustedKey | Iterable[package.TrustedKey]) -> PortablePlan:
    """The package at `source` (its directory, or its files' bytes by name, as a cluster job may broadcast
    them), checked file by file and signature first; PlanRefused names what is wrong."""
    where = str(source) if isinstance(source, (str, Path)) else "the package"
    members = package.read_directory(source) if isinstance(source, (str, Path)) else dict(source)
    manifest, files, signer = package.verified_files(members, trusted_key, where)
    try:
        plan = ScoringPlan.from_bytes(files[package.PLAN])
    except (ValueError, KeyError, OSError) as e:
        raise PlanRefused(f"{where}: {package.PLAN} cannot be run by this code ({e}); export it again from a box "
                          "of the same Vigil", package.PLAN) from e
    if plan.meta.get("task") not in SCORED_TASKS:
        raise PlanRefused(f"{where}: a {plan.meta.get('task')} plan, which this code does not score", package.PLAN)
    contract = json.loads(files[package.CONTRACT])
    lineage = json.loads(files[package.LINEAGE])
    _warn_if_versions_differ(lineage.get("checked_with") or {})
    return PortablePlan(
        model=str(manifest["model"]), version=int(manifest["version"]), task=str(lineage["task"]),
        threshold=lineage.get("threshold"), classes=tuple(lineage.get("classes") or ()),
        features=tuple(Feature(f["name"], f["kind"]) for f in contract["features"]),
        contract=dict(contract["columns"]), contract_revision=int(contract["revision"]),
        policy=Policy(**contract["policy"]), lineage=lineage, key_id=signer, plan=plan)


def _warn_if_versions_differ(checked_with: Mapping[str, str]) -> None:
    for name in ("numpy", "scipy"):
        recorded = checked_with.get(name)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if recorded and installed != recorded:
            warnings.warn(f"this plan was checked with {name} {recorded}; {name} {installed or '(none)'} is "
                          "installed here", PlanVersionWarning, stacklevel=3)
