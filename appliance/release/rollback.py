"""Rollback: champion back to the last known-good version, after a pre-flight that proves it still
answers as it did.

The last known-good version is the most recent earlier champion whose last time as champion did not
end in a rollback, so pressing rollback twice never flips back to the version just rolled away from. `--to` may
name another version only if it was champion before; any other version is a promotion and goes
through a request and its approval.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from appliance.home.context import AppContext
from appliance.contracts.features import features_from_json, model_input
from appliance.errors import ReleaseError, VigilError
from appliance.registry.contracts import current_contract
from appliance.registry.loading import load_version_model
from appliance.registry.versions import require_model, servable_version
from appliance.release import moves
from appliance.store import prediction_queries as pq
from appliance.store import registry_queries as q
from appliance.store import release_queries as rq

GOLDEN_ROWS = 50
TOLERANCE = 1e-9


def rollback_plan(ctx: AppContext, model_name: str, to: int | None) -> dict[str, Any]:
    """Which version champion would move from and to, and why that one (refusing as roll_back would)."""
    require_model(ctx.store, model_name)
    current = q.aliases(ctx.store, model_name).get("champion")
    if current is None:
        raise ReleaseError(f"model '{model_name}' has no champion to roll back")
    endings = last_endings(rq.champion_history(ctx.store, model_name), current)
    good, skipped = known_good(endings)
    if to is None or int(to) == good:  # the console names the version it showed: still the door's own choice
        target = good
        if target is None:
            raise ReleaseError(f"champion v{current} of '{model_name}' has no known-good version to go back to "
                                "(every earlier champion was rolled away from); pass --to VERSION of an earlier "
                                "champion, or promote a version (vigil promote)")
        why = (f"v{target} is the most recent earlier champion whose time as champion did not end in a rollback"
               + (f" (skipped v{', v'.join(map(str, skipped))}, rolled away from)" if skipped else ""))
    else:
        target = int(to)
        if target == current:
            raise ReleaseError(f"v{target} is already champion of '{model_name}'")
        if target not in [v for v, _ in endings]:
            raise ReleaseError(f"v{target} of '{model_name}' was never champion, so rolling back to it would release "
                                f"it unreviewed; request it instead: vigil promote {model_name} {target} --to champion "
                                "--reason TEXT (it needs an approver)")
        why = f"v{target} was champion before (chosen with --to)"
    servable_version(ctx.store, model_name, target)
    return {"model": model_name, "from_version": current, "to_version": target, "why": why}


def preflight(ctx: AppContext, model_name: str, version: int) -> list[dict[str, Any]]:
    """Checks that `version` can answer now: it loads, has a contract, and its recorded answers repeat."""
    row = servable_version(ctx.store, model_name, version)
    checks: list[dict[str, Any]] = []
    try:
        model = load_version_model(ctx, row)
        checks.append({"check": "loads", "ok": True, "detail": f"artifact {row['artifact_sha256'][:12]} verified"})
    except VigilError as e:
        return [{"check": "loads", "ok": False, "detail": str(e)}]
    try:
        revision, _ = current_contract(ctx.store, model_name, version)
        checks.append({"check": "contract", "ok": True, "detail": f"contract revision {revision}"})
    except VigilError as e:
        checks.append({"check": "contract", "ok": False, "detail": str(e)})
    checks.append(_golden(ctx, model, row))
    return checks


def roll_back(ctx: AppContext, model_name: str, *, to: int | None, actor: str, reason: str) -> dict[str, Any]:
    """Point champion at the last known-good version (or an earlier champion named by `to`), after
    its pre-flight passes; recorded as a rollback with the reason and why that version."""
    if not reason.strip():
        raise ReleaseError("a rollback needs a reason; pass --reason TEXT")
    plan = rollback_plan(ctx, model_name, to)
    checks = preflight(ctx, model_name, plan["to_version"])
    failed = [c for c in checks if c["ok"] is False]
    if failed:
        raise ReleaseError(f"rollback of '{model_name}' to v{plan['to_version']} refused: its pre-flight failed ("
                            + "; ".join(f"{c['check']}: {c['detail']}" for c in failed) + "); champion stays "
                            f"v{plan['from_version']}; pass --to another earlier champion")
    moves.apply(ctx.store, model_name, "champion", plan["to_version"], actor=actor,
                reason=reason.strip(), kind="rollback", why=plan["why"])
    return {**plan, "preflight": checks}


def known_good(endings: list[tuple[int, str]]) -> tuple[int | None, list[int]]:
    """The first version (most recently ended first) whose last time did not end in a rollback, and the
    versions skipped before it."""
    skipped: list[int] = []
    for version, ending in endings:
        if ending != "rollback":
            return version, skipped
        skipped.append(version)
    return None, skipped


def last_endings(history: list[dict[str, Any]], current: int) -> list[tuple[int, str]]:
    """Each earlier champion (not `current`) with how its most recent time as champion ended ('move' or
    'rollback'), most recently ended first. A version whose last time ended in a rollback is not
    known-good, even if an earlier time ended well; one rolled away from once and later promoted and
    replaced in the ordinary way is good again."""
    endings: dict[int, tuple[int, str]] = {}
    for row, following in zip(history, history[1:]):
        if row["to_version"] is not None:
            endings[int(row["to_version"])] = (int(following["id"]), str(following["kind"]))
    ordered = sorted(((ended_at, version, kind) for version, (ended_at, kind) in endings.items()
                      if version != current), reverse=True)
    return [(version, kind) for _, version, kind in ordered]


def _golden(ctx: AppContext, model: Any, row: dict[str, Any]) -> dict[str, Any]:
    """Re-score the version's most recent logged answers whose inputs are kept; they must repeat."""
    from appliance.training.evaluation import scores_of

    table = pq.inputs_table(row["model_name"])
    if not ctx.store.has_table(table):
        return {"check": "golden_rows", "ok": None, "detail": "no logged inputs to re-score"}
    columns, rows = rq.golden_rows(ctx.store, row["model_name"], int(row["version"]), table, GOLDEN_ROWS)
    if not rows:
        return {"check": "golden_rows", "ok": None, "detail": "no logged answers of this version with inputs kept"}
    features = features_from_json(row["features"])
    frame = pl.DataFrame(rows, schema=columns, orient="row", infer_schema_length=None)
    recorded_column = "logged_prediction" if row["task"] == "regression" else "logged_score"
    recorded = np.asarray([float(v) if v is not None else np.nan for v in frame[recorded_column]])
    again = scores_of(model, row["task"], model_input(frame, features))
    if again.ndim == 2:  # multiclass: the chosen class's probability, as its log rows keep it
        again = again.max(axis=1)
    differ = int(np.sum(~np.isclose(again, recorded, rtol=0, atol=TOLERANCE, equal_nan=True)))
    return {"check": "golden_rows", "ok": differ == 0,
            "detail": f"{len(rows) - differ} of {len(rows)} recorded answers repeat" if not differ else
            f"{differ} of {len(rows)} recorded answers differ from what the artifact gives now"}
