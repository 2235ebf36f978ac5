"""Multivariate drift in a drift check: the version's reconstruction reference, a window judged
against it, and what is stored of it.

The reference is fitted once per version on its training rows (the rows its univariate profile is
built from) and kept as a content-addressed file with a `reconstruction_references` row, so a check
only scores the window. A check against an earlier window of traffic fits on that window instead,
and keeps nothing. The result is stored in `drift_results` under feature '(multivariate)' (metrics
reconstruction_error, sampling_error, lower_threshold, upper_threshold, reconstruction_sigmas) with
an explanation in `drift_explanations`.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from appliance.clock import utc_now
from appliance.contracts.features import NUMERIC, Feature
from appliance.core.blobs import Blob
from appliance.home.context import AppContext
from appliance.monitoring.multivariate import INCONCLUSIVE, ReconstructionDrift, window_drift
from appliance.monitoring.reconstruction import FORMAT, PcaReconstruction
from appliance.monitoring.reference import keep_derived, read_derived
from appliance.monitoring.training_rows import training_inputs
from appliance.store import reconstruction_queries as rq

log = logging.getLogger("vigil.monitoring")
MULTIVARIATE = rq.MULTIVARIATE
METRICS = ("reconstruction_error", "sampling_error", "lower_threshold", "upper_threshold", "reconstruction_sigmas")


@dataclass(frozen=True, slots=True)
class Reference:
    """A fitted reconstruction and its reference rows' errors, in time order."""

    fit: PcaReconstruction
    errors: np.ndarray


@dataclass(frozen=True, slots=True)
class MultivariateResult:
    reference: Reference | None
    drift: ReconstructionDrift
    note: str = ""  # why the result is inconclusive, when it is for want of a reference

    @property
    def verdict(self) -> str:
        return self.drift.verdict

    def as_dict(self) -> dict[str, Any]:
        band = self.drift.band
        fit = self.reference.fit if self.reference is not None else None
        return {"verdict": self.drift.verdict, "rows": self.drift.rows,
                "reconstruction_error": self.drift.reconstruction_error, "sampling_error": self.drift.sampling_error,
                "lower_confidence": self.drift.lower_confidence, "upper_confidence": self.drift.upper_confidence,
                "lower_threshold": band.lower if band else None, "upper_threshold": band.upper if band else None,
                "reference_mean": band.mean if band else None, "reference_std": band.std if band else None,
                "reference_chunks": band.chunks if band else None, "chunk_rows": band.chunk_rows if band else None,
                "reconstruction_sigmas": self.drift.sigmas,
                "reference_rows": int(self.reference.errors.size) if self.reference is not None else 0,
                "components": int(fit.components_.shape[0]) if fit else None,
                "columns": len(fit.columns) if fit else None,
                "explained_variance": float(fit.explained_variance_ratio_.sum()) if fit else None,
                **({"note": self.note} if self.note else {})}

    def rows(self, run_id: int, run: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Its `drift_results` rows (a metric without a value, such as a missing lower bound, has none)."""
        values = self.as_dict()
        return [(run_id, run["model_name"], run["version"], run["window_start"], run["window_end"], MULTIVARIATE,
                 None, None, metric, float(values[metric]), self.verdict)
                for metric in METRICS if values[metric] is not None]


def judge(ctx: AppContext, row: dict[str, Any], features: list[Feature], current: pl.DataFrame,
          reference_frame: pl.DataFrame | None = None) -> MultivariateResult:
    """The window's multivariate drift against the version's training rows, or against
    `reference_frame` (an earlier window of traffic) when one is given."""
    try:
        reference = (reference_of(reference_frame, features) if reference_frame is not None
                     else training_reference(ctx, row, features))
    except ValueError as e:
        empty = ReconstructionDrift(current.height, None, None, None, None, None, None, INCONCLUSIVE)
        return MultivariateResult(None, empty, f"no reconstruction reference: {e}")
    return MultivariateResult(reference, window_drift(reference.fit.errors(current), reference.errors))


def reference_of(frame: pl.DataFrame, features: list[Feature]) -> Reference:
    """Fit on `frame` (rows in time order) and score its own rows."""
    numeric, categorical = _split(features)
    fit = PcaReconstruction(numeric, categorical)
    return Reference(fit, fit.fit_errors(frame))


def training_reference(ctx: AppContext, row: dict[str, Any], features: list[Feature]) -> Reference:
    """The version's stored reference, fitted on its training rows on first use (and again when the
    stored file is missing or damaged)."""
    numeric, categorical = _split(features)
    found = _stored(ctx, row["model_name"], int(row["version"]))
    if found is not None and found.fit.columns == numeric + categorical:
        return found
    reference = reference_of(training_inputs(ctx, row, features), features)
    _store(ctx, row["model_name"], int(row["version"]), reference)
    return reference


def _split(features: list[Feature]) -> tuple[list[str], list[str]]:
    """(numeric, categorical) feature names, in model order."""
    return [f.name for f in features if f.kind == NUMERIC], [f.name for f in features if f.kind != NUMERIC]


def to_bytes(reference: Reference) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, fit=np.frombuffer(reference.fit.to_bytes(), dtype=np.uint8), errors=reference.errors)
    return buffer.getvalue()


def from_bytes(data: bytes) -> Reference:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return Reference(PcaReconstruction.from_bytes(archive["fit"].tobytes()), archive["errors"])


def _stored(ctx: AppContext, model_name: str, version: int) -> Reference | None:
    found = rq.find_reference(ctx.store, model_name, version, FORMAT)
    if found is None:
        return None
    data = read_derived(ctx, found["fit_path"], found["fit_sha256"], "reconstruction reference")
    try:
        return from_bytes(data) if data is not None else None
    except (OSError, ValueError, KeyError) as e:
        log.warning("reconstruction reference %s unusable (%s); fitting it again", found["fit_path"], e)
        return None


def _store(ctx: AppContext, model_name: str, version: int, reference: Reference) -> None:
    """Keep the fit for later checks."""
    def record(blob: Blob) -> None:
        rq.upsert_reference(ctx.store, dict(
            model_name=model_name, version=version, fit_format=FORMAT, fit_sha256=blob.sha256,
            fit_path=blob.relative_path, fit_bytes=blob.size_bytes, reference_rows=int(reference.errors.size),
            components=int(reference.fit.components_.shape[0]), created_at=utc_now()))

    keep_derived(ctx, to_bytes(reference), ".reconstruction.npz", record,
                 f"the reconstruction reference of {model_name} v{version}")
