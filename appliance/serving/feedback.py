"""Ground-truth labels by request_id: checked per item against what was answered, idempotent, committed
before the answer."""

from __future__ import annotations

import math
import threading
from typing import Any

from appliance.clock import utc_now
from appliance.contracts.categories import category_text
from appliance.errors import InvalidRequest
from appliance.store import prediction_queries as pq
from appliance.store.connection import Store


class FeedbackRecorder:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()

    def record(self, model_name: str, items: list[dict[str, Any]], *, listed: bool = True) -> list[dict[str, Any]]:
        """One result per item (`request_id`, `row_index`, `label`, as `http.bodies.Label` validated them):
        recorded, unchanged, updated, or why it was not recorded.

        A multiclass label that is not a class of the version that answered is a 400 for the whole body
        (naming each such item's field, `labels[i].label`, or `label` when the body is one label), and
        nothing is recorded."""
        parsed = [{"index": i, "request_id": item["request_id"], "row_index": item.get("row_index", 0),
                   "label": item["label"]} for i, item in enumerate(items)]
        with self._lock, self._store.transaction():
            ids = sorted({p["request_id"] for p in parsed})
            logged = pq.logged_rows(self._store, ids)
            model = _model_labels(self._store, model_name)
            if model["task"] == "multiclass":
                model["classes"] = pq.answering_classes(self._store, ids)
                _check_classes(model_name, parsed, logged, model["classes"], listed)
            keys = [(p["request_id"], p["row_index"]) for p in parsed]
            before = pq.existing_labels(self._store, keys)
            return [self._one(model_name, p, logged, model, before) for p in parsed]

    def _one(self, model_name: str, item: dict[str, Any], logged: dict[str, tuple[str, int]],
             model: dict[str, Any], before: dict[tuple[str, int], str]) -> dict[str, Any]:
        request_id, row = item["request_id"], item["row_index"]
        result: dict[str, Any] = {"index": item["index"], "request_id": request_id, "row_index": row}
        problem = _where_problem(model_name, item, logged)
        if problem is not None:
            return result | problem
        converted = _label(item["label"], model, request_id)
        if isinstance(converted, str):
            return result | {"status": "invalid", "problem": converted}
        text, value = converted
        previous = before.get((request_id, row))
        if previous == text:
            return result | {"status": "unchanged"}
        pq.upsert_label(self._store, request_id, row, model_name, text, value, utc_now())
        return result | {"status": "recorded" if previous is None else "updated"}


def _where_problem(model_name: str, item: dict[str, Any], logged: dict[str, tuple[str, int]]) -> dict[str, Any] | None:
    """Why a label cannot attach to a logged row (unknown id, another model's request, no such row), or None."""
    found = logged.get(item["request_id"])
    if found is None:
        return {"status": "unknown_request_id"}
    if found[0] != model_name:
        return {"status": "wrong_model", "problem": f"request was answered by model '{found[0]}'"}
    if item["row_index"] >= found[1]:
        return {"status": "unknown_row", "problem": f"the request had {found[1]} row(s)"}
    return None


def _check_classes(model_name: str, parsed: list[dict[str, Any]], logged: dict[str, tuple[str, int]],
                   classes: dict[str, list[str]], listed: bool) -> None:
    """Refuse (400) the labels of answered rows that name no class of the answering version."""
    problems = []
    for item in parsed:
        if _where_problem(model_name, item, logged) is not None:
            continue
        text = _class_text(item["label"])
        known = classes.get(item["request_id"], [])
        if text is not None and text not in known:
            field = f"labels[{item['index']}].label" if listed else "label"
            problems.append({"field": field, "kind": "unknown_class",
                             "problem": f"'{text}' is not a class of this model; its classes are {', '.join(known)}"})
    if problems:
        raise InvalidRequest(f"{problems[0]['field']}: {problems[0]['problem']}", problems, reason="unknown_class")


def _model_labels(store: Store, model_name: str) -> dict[str, Any]:
    """The model's task and what its labels mean: the positive class (binary); multiclass labels are
    checked against the classes of the version that answered each request."""
    row = pq.model_labels(store, model_name)
    if row is None:
        raise InvalidRequest(f"no model named '{model_name}'", [
            {"field": "model", "problem": "unknown model", "kind": "unknown_model"}], status=404)
    return {"task": row["task"], "positive": row["positive"]}


def _class_text(label: Any) -> str | None:
    """A multiclass label as its class name: text, or an integer for classes named by numbers; None otherwise."""
    return None if isinstance(label, bool) else category_text(label)


def _label(label: Any, model: dict[str, Any], request_id: str) -> tuple[str, float] | str:
    """(label as text, label value) or why the label is invalid. The value is 1/0 for binary models (the
    positive class or not), the number for regression, and the class's position in the answering
    version's classes for multiclass (as `prediction` is logged)."""
    if model["task"] == "regression":
        if isinstance(label, bool) or not isinstance(label, (int, float)) or not math.isfinite(label):
            return "a regression label must be a finite number"
        return str(label), float(label)
    if model["task"] == "multiclass":
        text = _class_text(label)
        if text is None:
            return "a multiclass label must be a class name (text, or an integer)"
        return text, float(model["classes"][request_id].index(text))
    text = category_text(label)
    if text is None:
        return "a binary label must be text, an integer or a boolean"
    return text, 1.0 if text == model["positive"] else 0.0
