"""Replay at approval: what a candidate would have answered on the champion's last day of logged traffic.

When a request to make a version champion (or canary) waits for an approver, the daemon's replay job
re-scores, with the candidate, the rows the champion answered in the last `jobs.replay_window` of its
logged traffic (ending at its most recent answered row whose inputs are kept; at most
`jobs.replay_max_rows`, the most recent first) and keeps, per request, how often the two agree, how far
the candidate's scores move from the champion's logged ones and each one's metric on the rows that have
labels (`monitoring/replay_stats.py`). It runs on a job thread in chunks, pausing while the prediction
log is busy, never on the request path; scoring does not wait for it.

Replay evidence is information for the approver, never a gate: a candidate that answers differently may
be the point of the release. It is computed by the daemon from its own log, and only the replay job
writes it (with its audit row), so a requester cannot supply or edit it.

Rows the champion answered without a feature the candidate takes (inputs logged under a contract that
lacked it) are counted as skipped, not guessed; a candidate whose features the log does not hold at all,
or of another kind, replays nothing and says which.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

import numpy as np
import polars as pl

from appliance.clock import utc_now
from appliance.contracts.features import NUMERIC, Feature, features_from_json, model_input
from appliance.errors import JobsStopping
from appliance.home.context import AppContext
from appliance.monitoring.replay_stats import Answers, agreement, labelled_metrics, primary, shift
from appliance.registry.loading import load_version_model
from appliance.registry.versions import get_version, servable_version
from appliance.release.requests import find_request
from appliance.store import prediction_queries as pq
from appliance.store import registry_queries as q
from appliance.store import replay_queries as xq

ACTOR = "vigil-replay"
CHUNK_ROWS = 2_000  # rows scored between two looks at whether serving is busy


def compute(ctx: AppContext, request_id: int, *, window: timedelta, max_rows: int,
            pause: Callable[[], None] | None = None) -> dict[str, Any]:
    """The replay evidence of a request (every column of `replay_evidence`), computed now from the log.
    `pause` is called before each chunk of rows is scored (the job waits there while serving is busy)."""
    found = find_request(ctx, request_id)
    if found is None:
        raise ValueError(f"no promotion request {request_id}")
    model_name, candidate = str(found["model_name"]), int(found["version"])
    champion = q.aliases(ctx.store, model_name).get("champion")
    base = _empty(request_id, model_name, candidate, champion)
    if champion is None:
        return _with(base, "no_champion", f"'{model_name}' has no champion, so there is no traffic to replay")
    end = xq.last_logged(ctx.store, model_name, champion) if ctx.store.has_table(pq.inputs_table(model_name)) else None
    if end is None:
        return _with(base, "no_inputs", f"champion v{champion} has no answered rows with inputs kept (no traffic "
                                        "yet, or retention removed its logged inputs): nothing to replay")
    start = end - window
    in_window = xq.logged_count(ctx.store, model_name, champion, start, end)
    candidate_row = servable_version(ctx.store, model_name, candidate)
    features = features_from_json(candidate_row["features"])
    unusable = _unusable(xq.input_columns(ctx.store, model_name), features)
    base.update(window_start=start, window_end=end)
    base["detail"]["rows_in_window"] = in_window
    if unusable:
        return _with({**base, "rows_skipped": in_window}, "no_inputs",
                     f"the champion's logged inputs cannot feed v{candidate}: {unusable}")
    names, rows = xq.logged_rows(ctx.store, model_name, champion, start, end, [f.name for f in features], max_rows)
    frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
    champion_row = get_version(ctx.store, model_name, champion)
    kept, skipped, skip_note = _logged_with(frame, features, features_from_json(champion_row["features"]))
    notes = [n for n in (skip_note, _bound_note(in_window, max_rows)) if n]
    if not kept.height:
        return _with({**base, "rows_skipped": skipped}, "no_inputs", "; ".join(notes) or "no rows to replay")
    model = load_version_model(ctx, candidate_row)
    scores = _scores(model, candidate_row["task"], model_input(kept, features), pause)
    return _evidence(base, candidate_row, champion_row, kept, scores, skipped, notes)


def _empty(request_id: int, model_name: str, candidate: int, champion: int | None) -> dict[str, Any]:
    return {"request_id": request_id, "model_name": model_name, "candidate_version": candidate,
            "champion_version": champion, "status": "", "computed_at": utc_now(), "window_start": None,
            "window_end": None, "rows_replayed": 0, "rows_skipped": 0, "agreement": None, "score_psi": None,
            "score_ks": None, "labelled_rows": 0, "metric": None, "candidate_metric": None,
            "champion_metric": None, "detail": {"information_only": True, "notes": []}}


def _with(evidence: dict[str, Any], status: str, note: str) -> dict[str, Any]:
    """`evidence` with its status and one more note."""
    return {**evidence, "status": status, "detail": {**evidence["detail"], "notes": [*evidence["detail"]["notes"],
                                                                                       note]}}


def _unusable(columns: dict[str, str], features: list[Feature]) -> str:
    """Why the logged inputs cannot feed these features at all ('' when they can)."""
    missing = [f.name for f in features if f.name not in columns]
    mistyped = [f.name for f in features if f.name in columns and (columns[f.name] == "DOUBLE") != (f.kind == NUMERIC)]
    parts = ([f"no logged column for {', '.join(missing)}"] if missing else []) + \
        ([f"{', '.join(mistyped)} logged as another kind"] if mistyped else [])
    return "; ".join(parts)


def _logged_with(frame: pl.DataFrame, features: list[Feature],
                 champion_features: list[Feature]) -> tuple[pl.DataFrame, int, str]:
    """(rows that carry every feature the candidate takes, rows skipped, why). A feature the champion
    does not take was not sent to it, so its empty value means "not logged", not "missing"."""
    taken = {f.name for f in champion_features}
    extra = [f.name for f in features if f.name not in taken]
    if not extra:
        return frame, 0, ""
    logged = pl.all_horizontal([pl.col(name).is_not_null() for name in extra])
    kept = frame.filter(logged)
    skipped = frame.height - kept.height
    note = (f"{skipped} of {frame.height} rows skipped: logged without {', '.join(extra)}, which the candidate "
            "takes and the champion does not") if skipped else ""
    return kept, skipped, note


def _bound_note(in_window: int, max_rows: int) -> str:
    return f"the most recent {max_rows:,} of {in_window:,} rows in the window" if in_window > max_rows else ""


def _scores(model: Any, task: str, inputs: pl.DataFrame, pause: Callable[[], None] | None) -> np.ndarray:
    """The candidate's scores (evaluation.scores_of), a chunk at a time."""
    from appliance.training.evaluation import scores_of

    parts = []
    for offset in range(0, inputs.height, CHUNK_ROWS):
        if pause is not None:
            pause()
        parts.append(scores_of(model, task, inputs.slice(offset, CHUNK_ROWS)))
    return np.concatenate(parts)


