"""`vigil demo --fast` runs the whole story on the shipped sample data."""

from __future__ import annotations

from pathlib import Path

from support import query


def test_demo_fast(tmp_path: Path, vigil) -> None:
    demo_home = tmp_path / "demo"
    result = vigil("demo", "--fast", "--home", demo_home)
    assert result.code == 0, result.err
    for step in range(1, 12):
        assert f"\n{step}. " in "\n" + result.out
    assert "predictions on" in result.out and "are identical" in result.out
    assert "the next request is answered by v2" in result.out and "exit code 0" in result.out
    assert query(demo_home, "SELECT version FROM current_aliases WHERE alias = 'champion'") == [(2,)]
    assert query(demo_home, "SELECT count(*) FROM feedback") == [(120,)]
    # December: drift appears, an alert fires, an incident opens, a drift-triggered retrain registers v3
    assert query(demo_home, "SELECT count(*) FROM alerts WHERE rule = 'drift-critical' AND status = 'open'")[0][0] >= 1
    assert query(demo_home, "SELECT count(*) FROM incidents WHERE model_name = 'flight_delay'") == [(1,)]
    assert query(demo_home, "SELECT version, retrain_trigger FROM model_versions WHERE version = 3") == [(3, "drift")]
    assert query(demo_home, "SELECT version FROM current_aliases WHERE alias = 'challenger'") == [(3,)]
    assert "registered as challenger" in result.out and "incident timeline: opened, " in result.out and "retrain" in result.out
    again = vigil("demo", "--fast", "--home", demo_home)
    assert again.code == 0 and query(demo_home, "SELECT count(*) FROM model_versions") == [(3,)]


def test_demo_refuses_a_folder_it_did_not_create(tmp_path: Path, vigil) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = vigil("demo", "--fast", "--home", tmp_path)
    assert result.code == 2 and "not a Vigil demo home" in result.err
    assert (tmp_path / "precious.txt").read_text() == "keep me"
