"""PCA reconstruction error equals scikit-learn's pipeline (imputation, count encoding, standard
scaling, PCA keeping 65% of the variance) row for row, and survives storage."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from appliance.monitoring.reconstruction import PcaReconstruction

NUMERIC = ["a", "b", "c", "d"]


def _frame(seed: int, rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(rows, 3))
    a = z[:, 0] * 2 + 1
    b = z[:, 0] + z[:, 1] * 0.5
    c = z[:, 2] * 10 + 100
    d = a * 0.3 + rng.normal(size=rows)
    a[rng.choice(rows, rows // 50, replace=False)] = np.nan
    colour = rng.choice(["red", "green", "blue"], size=rows, p=[0.5, 0.3, 0.2]).astype(object)
    colour[rng.choice(rows, rows // 100, replace=False)] = None
    constant = np.full(rows, 7.0)  # a constant column is only centred
    return pl.DataFrame({"a": a, "b": b, "c": c, "d": d, "k": constant, "colour": list(colour)})


def _sklearn_errors(reference: pl.DataFrame, current: pl.DataFrame) -> tuple[np.ndarray, int]:
    """NannyML's steps with scikit-learn: mean / most-frequent imputation, categories as their share of
    the imputed reference (unseen: 0), StandardScaler, PCA(0.65), Euclidean reconstruction distance."""
    numbers = [*NUMERIC, "k"]
    numeric = SimpleImputer(strategy="mean").fit(reference.select(numbers).to_numpy())

    def categories(frame: pl.DataFrame) -> np.ndarray:
        column = np.array(frame["colour"].to_list(), dtype=object).reshape(-1, 1)
        return np.where(column == None, np.nan, column)  # noqa: E711 - elementwise

    mode = SimpleImputer(strategy="most_frequent").fit(categories(reference))
    imputed = mode.transform(categories(reference)).ravel()
    values, counts = np.unique(imputed.astype(str), return_counts=True)
    shares = dict(zip(values, counts / imputed.size))

    def encoded(frame: pl.DataFrame) -> np.ndarray:
        colour = [shares.get(v, 0.0) for v in mode.transform(categories(frame)).ravel()]
        return np.column_stack([numeric.transform(frame.select(numbers).to_numpy()), colour])

    scaler = StandardScaler().fit(encoded(reference))
    pca = PCA(n_components=0.65, random_state=16).fit(scaler.transform(encoded(reference)))
    scaled = scaler.transform(encoded(current))
    return np.linalg.norm(scaled - pca.inverse_transform(pca.transform(scaled)), axis=1), int(pca.n_components_)


@pytest.fixture(scope="module")
def reference() -> pl.DataFrame:
    return _frame(3, 4000)


def test_errors_equal_scikit_learns_pca_row_for_row(reference: pl.DataFrame) -> None:
    current = _frame(4, 1500).with_columns(
        -pl.col("b"), pl.when(pl.int_range(pl.len()) < 10).then(pl.lit("purple"))  # unseen categories
        .otherwise(pl.col("colour")).alias("colour"))
    fit = PcaReconstruction([*NUMERIC, "k"], ["colour"]).fit(reference)
    for frame in (reference, current):
        expected, components = _sklearn_errors(reference, frame)
        assert fit.components_.shape == (components, 6) == (2, 6)
        np.testing.assert_allclose(fit.errors(frame), expected, rtol=1e-12, atol=1e-12)
    assert fit.modes_ == ["red"]


def test_exact_values_on_a_small_frame() -> None:
    """By hand: x is imputed with its mean 2.5 and standardises to (-1.5, -0.5, 0.5, 1.5, 0) (std 1); y to
    (-1, -2, 1, 0, 2)/sqrt(2). Their one kept component is (1, 1)/sqrt(2) (71% of the variance), so a row's
    error is its distance from that line, |x - y|/sqrt(2)."""
    frame = pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, None], "y": [2.0, 1.0, 4.0, 3.0, 5.0]})
    fit = PcaReconstruction(["x", "y"], []).fit(frame)
    root = np.sqrt(2.0)
    x, y = np.array([-1.5, -0.5, 0.5, 1.5, 0.0]), np.array([-1.0, -2.0, 1.0, 0.0, 2.0]) / root
    np.testing.assert_allclose(fit.errors(frame), np.abs(x - y) / root, rtol=1e-14)
    assert fit.errors(frame).round(12).tolist() == [0.56066017178, 0.646446609407, 0.146446609407,
                                                    1.06066017178, 1.0]
    assert fit.components_.shape == (1, 2) and float(fit.explained_variance_ratio_[0]) == pytest.approx(0.7121320344)


def test_storage_round_trip_gives_the_same_errors(reference: pl.DataFrame) -> None:
    fit = PcaReconstruction([*NUMERIC, "k"], ["colour"])
    own = fit.fit_errors(reference)
    np.testing.assert_allclose(own, fit.errors(reference), rtol=1e-13)
    again = PcaReconstruction.from_bytes(fit.to_bytes())
    assert again.columns == fit.columns and again.categories_ == fit.categories_
    assert np.array_equal(again.errors(reference), fit.errors(reference))


def test_large_frames_are_scored_in_blocks(monkeypatch: pytest.MonkeyPatch, reference: pl.DataFrame) -> None:
    import appliance.monitoring.reconstruction as reconstruction

    fit = PcaReconstruction([*NUMERIC, "k"], ["colour"]).fit(reference)
    whole = fit.errors(reference)
    monkeypatch.setattr(reconstruction, "BLOCK_ROWS", 333)
    blocked = PcaReconstruction([*NUMERIC, "k"], ["colour"]).fit(reference)
    np.testing.assert_allclose(blocked.errors(reference), whole, rtol=1e-10)  # sums in another order


def test_a_missing_column_is_imputed_and_a_tiny_reference_is_refused(reference: pl.DataFrame) -> None:
    fit = PcaReconstruction([*NUMERIC, "k"], ["colour"]).fit(reference)
    without = reference.drop("d")
    filled = reference.with_columns(pl.lit(float(fit.numeric_fill_[3])).alias("d"))
    np.testing.assert_allclose(fit.errors(without), fit.errors(filled), rtol=1e-12)
    with pytest.raises(ValueError, match="at least 2 rows"):
        PcaReconstruction(["a"], []).fit(reference.head(1))