def _evidence(base: dict[str, Any], candidate_row: dict[str, Any], champion_row: dict[str, Any], kept: pl.DataFrame,
              scores: np.ndarray, skipped: int, notes: list[str]) -> dict[str, Any]:
    task = str(candidate_row["task"])
    champion = logged_answers(task, champion_row, kept)
    candidate = candidate_answers(task, candidate_row, scores)
    agreed = agreement(task, champion, candidate)
    moved = shift(task, champion, candidate)
    labelled = kept["(label_value)"].is_not_null().to_numpy() if task != "multiclass" \
        else kept["(label)"].is_not_null().to_numpy()
    metrics = labelled_metrics(task, kept["(label_value)"].to_numpy()[labelled].astype(np.float64),
                               [str(v) for v in kept["(label)"].to_numpy()[labelled]],
                               _subset(champion, labelled), _subset(candidate, labelled)) if labelled.any() else {}
    metric, ours, theirs = primary(task, metrics)
    times = kept["(logged_at)"]
    return {**base, "status": "replayed", "rows_replayed": kept.height, "rows_skipped": skipped,
            "window_start": base["window_start"], "window_end": base["window_end"],
            "agreement": agreed["agreement"], "score_psi": moved["psi"], "score_ks": moved["ks"],
            "labelled_rows": int(labelled.sum()), "metric": metric, "candidate_metric": ours,
            "champion_metric": theirs,
            "detail": {**base["detail"], "task": task, "agreement": agreed, "shift": moved, "metrics": metrics,
                       "replayed_from": times.min(), "replayed_to": times.max(),
                       "notes": [*base["detail"]["notes"], *notes]}}


def logged_answers(task: str, row: dict[str, Any], frame: pl.DataFrame) -> Answers:
    """What the champion answered on these rows, as its log keeps it."""
    predictions = frame["(prediction)"].to_numpy().astype(np.float64)
    if task == "regression":
        return Answers(None, predictions)
    scores = np.asarray([np.nan if s is None else s for s in frame["(score)"].to_list()], dtype=np.float64)
    if task == "binary":
        return Answers(["1" if p == 1 else "0" for p in predictions], scores)
    classes = list(row.get("classes") or [])
    table = np.asarray(frame["(probabilities)"].to_list(), dtype=np.float64).reshape(frame.height, len(classes))
    return Answers([classes[int(p)] for p in predictions], scores,
                   {name: table[:, code] for code, name in enumerate(classes)})


