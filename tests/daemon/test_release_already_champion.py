"""Asking for the version an alias already points at is refused when asked, and a pending request
whose version got there meanwhile is refused when approved, naming the version and what to do."""

from __future__ import annotations

from typing import Any, Callable

from daemon_support import Daemon, add_people, op
from support import Result


def test_promoting_the_champion_is_refused_when_asked_and_when_approved(daemon: Daemon,
                                                                        vigil: Callable[..., Result]) -> None:
    home = daemon.home
    people = add_people(home, vigil)
    # v1 is champion: asking for it again is refused at once (CLI: one line, exit 2; API: 4xx naming it)
    asked = vigil("promote", "delay", "1", "--to", "champion", "--reason", "again", "--home", home,
                  env={"VIGIL_TOKEN": people["alice"]})
    assert asked.code == 2 and asked.out == "" and len(asked.err.strip().splitlines()) == 1, asked
    assert "v1 is already champion of 'delay': there is nothing to request" in asked.err
    assert "vigil rollback delay" in asked.err and "Traceback" not in asked.err
    status, error = op(daemon, people["alice"], "promote", {"name": "delay", "version": 1, "alias": "champion",
                                                            "reason": "again"})
    assert 400 <= status < 500 and "v1 is already champion of 'delay'" in error["message"]
    assert _requests(daemon, people["ada"]) == []  # nothing was filed

    # two pending requests for v2; approving one makes v2 champion, approving the other is refused
    first = _promote(daemon, people["alice"])
    second = _promote(daemon, people["bob"])
    assert op(daemon, people["alice"], "approve", {"id": second})[0] == 200
    late = vigil("approve", str(first), "--home", home, env={"VIGIL_TOKEN": people["bob"]})
    assert late.code == 2 and len(late.err.strip().splitlines()) == 1, late
    assert (f"promotion request {first} cannot be approved: v2 became champion of 'delay' after it was requested"
            in late.err) and f"vigil reject {first}" in late.err
    status, error = op(daemon, people["bob"], "approve", {"id": first})
    assert 400 <= status < 500 and "v2 became champion of 'delay'" in error["message"]
    pending = {r["request_id"]: r["status"] for r in _requests(daemon, people["ada"])}
    assert pending == {first: "pending"}  # left as it was, for a person to reject
    moves = op(daemon, people["ada"], "sql", {"query": "SELECT count(*) FROM deployments WHERE alias = 'champion'"})
    assert moves[1]["rows"] == [[2]]  # v1 promoted, then v2: nothing more


def _promote(daemon: Daemon, token: str) -> int:
    status, found = op(daemon, token, "promote", {"name": "delay", "version": 2, "alias": "champion",
                                                  "reason": "better on holdout"})
    assert status == 200 and found["status"] == "pending", found
    return int(found["request_id"])


def _requests(daemon: Daemon, token: str) -> list[dict[str, Any]]:
    status, found = op(daemon, token, "requests", {})
    assert status == 200
    return list(found["requests"])
