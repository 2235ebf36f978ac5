"""What a version costs: measured at registration, shown with a price, and the cost gate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tests.support import query


def test_costs_are_measured_shown_and_priced(home: Path, cli: Callable[..., Any],
                                             write_spec: Callable[..., Path]) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    [(cpu, wall, artifact, memory, bench, per_1k, size)] = query(
        home, "SELECT c.training_cpu_s, c.training_wall_s, c.artifact_bytes, c.memory_bytes, c.bench_cpu_s_per_1k, "
              "c.cpu_s_per_1k, a.size_bytes FROM cost c JOIN model_versions v USING (model_name, version) "
              "JOIN artifacts a ON a.sha256 = v.artifact_sha256")
    assert cpu > 0 and wall > 0 and memory > 0 and bench > 0 and artifact == size and per_1k == bench
    shown = cli("show", "delay", "1", "--home", home).out
    assert "CPU s per 1,000 predictions (measured at registration)" in shown and "per CPU-hour" not in shown
    (home / "vigil.toml").write_text("[serving]\ncpu_hour_price = 0.05\n")
    priced = json.loads(cli("show", "delay", "1", "--home", home, "--json").out)
    assert priced["cpu_hour_price"] == 0.05
    assert f"1,000 predictions {bench / 3600 * 0.05:.6f}" in priced["cost_summary"]


def test_a_version_far_costlier_than_the_champion_is_refused(home: Path, cli: Callable[..., Any],
                                                             write_spec: Callable[..., Path]) -> None:
    assert cli("train", "--spec", write_spec(), "--home", home).code == 0
    assert cli("train", "--spec", write_spec("b.toml", params="{ max_iter = 120 }"), "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).code == 0
    (home / "vigil.toml").write_text("[promotion]\nmax_cost_ratio = 0.01\n")
    refused = cli("promote", "delay", "2", "--to", "champion", "--reason", "bigger", "--home", home)
    assert refused.code == 1 and "failed cost: " in refused.out
    detail = query(home, "SELECT detail FROM promotion_evidence WHERE gate = 'cost' ORDER BY request_id DESC")[0][0]
    assert "vs champion v1's" in detail and "CPU s per 1,000 predictions" in detail
