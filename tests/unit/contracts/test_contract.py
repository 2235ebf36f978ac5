"""appliance/contracts/contract.py: inference, TOML round trip, feature checks."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from appliance.contracts.contract import (
    MAX_CATEGORIES,
    CategoricalColumn,
    Contract,
    NumericColumn,
    infer_contract,
)
from appliance.contracts.features import CATEGORICAL, NUMERIC, Feature, features_from
from appliance.errors import ContractError

FEATURES = features_from(["distance", "count_int"], ["carrier", "flag"])


def training_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "distance": [1.0, 2.0, 3.0, 4.0, None],
        "count_int": [1, 2, 3, 4, 5],
        "carrier": ["b", "a", None, "b", "c"],
        "flag": [True, False, True, None, True],
    })


def test_infer_numeric_range_quantiles_and_missing_limit() -> None:
    contract = infer_contract(training_frame(), FEATURES)
    distance = contract.columns["distance"]
    assert isinstance(distance, NumericColumn)
    assert (distance.min, distance.max) == (1.0, 4.0)
    assert distance.max_missing_rate == 0.25  # 1 of 5 missing, plus 0.05
    expected = {f"p{round(q * 100):02d}": float(np.quantile([1.0, 2.0, 3.0, 4.0], q))
                for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)}
    assert distance.quantiles == pytest.approx(expected, abs=1e-12)
    assert distance.quantiles["p50"] == 2.5
    assert contract.columns["count_int"] == NumericColumn(
        min=1.0, max=5.0, quantiles=contract.columns["count_int"].quantiles, max_missing_rate=0.05
    )
    assert contract.columns["count_int"].quantiles["p75"] == 4.0


def test_infer_categories_sorted_as_text_with_booleans_lower_case() -> None:
    contract = infer_contract(training_frame(), FEATURES)
    assert contract.columns["carrier"] == CategoricalColumn(categories=["a", "b", "c"], max_missing_rate=0.25)
    assert contract.columns["flag"] == CategoricalColumn(categories=["false", "true"], max_missing_rate=0.25)
    assert list(contract.columns) == ["distance", "count_int", "carrier", "flag"]


def test_infer_all_missing_numeric_has_no_range_and_limit_capped_at_one() -> None:
    frame = pl.DataFrame({"x": pl.Series([None, None], dtype=pl.Float64)})
    column = infer_contract(frame, [Feature("x", NUMERIC)]).columns["x"]
    assert column == NumericColumn(min=None, max=None, quantiles={}, max_missing_rate=1.0)


def test_infer_accepts_any_category_above_max_categories() -> None:
    many = pl.DataFrame({"id": [f"v{i:05d}" for i in range(MAX_CATEGORIES + 1)]})
    at_limit = many.head(MAX_CATEGORIES)
    above = infer_contract(many, [Feature("id", CATEGORICAL)]).columns["id"]
    limit = infer_contract(at_limit, [Feature("id", CATEGORICAL)]).columns["id"]
    assert (above.any_category, above.categories) == (True, [])
    assert (limit.any_category, len(limit.categories)) == (False, MAX_CATEGORIES)


def test_toml_round_trip_is_equal() -> None:
    contract = infer_contract(training_frame(), FEATURES)
    text = contract.to_toml()
    assert text.startswith("# Vigil data contract.")
    assert Contract.from_toml(text) == contract


def test_from_toml_unknown_key_names_it() -> None:
    text = '[columns.carrier]\nkind = "categorical"\ncategories = ["a"]\ncolour = "red"\n'
    with pytest.raises(ContractError) as error:
        Contract.from_toml(text, source="edited.toml")
    message = str(error.value)
    assert message.startswith("edited.toml: ")
    assert "colour" in message and "unknown key" in message


def test_from_toml_out_of_range_missing_rate_names_the_field() -> None:
    text = '[columns.distance]\nkind = "numeric"\nmax_missing_rate = 1.5\n'
    with pytest.raises(ContractError, match="max_missing_rate"):
        Contract.from_toml(text)


def test_from_toml_invalid_toml() -> None:
    with pytest.raises(ContractError, match=r"^edited.toml is not valid TOML \(.*\); fix the file$"):
        Contract.from_toml("[columns.x\nkind = ", source="edited.toml")


def test_check_features_refuses_changed_columns_or_kinds() -> None:
    contract = infer_contract(training_frame(), FEATURES)
    assert contract.check_features(FEATURES) is None
    kind_changed = features_from(["distance"], ["count_int", "carrier", "flag"])
    with pytest.raises(ContractError, match="do not match the version's features"):
        contract.check_features(kind_changed)
    with pytest.raises(ContractError, match="a contract may change limits, not columns"):
        contract.check_features(FEATURES[:-1])
