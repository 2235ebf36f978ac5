"""A multiclass version's outputs as drift columns: predicted class names and each class's probability."""

from __future__ import annotations

import numpy as np
import polars as pl

from appliance.contracts.features import CATEGORICAL, NUMERIC, Feature
from appliance.monitoring.class_outputs import mean_shift, output_features, reference_frame, window_frame
from appliance.monitoring.profile import CategoricalProfile

CLASSES = ["a", "b", "c"]


def test_outputs_are_the_class_and_each_probability_for_multiclass_only() -> None:
    assert output_features(None) == [Feature("(prediction)", NUMERIC)]
    assert output_features(CLASSES) == [Feature("(prediction)", CATEGORICAL), Feature("(probability:a)", NUMERIC),
                                        Feature("(probability:b)", NUMERIC), Feature("(probability:c)", NUMERIC)]


def test_a_logged_window_becomes_class_names_and_probability_columns() -> None:
    logged = pl.DataFrame({"x": [1.0, 2.0, 3.0], "(prediction)": [0.7, 0.6, None], "(class)": [0.0, 2.0, None],
                           "(probabilities)": [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], None]})
    found = window_frame(logged, CLASSES)
    assert found.columns == ["x", "(prediction)", "(probability:a)", "(probability:b)", "(probability:c)"]
    assert found["(prediction)"].to_list() == ["a", "c", None]
    assert found["(probability:c)"].to_list() == [0.1, 0.6, None]


def test_a_shifted_class_mix_drifts_and_its_mean_probability_moves() -> None:
    rng = np.random.default_rng(3)
    reference = reference_frame(rng.dirichlet([1, 1, 1], size=3000), CLASSES)
    current = reference_frame(rng.dirichlet([1, 1, 6], size=3000), CLASSES)
    profile = CategoricalProfile.of(reference["(prediction)"].to_list())
    assert profile.drift(reference["(prediction)"].to_list()[:1500]).verdict == "ok"
    drift = profile.drift(current["(prediction)"].to_list())
    assert drift.verdict == "critical" and drift.chi2_pvalue < 1e-9
    moved = {b.label: b for b in drift.top_bins}
    assert moved["c"].current_share > 0.8 > 0.4 > moved["c"].reference_share
    shift = mean_shift(np.sort(reference["(probability:c)"].to_numpy()), current["(probability:c)"].to_numpy())
    assert abs(shift["mean_reference"] - 1 / 3) < 0.02 and abs(shift["mean_current"] - 0.75) < 0.02
    assert shift["mean_shift"] == shift["mean_current"] - shift["mean_reference"]
