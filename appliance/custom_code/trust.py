"""An admin's trust in one archive of a team's code: recorded, audited, revocable, and checked every
time a model that ships code is imported or loaded."""

from __future__ import annotations

from typing import Any

from appliance.clock import utc_now
from appliance.custom_code.bundle import CodeBundle
from appliance.errors import CodeNotTrusted, CustomCodeError, NotFound
from appliance.store import code_queries as cq
from appliance.store import registry_queries as q
from appliance.store.connection import Store


def trust(store: Store, bundle: CodeBundle, actor: str, reason: str) -> dict[str, Any]:
    """Trust exactly `bundle`'s bytes (as an admin): one row and one audit record, in one transaction."""
    described = bundle.describe()
    with store.transaction():
        if cq.active(store, bundle.sha256) is None:
            if cq.known(store, bundle.sha256):
                cq.retrust(store, bundle.sha256, actor, utc_now(), reason)
            else:
                cq.insert(store, bundle.sha256, list(bundle.modules), list(described["files"]),
                          actor, utc_now(), reason)
            q.insert_audit(store, utc_now(), actor, "code.trust", None, None, described,
                           subject=f"code:{bundle.sha256}", reason=reason)
    return {"trusted": bundle.sha256, **described}


def revoke(store: Store, sha256: str, actor: str, reason: str) -> dict[str, Any]:
    """Stop trusting an archive. Refused while an alias serves a version that ships it: a release change
    goes through the release door (roll back or promote another version first), never as a side effect."""
    with store.transaction():
        served = cq.served_with(store, sha256)
        if served:
            names = ", ".join(f"{r['model_name']} v{r['version']} ({r['alias']})" for r in served)
            raise CustomCodeError(f"code {sha256[:12]}… is running in {names}; roll back or promote another version "
                           "first (`vigil rollback NAME`), then revoke it")
        if not cq.revoke(store, sha256, actor, utc_now()):
            raise NotFound(f"no trusted code archive {sha256}; `vigil code list` shows them")
        q.insert_audit(store, utc_now(), actor, "code.revoke", None, None, {"sha256": sha256},
                       subject=f"code:{sha256}", reason=reason)
    return {"revoked": sha256, "models": cq.models_with(store, sha256)}


def require(store: Store, sha256: str, why: str) -> None:
    """Refuse unless an admin trusts this archive now."""
    if cq.active(store, sha256) is None:
        raise CodeNotTrusted(
            f"{why} runs a team's code (archive sha256 {sha256}), which no admin trusts; an admin reads the files "
            f"and runs `vigil code trust --spec SPEC --reason WHY`, which trusts exactly these bytes")


def listing(store: Store) -> list[dict[str, Any]]:
    return cq.listing(store)
