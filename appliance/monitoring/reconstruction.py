"""PCA reconstruction error: how well rows are rebuilt from the principal components of a reference,
the multivariate drift measure of NannyML's DataReconstructionDriftCalculator, in NumPy.

Fitted once on the reference: a missing value is imputed (numeric: the reference mean; categorical:
its most frequent value, the smallest on a tie), a category is encoded as its share of reference
rows (a category the reference never had: 0), every column is standardised (a constant one only
centred), and the principal components are kept whose cumulative share of the variance first
exceeds `variance` (0.65). A row's error is the Euclidean distance between its standardised values
and their reconstruction from those components. When features change how they move together, rows
leave the reference's subspace and the error rises, even if every feature's own distribution stays
the same.

The transform is folded into one matrix: with U an orthonormal basis of what the kept components
leave out, a row x's residual has coordinates W·x - b, W = Uᵀ·diag(1/scale) and b = Uᵀ·(mean/scale +
centre), and the error is their length. So scoring a window is one matrix product per block of rows,
never a copy per step.

>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=2000)
>>> reference = pl.DataFrame({"a": x, "b": x + rng.normal(scale=0.3, size=2000)})
>>> fit = PcaReconstruction(["a", "b"], []).fit(reference)
>>> fit.components_.shape
(1, 2)
>>> flipped = pl.DataFrame({"a": x, "b": -x + rng.normal(scale=0.3, size=2000)})
>>> bool(fit.errors(flipped).mean() > 3 * fit.errors(reference).mean())
True
"""

from __future__ import annotations

import io
import json
from typing import Any, Sequence

import numpy as np
import polars as pl

FORMAT = 1
BLOCK_ROWS = 1 << 17  # rows scored per matrix product: bounds the memory of a large window
_TINY = 10 * np.finfo(np.float64).eps  # a scale below this is treated as 1, as scikit-learn's StandardScaler does


