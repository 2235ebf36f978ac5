"""Row 12 (bundles): importing a signed bundle again adds nothing, and a bundled version older than the
champion — an old bundle replayed to downgrade a box — needs an approver for any alias that answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.support import query
from daemon_support import token_of



def test_a_bundle_imports_once_and_an_older_one_needs_approval(
        tmp_path: Path, cli: Callable[..., Any], write_spec: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    factory, edge = tmp_path / "factory", tmp_path / "edge"
    for home in (factory, edge):
        assert cli("init", "--home", home).code == 0
    assert cli("train", "--spec", write_spec(), "--home", factory).code == 0  # made first: the older model
    key = json.loads(cli("keys", "init", "--home", factory, "--json").out)
    bundle = factory / "exports" / "delay-v1.vbundle"
    assert cli("bundle", "export", "delay", "1", bundle, "--home", factory).code == 0
    assert cli("train", "--spec", write_spec(seed=8), "--home", edge).code == 0  # the edge's own, newer v1
    assert cli("promote", "delay", "1", "--to", "champion", "--reason", "ours", "--home", edge).code == 0
    assert cli("keys", "trust", "factory", key["public_key"], "--home", edge).code == 0

    first = cli("bundle", "import", bundle, "--reason", "ship", "--home", edge)
    assert first.code == 0 and "registered delay v2" in first.out, first.err
    again = cli("bundle", "import", bundle, "--reason", "ship again", "--home", edge)
    assert again.code == 0 and "already" in again.out and "nothing changed" in again.out, again.err
    assert query(edge, "SELECT count(*) FROM model_versions") == [(2,)]
    assert query(edge, "SELECT count(*) FROM audit_log WHERE action = 'bundle.import'") == [(1,)]

    ada = token_of(cli("users", "add", "ada", "--role", "admin", "--home", edge).out)
    monkeypatch.setenv("VIGIL_TOKEN", ada)
    otto = token_of(cli("users", "add", "otto", "--role", "operator", "--home", edge).out)
    monkeypatch.setenv("VIGIL_TOKEN", otto)
    shadow = cli("promote", "delay", "2", "--to", "shadow", "--reason", "try the factory's", "--json", "--home", edge)
    request = json.loads(shadow.out)
    assert request["status"] == "pending", request
    assert request["approval_because"] == ["v2 is older than champion v1"]
    assert query(edge, "SELECT alias, version FROM aliases") == [("champion", 1)]
