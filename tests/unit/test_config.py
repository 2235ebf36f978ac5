"""appliance/config.py: defaults, the file, environment overrides and the generated template."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from appliance.config import CONFIG_FILE, VigilConfig, load_config, render_template
from appliance.errors import ConfigError


def write(home: Path, text: str) -> Path:
    path = home / CONFIG_FILE
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(tmp_path, {})
    assert (config.store.threads, config.store.memory_limit) == (2, "2GB")
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8700)
    training = config.training
    assert (training.bootstrap_samples, training.confidence, training.calibration_bins,
            training.min_segment_rows) == (500, 0.95, 10, 30)


def test_file_values(tmp_path: Path) -> None:
    write(tmp_path, '[server]\nport = 9000\n[store]\nmemory_limit = "512MB"\n[training]\nconfidence = 0.9\n')
    config = load_config(tmp_path, {})
    assert (config.server.port, config.store.memory_limit, config.training.confidence) == (9000, "512MB", 0.9)
    assert config.server.host == "127.0.0.1"


def test_environment_beats_the_file(tmp_path: Path) -> None:
    write(tmp_path, "[server]\nport = 9000\n")
    config = load_config(tmp_path, {"VIGIL_SERVER_PORT": "8800", "VIGIL_STORE_THREADS": "4", "OTHER": "x"})
    assert (config.server.port, config.store.threads) == (8800, 4)


def test_unknown_key_in_the_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nprot = 9000\n")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path, {})
    assert str(error.value).startswith(f"{path}: 'server.prot': unknown key")


def test_bad_type_is_named(tmp_path: Path) -> None:
    write(tmp_path, '[server]\nport = "eighty"\n')
    with pytest.raises(ConfigError, match="'server.port': Input should be a valid integer"):
        load_config(tmp_path, {})
    write(tmp_path, "[training]\nconfidence = 1.5\n")
    with pytest.raises(ConfigError, match="'training.confidence'"):
        load_config(tmp_path, {})


def test_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path, "[server\n")
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))} is not valid TOML"):
        load_config(tmp_path, {})


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="VIGIL_SERVER_PORT"):
        load_config(tmp_path, {"VIGIL_SERVER_PORT": "eighty"})


def test_section_that_is_not_a_table_with_an_override_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, 'server = "local"\n')
    with pytest.raises(ConfigError, match="server"):
        load_config(tmp_path, {"VIGIL_SERVER_PORT": "8800"})


def test_template_lists_every_default() -> None:
    template = render_template()
    assert tomllib.loads(template) == {"store": {}, "server": {}, "training": {}, "serving": {}, "monitoring": {},
                                       "alerts": {}, "jobs": {}, "canary": {}, "promotion": {}, "sql": {},
                                       "exports": {}, "slo": {}, "owners": {}}
    uncommented = re.sub(r"(?m)^# ([a-z0-9_]+ = .*)$", r"\1", template)
    data = tomllib.loads(uncommented)
    assert data["server"] == {"host": "127.0.0.1", "port": 8700}
    assert VigilConfig.model_validate(data) == VigilConfig()
    dumped = VigilConfig.model_validate(data).model_dump()
    assert dumped["serving"].pop("models") == {}  # per-model tables are shown as a commented example
    assert dumped["monitoring"].pop("models") == {}
    assert dumped["jobs"].pop("retrain") == {}
    assert dumped["jobs"].pop("score") == {}
    assert dumped["promotion"].pop("models") == {}
    assert dumped["canary"].pop("models") == {}
    assert dumped["slo"].pop("models") == {}
    assert dumped["owners"].pop("models") == {}
    unset = {s: {k for k, v in values.items() if v is None} for s, values in dumped.items()}
    assert unset["promotion"] == {"max_demographic_parity_difference", "max_equalized_odds_difference"}
    assert "unset by default" in template  # keys with no default are listed without a value
    dumped = {s: {k: v for k, v in values.items() if v is not None} for s, values in dumped.items()}
    assert dumped == {section: dict(values) for section, values in data.items()}


def test_canary_and_promotion_policies_per_model() -> None:
    config = VigilConfig.model_validate({"canary": {"min_requests": 50, "models": {"m": {"min_requests": 5000}}},
                                         "promotion": {"models": {"m": {"min_roc_auc": 0.7}}}})
    assert config.canary.policy_for("m").min_requests == 5000
    assert config.canary.policy_for("other").min_requests == 50  # the section's default applies
    assert config.promotion.policy_for("m").min_roc_auc == 0.7
    assert config.promotion.policy_for("other").approval_for == ["champion"]
