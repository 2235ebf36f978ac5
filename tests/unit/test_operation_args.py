"""Every operation declares a model for its arguments; the models are strict, bounded, and never carry
the caller's identity."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel

from appliance import operations
from appliance.access.roles import ROLES
from appliance.errors import InvalidRequest
from appliance.operation_args import SERVER_KEYS, validate
from appliance.operation_args.administration import UserAdd
from appliance.operation_args.types import Args


def test_every_operation_has_a_strict_model_that_refuses_unknown_keys() -> None:
    for name, spec in operations.OPERATIONS.items():
        assert isinstance(spec.args, type) and issubclass(spec.args, Args), name
        assert spec.args.model_config.get("extra") == "forbid" and spec.args.model_config.get("strict"), name
        assert not set(SERVER_KEYS) & set(spec.args.model_fields), name


def test_an_operation_cannot_be_declared_without_a_model() -> None:
    with pytest.raises(TypeError, match="args"):
        operations.OperationSpec(lambda ctx, a: None, writes=False)  # type: ignore[call-arg]


def test_the_roles_a_user_may_get_are_the_roles_there_are() -> None:
    assert typing.get_args(UserAdd.model_fields["role"].annotation) == ROLES


def test_client_sent_identity_is_dropped_and_defaults_are_filled_in() -> None:
    model = operations.find("rollback").args
    checked = validate("rollback", model, {"name": "delay", "actor": "mallory", "caller_role": "admin",
                                           "caller_identity": "token"})
    assert checked == {"name": "delay", "to": None, "reason": ""}


@pytest.mark.parametrize(("name", "args", "field", "problem"), [
    ("show", {"name": "delay", "version": 2**31}, "version", "less than or equal to 2147483647"),
    ("approve", {"id": 0}, "id", "greater than or equal to 1"),
    ("approve", {"id": 2**63}, "id", "less than or equal to 9223372036854775807"),
    ("promote", {"name": "m", "version": 1, "alias": "canary", "percent": float("nan")}, "percent", "finite"),
    ("promote", {"name": "m", "version": 1, "alias": "canary", "percent": 100.01}, "percent", "less than or equal"),
    ("drift", {"name": "m", "window": "0h"}, "window", "not a duration"),
    ("drift", {"name": "m", "window": "3651d"}, "window", "longer than 3650d"),
    ("incident_note", {"id": 1, "text": "bad\ud800"}, "text", "lone surrogate"),
    ("sql", {"query": "SELECT 1\x00"}, "query", "NUL"),
    ("monitor_run", {"names": ["m", 3]}, "names.1", "valid string"),
    ("retention_run", {"artifact_days": 36_501}, "artifact_days", "less than or equal"),
])
def test_values_out_of_range_name_their_field(name: str, args: dict[str, typing.Any], field: str,
                                              problem: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        validate(name, operations.find(name).args, args)
    assert [e["field"] for e in refused.value.errors] == [field]
    assert problem in refused.value.errors[0]["problem"] and refused.value.status == 400


def test_what_the_cli_and_console_send_is_accepted_as_sent() -> None:
    accepted: list[tuple[str, dict[str, typing.Any]]] = [
        ("promote", {"name": "m", "version": 2, "alias": "canary", "reason": "r", "percent": 25}),
        ("promote", {"name": "m", "version": 2, "alias": "champion", "reason": "r", "percent": None}),
        ("monitor_run", {"names": [], "window": None}), ("jobs", {"job": None, "limit": 20}),
        ("audit_log", {"filter": "", "limit": 300}), ("sql", {"query": "SELECT 1"}), ("report", {"name": "m", "window": "7d", "out": None}),
        ("retention_run", {"dry_run": False, "inputs_days": None, "artifact_days": None}),
        ("score", {"name": "m", "input": "/d.parquet", "query": None, "output": "/o.parquet", "rejects": None,
                   "version": None}),
    ]
    for name, args in accepted:
        checked = validate(name, operations.find(name).args, args)
        assert {k: checked[k] for k in args} == {k: (float(v) if k == "percent" and v else v)
                                                 for k, v in args.items()}, name
    assert isinstance(validate("promote", operations.find("promote").args, accepted[0][1])["percent"], float)
    assert issubclass(operations.find("models").args, BaseModel)
