"""CBPE, DLE and their bands on small hand-computable cases and seeded data (exact values)."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.estimation import sampling_error as se
from appliance.estimation.bands import alert_band, estimate
from appliance.estimation.calibration import Calibrator, calibration_error, bin_edges, needs_calibration
from appliance.estimation.cbpe import CBPE, ClassifierReference, realized
from appliance.estimation.performance import WholePeriod
from appliance.monitoring.chunking import parse_chunk
from appliance.monitoring.estimation_chunks import row_slices
from appliance.estimation.dle import DLE, RegressionReference
from appliance.estimation.expected import binary_estimates, estimated_roc_auc, expected_confusion

P = np.array([0.9, 0.6, 0.3, 0.1])
PREDICTED = np.array([1, 1, 0, 0])


def test_expected_confusion_matrix_and_metrics_by_hand() -> None:
    # predicted positive: TP = 0.9 + 0.6, FP = 0.1 + 0.4; predicted negative: FN = 0.3 + 0.1, TN = 0.7 + 0.9
    assert expected_confusion(P, PREDICTED) == pytest.approx((1.5, 0.5, 0.4, 1.6))
    found = binary_estimates(P, PREDICTED)
    assert found["accuracy"] == pytest.approx(3.1 / 4)
    assert found["precision"] == pytest.approx(1.5 / 2.0)
    assert found["recall"] == pytest.approx(1.5 / 1.9)
    assert found["f1"] == pytest.approx(1.5 / (1.5 + 0.5 * 0.9))


def test_estimated_roc_auc_is_the_area_under_the_expected_curve() -> None:
    # descending: cumulative TP 0.9, 1.5, 1.8, 1.9 and FP 0.1, 0.5, 1.2, 2.1; trapezoids over (FP/2.1, TP/1.9)
    steps = [(0.1, 0.0, 0.9), (0.4, 0.9, 1.5), (0.7, 1.5, 1.8), (0.9, 1.8, 1.9)]
    by_hand = sum(dfp / 2.1 * (a + b) / 2 / 1.9 for dfp, a, b in steps)
    assert estimated_roc_auc(P, P) == pytest.approx(by_hand) == pytest.approx(0.8383458646616542)
    # the order is the version's own scores; the calibrated probabilities only weigh the rows
    assert estimated_roc_auc(P, np.array([0.1, 0.2, 0.3, 0.4])) == pytest.approx(1 - by_hand)


def test_isotonic_calibrator_is_a_clipped_step_function() -> None:
    calibrator = Calibrator.fit(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 1, 0, 1]))
    assert calibrator.x.tolist() == [0.1, 0.2, 0.8, 0.9]  # type: ignore[union-attr]
    assert calibrator.y.tolist() == [0.0, 0.5, 0.5, 1.0]  # type: ignore[union-attr]
    assert calibrator.calibrate(np.array([0.0, 0.15, 0.5, 1.0])) == pytest.approx([0.0, 0.25, 0.5, 1.0])
    assert Calibrator.identity().calibrate(np.array([0.3])).tolist() == [0.3]


def test_cbpe_calibrates_the_scores_then_takes_the_expected_confusion_matrix() -> None:
    reference = ClassifierReference(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    cbpe = CBPE.fit(reference, (Calibrator.fit(reference.scores, reference.y_true),))
    scores, predicted = np.array([0.15, 0.5, 0.95]), np.array([0, 1, 1])
    values = cbpe.estimate(scores, predicted)
    # calibrated: 0.25, 0.5, 1.0; predicted positive rows 0.5 and 1.0: TP 1.5, FP 0.5; FN 0.25, TN 0.75
    assert values["accuracy"][0] == pytest.approx((1.5 + 0.75) / 3)
    assert values["precision"][0] == pytest.approx(0.75)
    assert values["recall"][0] == pytest.approx(1.5 / 1.75)
    assert values["roc_auc"][0] == pytest.approx(estimated_roc_auc(np.array([0.25, 0.5, 1.0]), scores))
    # sampling errors from the reference: half its rows are right (std 0.5), over the chunk's 3 rows
    assert values["accuracy"][1] == pytest.approx(0.5 / np.sqrt(3))


def test_sampling_error_components_by_hand() -> None:
    # positives at ranks 1 and 3 have 1 and 2 negatives below them, of 2: (0.5, 1.0), std 0.25, half positive
    assert se.roc_auc_components(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == (0.25, 0.5)
    assert se.error((0.25, 0.5), 8) == pytest.approx(0.125)
    assert se.precision_components(np.array([1, 0, 1, 1]), np.array([1, 1, 0, 1])) == pytest.approx(
        (np.std([1, 0, 1]), 0.75))
    assert se.multiclass_error([(0.25, 0.5), (0.16, 0.5)], 10) == pytest.approx(np.sqrt(0.05 + 0.032) / 2)


def test_calibration_is_used_only_when_it_lowers_the_error() -> None:
    rng = np.random.default_rng(3)
    truth = rng.random(4000)
    y = (rng.random(4000) < truth).astype(int)
    assert needs_calibration(truth ** 3, y)  # too low everywhere
    assert not needs_calibration(y * 0.6 + 0.2, y)  # separates perfectly (AUC above 0.999): kept as it is
    assert not needs_calibration(truth, np.zeros(4000, dtype=int))  # one class: nothing to calibrate to
    edges = bin_edges(20, 10)
    assert edges[0] == (0, 2) and edges[-1] == (18, 20)
    assert calibration_error(np.array([0, 1]), np.array([0.0, 1.0]), [(0, 1), (1, 2)]) == 0.0


def test_cbpe_on_seeded_binary_data_tracks_the_realized_metrics() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random(20000)
    y = (rng.random(20000) < truth).astype(int)
    scores = np.clip(truth + rng.normal(0, 0.05, 20000), 0, 1)
    reference = ClassifierReference(y[:10000], scores[:10000], (scores[:10000] >= 0.5).astype(int))
    cbpe = CBPE.fit(reference)
    shifted = scores[10000:] > 0.3  # a covariate shift: fewer easy negatives
    values = cbpe.estimate(scores[10000:][shifted], (scores[10000:][shifted] >= 0.5).astype(int))
    seen = realized(ClassifierReference(y[10000:][shifted], scores[10000:][shifted],
                                        (scores[10000:][shifted] >= 0.5).astype(int)))
    for metric in ("roc_auc", "accuracy", "f1", "precision", "recall"):
        estimate_value, error = values[metric]
        assert abs(estimate_value - seen[metric]) < 3 * error, metric
    assert values["roc_auc"][0] == pytest.approx(0.7594606600633231, rel=1e-9)


def test_multiclass_cbpe_is_the_macro_of_each_class() -> None:
    probabilities = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.4, 0.4, 0.2]])
    predicted = np.array([0, 1, 2, 0])
    reference = ClassifierReference(np.array([0, 1, 2, 1]), probabilities, predicted)
    cbpe = CBPE.fit(reference, tuple(Calibrator.identity() for _ in range(3)))
    values = cbpe.estimate(probabilities, predicted)
    assert values["accuracy"][0] == pytest.approx((0.7 + 0.5 + 0.6 + 0.4) / 4)
    precision = np.mean([(0.7 + 0.4) / 2, 0.5 / 1, 0.6 / 1])
    assert values["precision"][0] == pytest.approx(precision)
    recall = np.mean([(0.7 + 0.4) / (0.7 + 0.2 + 0.1 + 0.4), 0.5 / (0.2 + 0.5 + 0.3 + 0.4), 0.6 / (0.1 + 0.3 + 0.6 + 0.2)])
    assert values["recall"][0] == pytest.approx(recall)
    aucs = [estimated_roc_auc(probabilities[:, c], probabilities[:, c]) for c in range(3)]
    assert values["roc_auc"][0] == pytest.approx(np.mean(aucs))
    assert realized(reference)["accuracy"] == pytest.approx(0.75)


def test_dle_estimates_the_loss_where_the_version_errs_more() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((3000, 1))
    y = x[:, 0] + rng.normal(0, 0.05 + 0.3 * x[:, 0])
    dle = DLE.fit(RegressionReference(y, x[:, 0], x, (False,)))
    hard = x[:, 0] > 0.8
    values = dle.estimate(x[hard], x[hard, 0])
    assert values["mae"][0] == pytest.approx(0.25708530383174644, rel=1e-9)
    assert values["mae"][0] == pytest.approx(np.mean(np.abs(y[hard] - x[hard, 0])), abs=0.01)
    assert values["rmse"][0] > values["mae"][0]
    assert values["mae"][1] == pytest.approx(np.std(np.abs(y - x[:, 0])) / np.sqrt(hard.sum()))


def test_bands_and_chunks() -> None:
    assert alert_band(np.array([0.80, 0.82, 0.84]), 0.0, 1.0) == pytest.approx(
        (0.82 - 3 * np.std([0.80, 0.82, 0.84]), 0.82 + 3 * np.std([0.80, 0.82, 0.84])))
    assert alert_band(np.array([0.5, 1.0]), 0.0, 1.0) == (0.0, 1.0)  # clipped to the metric's range
    judged = estimate("roc_auc", 0.7, 0.05, (0.75, 0.9), 0.0, 1.0)
    assert judged.alert and judged.lower == pytest.approx(0.55) and judged.upper == pytest.approx(0.85)
    assert row_slices(parse_chunk("rows:4"), 10) == [(0, 4), (4, 8), (8, 10)]
    assert row_slices(parse_chunk("chunks:3"), 10) == [(0, 4), (4, 7), (7, 10)]
    default = WholePeriod().reference_slices(np.arange(23).astype("datetime64[D]"))  # NannyML's: rows // 10, and the rest
    assert len(default) == 12 and default[0] == (0, 2) and default[-1] == (22, 23)
