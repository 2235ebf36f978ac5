"""What the daemon does for an operation beyond running it is declared on the operation (`in_daemon`)
and every declared kind is one the daemon handles; a made-up kind stops the daemon starting."""

from __future__ import annotations

from appliance import operations
from appliance.daemon.service import AFTER, BY_SCHEDULER, unknown_kinds


def _declared() -> dict[str, str]:
    return {name: spec.in_daemon for name, spec in operations.OPERATIONS.items() if spec.in_daemon is not None}


def test_the_operations_the_daemon_treats_apart_declare_it() -> None:
    assert _declared() == {"retrain": "queued_job", "job_schedule": "schedule", "monitor_run": "after_monitor",
                           "contract_apply": "unloads_model", "code_revoke": "unloads_listed_models",
                           "promote": "replays_request"}


def test_every_declared_kind_is_handled_and_every_handled_kind_declared() -> None:
    assert unknown_kinds(_declared().items()) == []
    assert set(BY_SCHEDULER) | set(AFTER) == set(_declared().values())
    assert not set(BY_SCHEDULER) & set(AFTER)


def test_a_made_up_kind_is_named() -> None:
    assert unknown_kinds([("retrain", "queued_job"), ("train", "in_a_hurry")]) == ["train: in_a_hurry"]
