"""`vigil models | versions | show | promote` and the deployments history."""

from __future__ import annotations

import json
from pathlib import Path

from support import query


def _two_versions(cli, home: Path, write_spec) -> None:
    for _ in range(2):
        assert cli("train", "--spec", write_spec(), "--home", home).code == 0


def test_empty_registry(home: Path, cli) -> None:
    assert "no models yet" in cli("models", "--home", home).out
    assert json.loads(cli("models", "--json", "--home", home).out) == []


def test_listings_in_text_and_json(home: Path, cli, write_spec) -> None:
    _two_versions(cli, home, write_spec)
    models = json.loads(cli("models", "--json", "--home", home).out)
    assert [(m["name"], m["versions"], m["champion"]) for m in models] == [("delay", 2, None)]
    versions = json.loads(cli("versions", "delay", "--json", "--home", home).out)
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["parent_version"] == 1
    text = cli("versions", "delay", "--home", home).out.splitlines()
    assert text[0].split()[:3] == ["version", "aliases", "origin"] and len(text) == 3
    shown = cli("show", "delay", "2", "--home", home).out
    assert "delay v2" in shown and "snapshot" in shown and "roc_auc=" in shown


def test_promote_records_who_when_from_to_and_why(home: Path, cli, write_spec) -> None:
    _two_versions(cli, home, write_spec)
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "first", "--home", home).out.startswith(
        "delay: champion v- -> v1 (request 1: approval waived: no users exist yet)")
    assert cli("promote", "delay", "2", "--to", "champion", "--reason", "better", "--home", home).code == 0
    assert cli("promote", "delay", "1", "--to", "shadow", "--reason", "watch", "--home", home).code == 0
    history = query(home, "SELECT alias, from_version, to_version, reason, actor IS NOT NULL, changed_at IS NOT NULL "
                          "FROM deployments ORDER BY id")
    assert history == [("champion", None, 1, "first", True, True), ("champion", 1, 2, "better", True, True),
                       ("shadow", None, 1, "watch", True, True)]
    assert query(home, "SELECT alias, version FROM current_aliases ORDER BY alias") == [("champion", 2), ("shadow", 1)]
    audit = query(home, "SELECT action, details->>'from_version', details->>'to_version' FROM audit_log "
                        "WHERE action = 'alias.move' ORDER BY id")
    assert audit == [("alias.move", None, "1"), ("alias.move", "1", "2"), ("alias.move", None, "1")]
    models = json.loads(cli("models", "--json", "--home", home).out)
    assert (models[0]["champion"], models[0]["shadow"]) == (2, 1)


def test_promote_refusals_change_nothing(home: Path, cli, write_spec) -> None:
    _two_versions(cli, home, write_spec)
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "r", "--home", home).code == 0
    cases = [
        (["delay", "1", "--to", "king", "--reason", "r"], "unknown alias 'king'"),
        (["delay", "7", "--to", "champion", "--reason", "r"], "has no version 7"),
        (["delay", "1", "--to", "champion", "--reason", "r"],
         "v1 is already champion of 'delay': there is nothing to request"),
        (["delay", "2", "--to", "champion", "--reason", " "], "needs a reason"),
    ]
    for args, message in cases:
        result = cli("promote", *args, "--home", home)
        assert result.code == 2 and message in result.err
    assert query(home, "SELECT count(*) FROM deployments") == [(1,)]
