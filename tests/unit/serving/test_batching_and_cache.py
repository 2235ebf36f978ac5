"""Micro-batching gives each caller its own rows; the model cache keeps to its memory bound."""

from __future__ import annotations

import threading

import numpy as np
import polars as pl
import pytest
from sklearn.linear_model import LogisticRegression

from appliance.contracts.contract import infer_contract
from appliance.contracts.features import Feature
from appliance.serving.batching import Predictor
from appliance.core.inputs import Inputs
from appliance.serving.loaded import LoadedVersion
from appliance.serving.model_cache import ModelCache

FEATURES = [Feature("x", "numeric"), Feature("y", "numeric")]


def _loaded(version: int = 1, size: int = 100) -> LoadedVersion:
    rng = np.random.default_rng(version)
    frame = pl.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200)})
    labels = (frame["x"] + frame["y"] > 0).to_numpy().astype(int)
    model = LogisticRegression().fit(frame, labels)
    return LoadedVersion("m", version, "binary", model, FEATURES, infer_contract(frame, FEATURES), "1", 0.5, size)


def test_concurrent_requests_share_predict_calls_and_get_their_own_rows() -> None:
    loaded = _loaded()
    predictor = Predictor(loaded, batching=True, max_rows=64, max_wait_ms=20)  # waits, so the 32 callers surely share batches
    frames = [pl.DataFrame({"x": [float(i)], "y": [float(-i) / 2]}) for i in range(32)]
    rows = [Inputs.from_polars(frame, FEATURES) for frame in frames]
    results: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
    barrier = threading.Barrier(len(rows))

    def call(i: int) -> None:
        barrier.wait()
        results[i] = predictor.predict(rows[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(rows))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, frame in enumerate(frames):
        expected_scores = loaded.model.predict_proba(frame)[:, 1]
        assert results[i][1] == pytest.approx(expected_scores, abs=1e-12)
    assert predictor.predict_calls < len(rows)


def test_without_batching_every_request_is_its_own_call() -> None:
    predictor = Predictor(_loaded(), batching=False)
    for i in range(5):
        predictor.predict(Inputs.from_polars(pl.DataFrame({"x": [float(i)], "y": [0.0]}), FEATURES))
    assert predictor.predict_calls == 5


def test_a_closed_predictor_still_answers() -> None:
    predictor = Predictor(_loaded(), batching=True)
    predictor.close()
    predictions, scores = predictor.predict(Inputs.from_polars(pl.DataFrame({"x": [1.0], "y": [1.0]}), FEATURES))
    assert predictions.tolist() == [1.0] and scores is not None and scores[0] > 0.5


def test_cache_evicts_least_recently_used_but_never_pinned() -> None:
    loads: list[int] = []

    def load(model: str, version: int) -> Predictor:
        loads.append(version)
        return Predictor(_loaded(version, size=100), batching=False)

    cache = ModelCache(load, max_bytes=250)
    first = cache.get("m", 1)
    cache.pin({("m", 1)})
    cache.get("m", 2)
    cache.get("m", 3)  # 300 bytes > 250: the least recently used unpinned version (2) goes
    assert cache.loaded == [("m", 1), ("m", 3)] and cache.total_bytes == 200
    assert cache.get("m", 1) is first and loads == [1, 2, 3]
    cache.get("m", 2)
    assert loads == [1, 2, 3, 2] and ("m", 3) not in cache.loaded
