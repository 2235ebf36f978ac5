"""A version's data contract: the current revision, and edits recorded as new revisions."""

from __future__ import annotations


from appliance.clock import utc_now
from appliance.contracts.contract import Contract
from appliance.contracts.features import features_from_json
from appliance.errors import ContractError
from appliance.registry.versions import get_version
from appliance.store import registry_queries as q
from appliance.store.connection import Store


def current_contract(store: Store, model_name: str, number: int) -> tuple[int, Contract]:
    """(revision, contract) in force for the version."""
    get_version(store, model_name, number)
    found = q.latest_contract(store, model_name, number)
    if found is None:
        raise ContractError(f"{model_name} v{number} has no contract; the store is damaged, restore a backup")
    return found["revision"], Contract.from_json(found["contract"])


def apply_contract(store: Store, model_name: str, number: int, contract: Contract, *, actor: str,
                   reason: str) -> int:
    """Store `contract` as the version's next revision (features must stay the same); returns it."""
    if not reason.strip():
        raise ContractError("a contract change needs a reason; pass --reason TEXT")
    version = get_version(store, model_name, number)
    contract.check_features(features_from_json(version["features"]))
    at = utc_now()
    with store.transaction():
        revision, _ = current_contract(store, model_name, number)
        q.insert_contract(store, model_name, number, revision + 1, contract.model_dump(mode="json"), actor, at,
                          reason)
        q.insert_audit(store, at, actor, "contract.apply", model_name, number,
                       {"revision": revision + 1, "reason": reason},
                       subject=f"contract:{model_name}/v{number}", before={"revision": revision},
                       after={"revision": revision + 1}, reason=reason)
    return revision + 1
