"""appliance/artifacts/model_files.py: skops round trip, hash checks and the type allow-list."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from appliance.errors import ArtifactError
from appliance.artifacts.model_files import deserialize, load_verified, serialize, unsafe_types


class Holder:
    """A type outside the allow-list."""

    def __init__(self, value: int) -> None:
        self.value = value


def fitted_pipeline() -> Pipeline:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(random_state=0))]).fit(x, y)


def stored(tmp_path: Path, data: bytes) -> tuple[Path, str]:
    path = tmp_path / "model.skops"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_round_trip_of_a_fitted_pipeline() -> None:
    model = fitted_pipeline()
    data = serialize(model)
    assert unsafe_types(data) == []
    loaded = deserialize(data, "fraud v1")
    x = np.random.default_rng(1).normal(size=(20, 3))
    assert type(loaded) is Pipeline
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(loaded.named_steps["model"].coef_, model.named_steps["model"].coef_)


def test_load_verified_loads_an_unchanged_file(tmp_path: Path) -> None:
    model = fitted_pipeline()
    path, sha = stored(tmp_path, serialize(model))
    loaded = load_verified(path, sha, "fraud v1")
    np.testing.assert_array_equal(loaded.named_steps["scale"].mean_, model.named_steps["scale"].mean_)


def test_load_verified_refuses_a_changed_file(tmp_path: Path) -> None:
    path, sha = stored(tmp_path, serialize(fitted_pipeline()))
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ArtifactError) as error:
        load_verified(path, sha, "fraud v1")
    message = str(error.value)
    assert message.startswith(f"fraud v1: artifact file {path} was changed")
    assert f"registered {sha[:12]}" in message


def test_load_verified_refuses_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.skops"
    with pytest.raises(ArtifactError, match=f"fraud v1: artifact file {path} is missing"):
        load_verified(path, "0" * 64, "fraud v1")


def test_custom_class_is_flagged_and_refused() -> None:
    data = serialize({"holder": Holder(3)})
    flagged = unsafe_types(data)
    assert len(flagged) == 1 and flagged[0].endswith(".Holder")
    with pytest.raises(ArtifactError, match=r"model.skops contains types Vigil does not trust: .*Holder; "):
        deserialize(data, "model.skops")
    assert deserialize(data, "model.skops", trust_all=True)["holder"].value == 3


def test_builtin_functions_that_run_code_are_flagged() -> None:
    # eval, exec and getattr are not types skops trusts; a FunctionTransformer(func=partial(eval, ...))
    # runs arbitrary code when the model is used.
    flagged = unsafe_types(serialize({"run": eval, "reach": getattr}))
    assert flagged == ["builtins.eval", "builtins.getattr"]


def test_unreadable_payload() -> None:
    with pytest.raises(ArtifactError, match="not a readable skops file"):
        unsafe_types(b"not a zip file")


def test_object_skops_cannot_store() -> None:
    with pytest.raises(ArtifactError, match="model of type generator cannot be stored as skops"):
        serialize(i for i in range(3))
