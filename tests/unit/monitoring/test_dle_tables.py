"""DLE's loss models as tables: exactly the trees' predictions, stored without pickles, used as stored,
seeded (exact values on seeded data)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from appliance.contracts.features import CATEGORICAL, NUMERIC, Feature
from appliance.estimation import dle as dle_module
from appliance.estimation import reference as stored
from appliance.estimation.dle import DLE, RegressionReference, loss_tables
from appliance.estimation.loss_tables import Grid, LossTables, tables_of


def _data(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three numbers and a category code (0..3); the version errs more where a and the category interact."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.random(rows), rng.normal(size=rows), rng.integers(0, 5, rows).astype(float),
                         rng.integers(0, 4, rows).astype(float)])
    x[rng.random(rows) < 0.05, 1] = np.nan
    predicted = x[:, 0] + 0.1 * np.nan_to_num(x[:, 1])
    noise = 0.05 + 0.4 * x[:, 0] * (x[:, 3] == 2) + 0.1 * (x[:, 2] > 2)
    return x, predicted, predicted + rng.normal(0, noise)


def _pairwise(inputs: np.ndarray, target: np.ndarray, categorical: list[bool]) -> object:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=30, max_leaf_nodes=15, categorical_features=np.asarray(categorical),
                                         interaction_cst="pairwise", random_state=0).fit(inputs, target)


def test_tables_are_exactly_the_pairwise_trees_including_missing_and_unknown_categories() -> None:
    x, predicted, y = _data(3000)
    inputs = np.column_stack([x, predicted])
    categorical = [False, False, False, True, False]
    reference = inputs[x[:, 3] != 3]  # code 3 unseen when fitted: goes each node's missing way
    models = [_pairwise(reference, np.abs(y - predicted)[x[:, 3] != 3], categorical),
              _pairwise(reference, ((y - predicted) ** 2)[x[:, 3] != 3], categorical)]
    tables = tables_of(models, categorical, reference[:100])
    probe, _, _ = _data(2000, seed=1)
    probe = np.column_stack([probe, probe[:, 0]])
    probe[::7, 3] = np.nan
    probe[1::7, 3] = -1.0  # negative: missing
    probe[2::7, 3] = 300.0  # beyond the codes: missing
    probe[3::7, 0] = np.nan  # never missing when fitted
    probe[4::7, 2] = 1e9  # beyond every threshold
    expected = np.column_stack([m.predict(probe) for m in models])  # type: ignore[attr-defined]
    found = tables.predict(probe)
    assert np.max(np.abs(found - expected)) < 1e-9
    assert all(len(features) <= 2 for features, _ in tables.terms)


@pytest.mark.parametrize("thresholds", [
    np.sort(np.random.default_rng(3).lognormal(size=220)),  # positive, spread: a few steps per range
    np.array([-3.5, -1e-300, 0.0, 1e-300, 2.5]),  # both signs, around zero
    np.array([-1e308, 1e308]), np.array([-np.inf, 3.0]), np.array([2.0]), np.zeros(0),
    np.unique(np.round(np.random.default_rng(4).normal(size=200) * 1000)) + 0.5,  # both signs: 6 steps
    np.unique(np.random.default_rng(4).normal(size=2000)),  # crowded: a binary search
])
def test_a_grid_bins_numbers_exactly_as_a_binary_search(thresholds: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.normal(size=20_000) * 10, rng.normal(size=2000) * 1e6, rng.lognormal(size=2000),
                             thresholds, np.nextafter(thresholds, np.inf), np.nextafter(thresholds, -np.inf),
                             [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e308, -1e308, 5e-324, -5e-324]])
    expected = np.searchsorted(thresholds, values, side="left")
    expected[np.isnan(values)] = len(thresholds) + 1
    grid = Grid.of(thresholds)
    assert np.array_equal(grid.bins(values), expected)
    assert (grid.steps < 0) == (len(thresholds) == 2000)  # only the crowded case falls back


def test_dle_on_several_inputs_is_seeded_and_finds_where_the_version_errs_more() -> None:
    x, predicted, y = _data(4000)
    reference = RegressionReference(y, predicted, x, (False, False, False, True))
    fitted = DLE.fit(reference)
    again = DLE.fit(reference)
    arrays, arrays_again = fitted.to_arrays(), again.to_arrays()
    assert arrays.keys() == arrays_again.keys() and all(np.array_equal(arrays[k], arrays_again[k]) for k in arrays)
    probe, probe_predicted, probe_y = _data(4000, seed=2)
    hard = (probe[:, 3] == 2) & (probe[:, 0] > 0.7)
    values = fitted.estimate(probe[hard], probe_predicted[hard])
    assert values["mae"][0] == pytest.approx(0.3568739050248855, rel=1e-9)
    assert values["rmse"][0] == pytest.approx(0.444369663438766, rel=1e-9)
    assert values["mae"][0] == pytest.approx(np.mean(np.abs(probe_y[hard] - probe_predicted[hard])), abs=0.03)  # 295 rows
    easy = fitted.estimate(probe[~hard], probe_predicted[~hard])
    assert easy["mae"][0] < values["mae"][0] / 2


def test_tables_are_stored_without_pickles_and_checked_when_read() -> None:
    x, predicted, y = _data(2000)
    reference = RegressionReference(y, predicted, x, (False, False, False, True))
    fitted = DLE.fit(reference)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **fitted.to_arrays())  # type: ignore[arg-type]
    with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as data:
        arrays = dict(data)
    read = DLE.from_arrays(reference, arrays)
    assert np.array_equal(read.tables.predict(np.column_stack([x, predicted])),
                          fitted.tables.predict(np.column_stack([x, predicted])))
    with pytest.raises(ValueError, match="does not fit"):
        LossTables.from_arrays({**arrays, "dle_term_0": arrays["dle_term_0"][1:]}, "dle_")
    with pytest.raises(ValueError, match="does not fit"):
        LossTables.from_arrays({**arrays, "dle_term_features": arrays["dle_term_features"] + 50}, "dle_")
    with pytest.raises(ValueError, match="strictly increasing"):
        LossTables.from_arrays({**arrays, "dle_thresholds_0": arrays["dle_thresholds_0"][::-1]}, "dle_")
    with pytest.raises(ValueError, match="do not fit this reference"):
        DLE.from_arrays(RegressionReference(y, predicted, x, (False, False, False, False)), arrays)
    with pytest.raises(KeyError):
        DLE.from_arrays(reference, {k: v for k, v in arrays.items() if k != "dle_constant"})


def test_a_stored_reference_predicts_with_its_stored_tables_and_refits_without_them() -> None:
    x, predicted, y = _data(1500)
    features = [Feature("a", NUMERIC), Feature("b", NUMERIC), Feature("c", NUMERIC), Feature("kind", CATEGORICAL)]
    inputs = pl.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "kind": [f"k{int(v)}" for v in x[:, 3]]})
    times = np.array([datetime(2024, 1, 1) + timedelta(minutes=i) for i in range(len(y))], dtype="datetime64[us]")
    row = {"task": "regression", "model_name": "m", "version": 1}
    found = stored.fit(row, pl.Series("y", y), predicted, inputs, features, times)
    arrays = stored._arrays(found)
    encoded = stored.encode(inputs, features, found.categories)
    mae = found.estimator.estimate(encoded, predicted)["mae"][0]
    shifted = stored._fitted({**arrays, "dle_constant": arrays["dle_constant"] + np.array([1.0, 0.0])}, row)
    assert isinstance(shifted.estimator, DLE) and isinstance(found.estimator, DLE)
    both = np.column_stack([encoded, predicted])
    assert np.allclose(shifted.estimator.tables.predict(both), found.estimator.tables.predict(both) + [1.0, 0.0],
                       rtol=0, atol=1e-12)  # the stored tables were read, not refitted
    refitted = stored._fitted({k: v for k, v in arrays.items() if not k.startswith("dle_")}, row)
    assert refitted.estimator.estimate(encoded, predicted)["mae"][0] == pytest.approx(mae, rel=1e-12)


def test_a_reference_beyond_the_sample_size_fits_on_a_seeded_uniform_sample(monkeypatch) -> None:
    x, predicted, y = _data(2000)
    monkeypatch.setattr(dle_module, "SAMPLE_ROWS", 500)
    sampled = loss_tables(RegressionReference(y, predicted, x, (False, False, False, True)))
    rows = np.sort(np.random.default_rng(0).choice(2000, 500, replace=False))
    subset = loss_tables(RegressionReference(y[rows], predicted[rows], x[rows], (False, False, False, True)))
    probe = np.column_stack([x, predicted])
    assert np.array_equal(sampled.predict(probe), subset.predict(probe))
