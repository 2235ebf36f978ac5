"""Drift of one column between a reference sample and a current sample.

Numeric columns: PSI and Jensen–Shannon distance over 10 quantile bins of the reference (plus one
bin for missing values), the two-sample Kolmogorov–Smirnov statistic and p-value (missing values
left out), and the change in missing rate. Categorical columns: PSI and Jensen–Shannon distance over
the reference's categories plus one bin for unseen categories and one for missing values, the
chi-square p-value of the category counts, and the share of current rows with an unseen category.

Empty bins: a share of zero in either sample is replaced by `EPSILON` (1e-4) before PSI's logarithm,
so a bin that appears or vanishes gives a large but finite term. Jensen–Shannon uses the raw shares
(it is defined with zeros) and base 2, so it lies in [0, 1].

Because missing values and unseen categories have bins of their own, a rise in missing values or a
new category moves PSI and JS: it is drift, not something silently dropped.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> reference = rng.normal(size=5000)
>>> numeric_drift(reference, rng.normal(size=5000)).verdict
'ok'
>>> numeric_drift(reference, rng.normal(loc=1.0, size=5000)).verdict
'critical'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

EPSILON = 1e-4
BINS = 10
MISSING = "(missing)"
UNSEEN = "(unseen)"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True, slots=True)
class Bands:
    """Verdict thresholds: ok below `warning`, warning below `critical`, else critical."""

    psi_warning: float = 0.1
    psi_critical: float = 0.25
    js_warning: float = 0.1
    js_critical: float = 0.2


@dataclass(frozen=True, slots=True)
class BinShift:
    label: str
    reference_share: float
    current_share: float
    psi_term: float


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    kind: str  # numeric or categorical
    psi: float
    js: float
    ks_stat: float | None
    ks_pvalue: float | None
    chi2_pvalue: float | None
    missing_ref: float
    missing_cur: float
    new_categories: dict[str, int]
    verdict: str
    unseen_share: float = 0.0  # categorical: share of current rows with a category the reference lacks
    top_bins: list[BinShift] = field(default_factory=list)
    quantiles: dict[str, tuple[float, float]] = field(default_factory=dict)  # p -> (reference, current)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "psi": self.psi, "ks_stat": self.ks_stat, "ks_pvalue": self.ks_pvalue,
            "js": self.js, "chi2_pvalue": self.chi2_pvalue, "missing_ref": self.missing_ref,
            "missing_cur": self.missing_cur, "new_categories": self.new_categories, "unseen_share": self.unseen_share,
            "verdict": self.verdict,
            "top_bins": [vars_of(b) for b in self.top_bins],
            "quantiles": {p: {"reference": r, "current": c} for p, (r, c) in self.quantiles.items()},
        }


def vars_of(shift: BinShift) -> dict[str, Any]:
    return {"bin": shift.label, "reference_share": shift.reference_share, "current_share": shift.current_share,
            "psi_term": shift.psi_term}


def psi(reference_shares: np.ndarray, current_shares: np.ndarray) -> tuple[float, np.ndarray]:
    """Population stability index and its per-bin terms: sum of (c - r) * ln(c / r), zeros → EPSILON."""
    r = np.where(reference_shares > 0, reference_shares, EPSILON)
    c = np.where(current_shares > 0, current_shares, EPSILON)
    terms = (c - r) * np.log(c / r)
    return float(terms.sum()), terms


def js_distance(reference_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """Jensen–Shannon distance, base 2 (the square root of the divergence), in [0, 1]."""
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(reference_shares, current_shares, base=2))


def quantile_edges(reference: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Inner bin edges at the reference's quantiles (duplicates removed for columns with ties)."""
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))


def numeric_drift(reference: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray,
                  bands: Bands = Bands(), bins: int = BINS) -> ColumnDrift:
    from scipy.stats import ks_2samp

    ref, cur = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    ref_ok, cur_ok = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    edges = quantile_edges(ref_ok, bins) if len(ref_ok) else np.array([])
    ref_counts = _binned(ref, ref_ok, edges)
    cur_counts = _binned(cur, cur_ok, edges)
    ref_shares, cur_shares = ref_counts / max(len(ref), 1), cur_counts / max(len(cur), 1)
    value, terms = psi(ref_shares, cur_shares)
    labels = _labels(edges) + [MISSING]
    ks = ks_2samp(ref_ok, cur_ok) if len(ref_ok) and len(cur_ok) else None
    js = js_distance(ref_shares, cur_shares)
    return ColumnDrift(
        kind="numeric", psi=value, js=js,
        ks_stat=float(ks.statistic) if ks is not None else None, ks_pvalue=float(ks.pvalue) if ks is not None else None,
        chi2_pvalue=None, missing_ref=float(np.isnan(ref).mean()) if len(ref) else 0.0,
        missing_cur=float(np.isnan(cur).mean()) if len(cur) else 0.0, new_categories={},
        verdict=verdict(value, js, bands),
        top_bins=_top(labels, ref_shares, cur_shares, terms),
        quantiles=_quantiles(ref_ok, cur_ok),
    )