class PcaReconstruction:
    """Imputation, count encoding, standard scaling and PCA fitted on a reference; `errors` scores rows."""

    def __init__(self, numeric: Sequence[str], categorical: Sequence[str], variance: float = 0.65) -> None:
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.variance = variance

    # learned state
    numeric_fill_: np.ndarray
    categories_: list[list[str]]
    shares_: list[np.ndarray]
    modes_: list[str | None]
    scale_mean_: np.ndarray
    scale_: np.ndarray
    centre_: np.ndarray
    components_: np.ndarray
    explained_variance_ratio_: np.ndarray

    def fit(self, frame: pl.DataFrame) -> PcaReconstruction:
        """Learn the imputation, encoding, scaling and components from the reference rows."""
        self._fit_matrix(frame)
        return self

    def fit_errors(self, frame: pl.DataFrame) -> np.ndarray:
        """Fit on the reference rows and return their own errors (encoding them once for both)."""
        return self._errors_of(self._fit_matrix(frame))

    def _fit_matrix(self, frame: pl.DataFrame) -> np.ndarray:
        if frame.height < 2:
            raise ValueError("a reconstruction reference needs at least 2 rows")
        numeric = frame.select([_floats(frame, name) for name in self.numeric])
        self.numeric_fill_ = np.array([_mean_or_zero(numeric[name]) for name in self.numeric], dtype=np.float64)
        self.categories_, self.shares_, self.modes_ = [], [], []
        for name in self.categorical:
            categories, shares, mode = _category_shares(frame.select(_texts(frame, name)).to_series())
            self.categories_.append(categories)
            self.shares_.append(shares)
            self.modes_.append(mode)
        matrix = self._matrix(frame)
        self._fit_components(matrix)
        return matrix

    def errors(self, frame: pl.DataFrame) -> np.ndarray:
        """Each row's reconstruction error, in row order."""
        found = np.empty(frame.height, dtype=np.float64)
        for start in range(0, frame.height, BLOCK_ROWS):
            found[start:start + BLOCK_ROWS] = self._errors_of(self._matrix(frame.slice(start, BLOCK_ROWS)))
        return found

    def _errors_of(self, matrix: np.ndarray) -> np.ndarray:
        """Errors of encoded rows; the matrix is column-major, so its transpose feeds one wide product."""
        weights, offset = self.kernel()
        columns = matrix.T
        found = np.empty(matrix.shape[0], dtype=np.float64)
        for start in range(0, matrix.shape[0], BLOCK_ROWS):
            residual = weights @ columns[:, start:start + BLOCK_ROWS]
            residual -= offset[:, None]
            found[start:start + BLOCK_ROWS] = np.sqrt(np.einsum("ij,ij->j", residual, residual))
        return found

    def kernel(self) -> tuple[np.ndarray, np.ndarray]:
        """(W, b): an encoded row x has residual coordinates W·x - b in the complement of the kept
        components (an orthonormal basis U of it: W = Uᵀ·diag(1/scale), b = Uᵀ·(mean/scale + centre));
        their length is the distance between the standardised row and its reconstruction."""
        width = self.scale_.shape[0]
        values, vectors = np.linalg.eigh(np.eye(width) - self.components_.T @ self.components_)
        complement = vectors[:, values > 0.5]
        weights = np.ascontiguousarray(complement.T / self.scale_[None, :])
        offset = complement.T @ (self.scale_mean_ / self.scale_ + self.centre_)
        return weights, offset

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def _fit_components(self, matrix: np.ndarray) -> None:
        """StandardScaler, then scikit-learn's PCA on the standardised rows (its covariance solver): the
        centre, then the eigenvectors of the covariance by falling eigenvalue, as many as `variance`
        needs. One pass: the Gram matrix of the mean-centred columns gives the scale and, divided by it,
        the standardised covariance."""
        rows = matrix.shape[0]
        self.scale_mean_ = matrix.mean(axis=0)
        columns = matrix.T
        sums = np.zeros(matrix.shape[1])
        gram = np.zeros((matrix.shape[1], matrix.shape[1]))
        for start in range(0, rows, BLOCK_ROWS):
            block = columns[:, start:start + BLOCK_ROWS] - self.scale_mean_[:, None]
            sums += block.sum(axis=1)
            gram += block @ block.T
        scale = np.sqrt(np.diag(gram) / rows)
        scale[scale < _TINY] = 1.0
        self.scale_ = scale
        centre = sums / rows / scale
        covariance = (gram / np.outer(scale, scale) - rows * np.outer(centre, centre)) / (rows - 1)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        eigenvalues, eigenvectors = np.clip(eigenvalues[::-1], 0.0, None), eigenvectors[:, ::-1]
        total = eigenvalues.sum()
        ratio = eigenvalues / total if total > 0 else np.full_like(eigenvalues, 1.0 / eigenvalues.size)
        kept = min(int(np.searchsorted(np.cumsum(ratio), self.variance, side="right")) + 1, ratio.size)
        self.centre_ = centre
        self.components_ = np.ascontiguousarray(eigenvectors[:, :kept].T)
        self.explained_variance_ratio_ = ratio[:kept]

    def _matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """The rows encoded as numbers: imputed numeric columns, then each category's reference share
        (looked up by the category's position among the reference's; an unseen one has share 0)."""
        matrix = np.empty((frame.height, len(self.numeric) + len(self.categorical)), dtype=np.float64, order="F")
        numeric = frame.select(
            [_floats(frame, name).fill_null(float(fill)) for name, fill in zip(self.numeric, self.numeric_fill_)])
        for index, column in enumerate(numeric.iter_columns()):
            matrix[:, index] = column.to_numpy()
        for index, (name, categories, shares, mode) in enumerate(
                zip(self.categorical, self.categories_, self.shares_, self.modes_), start=len(self.numeric)):
            text = _texts(frame, name) if mode is None else _texts(frame, name).fill_null(mode)
            positions = frame.select(text.cast(pl.Enum(categories), strict=False).to_physical()
                                     .cast(pl.Int64).fill_null(len(categories))).to_series().to_numpy()
            matrix[:, index] = np.append(shares, 0.0)[positions]
        return matrix

    def to_bytes(self) -> bytes:
        meta = {"format": FORMAT, "numeric": self.numeric, "categorical": self.categorical,
                "variance": self.variance, "categories": self.categories_, "modes": self.modes_}
        contents: dict[str, Any] = {
            "__meta__": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), "numeric_fill": self.numeric_fill_,
            "scale_mean": self.scale_mean_, "scale": self.scale_, "centre": self.centre_,
            "components": self.components_, "ratio": self.explained_variance_ratio_,
            **{f"shares{i}": s for i, s in enumerate(self.shares_)}}
        buffer = io.BytesIO()
        np.savez(buffer, **contents)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PcaReconstruction:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            meta: dict[str, Any] = json.loads(archive["__meta__"].tobytes().decode())
            if meta.get("format") != FORMAT:
                raise ValueError(f"reconstruction format {meta.get('format')} is not {FORMAT}")
            fit = cls(meta["numeric"], meta["categorical"], float(meta["variance"]))
            fit.numeric_fill_, fit.scale_mean_ = archive["numeric_fill"], archive["scale_mean"]
            fit.scale_ = archive["scale"]
            fit.centre_, fit.components_ = archive["centre"], archive["components"]
            fit.explained_variance_ratio_ = archive["ratio"]
            fit.categories_ = [list(c) for c in meta["categories"]]
            fit.modes_ = list(meta["modes"])
            fit.shares_ = [archive[f"shares{i}"] for i in range(len(fit.categorical))]
        return fit


def _floats(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A numeric column as Float64 with NaN as missing (a column the frame lacks: all missing)."""
    if name not in frame.columns:
        return pl.lit(None, dtype=pl.Float64).alias(name)
    return pl.col(name).cast(pl.Float64).fill_nan(None)


def _texts(frame: pl.DataFrame, name: str) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit(None, dtype=pl.String).alias(name)
    return pl.col(name).cast(pl.String)


def _mean_or_zero(series: pl.Series) -> float:
    mean = series.mean()
    return float(mean) if isinstance(mean, (int, float)) else 0.0


def _category_shares(column: pl.Series) -> tuple[list[str], np.ndarray, str | None]:
    """(categories, their shares of the reference rows once missing values are imputed, the imputed
    value): the most frequent category, the smallest of those tied."""
    counts = column.drop_nulls().value_counts(name="count")
    if counts.height == 0:
        return [], np.zeros(0), None
    top = counts["count"].max()
    mode = str(counts.filter(pl.col("count") == top)[column.name].min())
    counts = counts.with_columns(pl.when(pl.col(column.name) == mode).then(pl.col("count") + column.null_count())
                                 .otherwise(pl.col("count")).alias("count"))
    return counts[column.name].to_list(), (counts["count"] / column.len()).to_numpy().astype(np.float64), mode