def candidate_answers(task: str, row: dict[str, Any], scores: np.ndarray) -> Answers:
    """What the candidate answers for these scores, as serving would decide it."""
    if task == "regression":
        return Answers(None, scores)
    if task == "binary":
        threshold = float(row["threshold"] or 0.5)
        return Answers(["1" if s >= threshold else "0" for s in scores], scores)
    classes = list(row.get("classes") or [])
    chosen = np.argmax(scores, axis=1)
    return Answers([classes[int(c)] for c in chosen], scores[np.arange(len(chosen)), chosen],
                   {name: scores[:, code] for code, name in enumerate(classes)})


def _subset(answers: Answers, mask: np.ndarray) -> Answers:
    decisions = None if answers.decisions is None else [d for d, keep in zip(answers.decisions, mask) if keep]
    return Answers(decisions, answers.scores[mask], {k: v[mask] for k, v in answers.probabilities.items()})


def failed(ctx: AppContext, request_id: int, error: str) -> dict[str, Any]:
    """The evidence of a replay that could not run (kept, so it is not retried on every sweep)."""
    found = find_request(ctx, request_id) or {}
    champion = q.aliases(ctx.store, str(found.get("model_name"))).get("champion") if found else None
    base = _empty(request_id, str(found.get("model_name", "")), int(found.get("version") or 0), champion)
    return _with(base, "failed", f"replay failed: {error}")


def record(ctx: AppContext, evidence: dict[str, Any]) -> None:
    """Keep a request's replay evidence with its audit row, in one transaction (the caller holds the
    daemon's write lock)."""
    with ctx.store.transaction():
        if xq.evidence(ctx.store, int(evidence["request_id"])) is not None:
            return
        xq.insert(ctx.store, evidence)
        q.insert_audit(ctx.store, utc_now(), ACTOR, "promotion.replay", evidence["model_name"],
                       evidence["candidate_version"], {"request_id": evidence["request_id"],
                                                       "champion_version": evidence["champion_version"]},
                       subject=f"promotion:{evidence['request_id']}",
                       after={k: evidence[k] for k in ("status", "rows_replayed", "rows_skipped", "agreement",
                                                       "score_psi", "labelled_rows", "metric", "candidate_metric",
                                                       "champion_metric")},
                       reason="replay evidence for the approver (information, not a gate)")


def replay_waiting(ctx: AppContext, *, window: timedelta, max_rows: int, write_lock: Any,
                   pause: Callable[[], None] | None = None) -> dict[str, Any]:
    """Compute and keep the replay of every pending champion or canary request that has none yet."""
    done: list[dict[str, Any]] = []
    for request_id in xq.awaiting(ctx.store):
        try:
            evidence = compute(ctx, request_id, window=window, max_rows=max_rows, pause=pause)
        except JobsStopping:
            raise  # not a failure of this request: it is replayed after the next start
        except Exception as e:  # one request's failure is kept as its evidence; the others still replay
            evidence = failed(ctx, request_id, f"{type(e).__name__}: {e}")
        with write_lock:
            record(ctx, evidence)
        done.append({"request_id": request_id, "status": evidence["status"], "rows": evidence["rows_replayed"]})
    return {"requests": done}


def awaiting(ctx: AppContext) -> bool:
    """Is any request waiting for its replay?"""
    return bool(xq.awaiting(ctx.store))


def view(ctx: AppContext, request: dict[str, Any]) -> dict[str, Any]:
    """A request's replay as `requests show` and the console show it: the kept evidence, else why there is
    none (yet)."""
    stored = xq.evidence(ctx.store, int(request["request_id"]))
    if stored is not None:
        return stored
    if request["alias"] not in xq.REPLAYED_ALIASES:
        return {"status": "not_replayed", "detail": {"notes": [
            f"a request for {request['alias']} answers no traffic; only champion and canary requests are replayed"]}}
    if request["status"] != "pending":
        return {"status": "none", "detail": {"notes": [f"the request was {request['status']} before a replay ran"]}}
    return {"status": "computing", "detail": {"notes": [
        "the daemon re-scores the champion's last day of logged inputs with the candidate, off the request path; "
        "the evidence shows here when done (within jobs.replay_every of the request, or of `vigil up`)"]}}


def window_of(text: str) -> timedelta:
    from appliance.core.windows import parse_window

    return parse_window(text)