def categorical_drift(reference: Sequence[Any], current: Sequence[Any], bands: Bands = Bands()) -> ColumnDrift:
    ref = [None if _missing(v) else str(v) for v in reference]
    known = sorted({v for v in ref if v is not None})
    return categorical_from_counts(known, _category_counts(ref, known), len(ref), current, bands)


def categorical_from_counts(known: list[str], ref_counts: np.ndarray, ref_rows: int, current: Sequence[Any],
                            bands: Bands = Bands()) -> ColumnDrift:
    """Categorical drift against reference counts (per known category, unseen, missing)."""
    from scipy.stats import chi2_contingency

    cur = [None if _missing(v) else str(v) for v in current]
    cur_counts = _category_counts(cur, known)
    ref_shares, cur_shares = ref_counts / max(ref_rows, 1), cur_counts / max(len(cur), 1)
    value, terms = psi(ref_shares, cur_shares)
    unseen: dict[str, int] = {}
    known_set = set(known)
    for v in cur:
        if v is not None and v not in known_set:
            unseen[v] = unseen.get(v, 0) + 1
    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    chi2 = float(chi2_contingency(table).pvalue) if table.shape[1] > 1 else 1.0
    js = js_distance(ref_shares, cur_shares)
    return ColumnDrift(
        kind="categorical", psi=value, js=js, ks_stat=None, ks_pvalue=None, chi2_pvalue=chi2,
        missing_ref=float(ref_counts[-1]) / max(ref_rows, 1), missing_cur=cur.count(None) / max(len(cur), 1),
        new_categories=dict(sorted(unseen.items(), key=lambda kv: -kv[1])), verdict=verdict(value, js, bands),
        unseen_share=sum(unseen.values()) / max(len(cur), 1),
        top_bins=_top(known + [UNSEEN, MISSING], ref_shares, cur_shares, terms),
    )


def verdict(psi_value: float, js_value: float, bands: Bands) -> str:
    """Judged on effect sizes (PSI and JS), never on p-values: large samples make p-values flag noise."""
    if psi_value > bands.psi_critical or js_value > bands.js_critical:
        return "critical"
    if psi_value >= bands.psi_warning or js_value >= bands.js_warning:
        return "warning"
    return "ok"


def _binned(values: np.ndarray, present: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per quantile bin (value <= edge goes left), then the count of missing values."""
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    return np.append(counts, len(values) - len(present)).astype(np.float64)


def _labels(edges: np.ndarray) -> list[str]:
    bounds = ["-inf", *[f"{e:.6g}" for e in edges], "inf"]
    return [f"({bounds[i]}, {bounds[i + 1]}]" for i in range(len(bounds) - 1)]


def _category_counts(values: list[str | None], known: list[str]) -> np.ndarray:
    index = {v: i for i, v in enumerate(known)}
    counts = np.zeros(len(known) + 2)
    for v in values:
        counts[len(known) + 1 if v is None else index.get(v, len(known))] += 1
    return counts


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _top(labels: list[str], ref: np.ndarray, cur: np.ndarray, terms: np.ndarray, n: int = 3) -> list[BinShift]:
    order = np.argsort(-terms, kind="stable")[:n]
    return [BinShift(labels[i], float(ref[i]), float(cur[i]), float(terms[i])) for i in order if terms[i] > 0]


def _quantiles(ref: np.ndarray, cur: np.ndarray) -> dict[str, tuple[float, float]]:
    if not len(ref) or not len(cur):
        return {}
    return {f"p{round(p * 100):02d}": (float(np.quantile(ref, p)), float(np.quantile(cur, p))) for p in QUANTILES}


def frame_drift(reference: Any, current: Any, columns: Sequence[str] | None = None,
                bands: Bands = Bands()) -> dict[str, ColumnDrift]:
    """Drift of every shared column (or the named ones) of two polars frames, by column type."""
    from appliance.errors import InvalidRequest

    names = list(columns) if columns else [c for c in reference.columns if c in current.columns
                                           and not reference.schema[c].is_temporal()
                                           and not reference.schema[c].is_nested()]
    missing = [c for c in names if c not in reference.columns or c not in current.columns]
    if missing:
        raise InvalidRequest(f"columns {missing} are not in both files", [
            {"field": c, "problem": "not in both files", "kind": "missing_column"} for c in missing])
    found = {}
    for name in names:
        dtype = reference.schema[name]
        if dtype.is_numeric() and not dtype.is_integer() or (dtype.is_integer() and reference[name].n_unique() > 20):
            found[name] = numeric_drift(reference[name].cast(float).fill_null(np.nan).to_numpy(),
                                        current[name].cast(float).fill_null(np.nan).to_numpy(), bands)
        else:
            found[name] = categorical_drift(reference[name].to_list(), current[name].to_list(), bands)
    return found
