"""The feedback API, `POST /v1/models/{name}/feedback`: one label, or up to 100,000 as {"labels": [...]}.

A body is read by the pydantic models of `bodies` (`Label`, `Labels`), which name each bad field. A large
body of well-formed labels takes a quicker road to the same result: one pass over the items checks the
same rules without building a model per label; the first item that is not plainly well-formed sends
the whole body through pydantic, so every refusal is still worded by the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appliance.clock import utc_now
from appliance.core import request_event_time
from appliance.errors import InvalidRequest
from appliance.http import bodies
from appliance.http.wsgi import Request, Response, json_response
from appliance.serving import request_ids
from appliance.serving.feedback import MAX_LABELS

if TYPE_CHECKING:
    from appliance.http.host import HttpHost

ITEM_KEYS = frozenset({"request_id", "row_index", "label", "event_time"})


def feedback(service: "HttpHost", request: Request) -> Response:
    service.access.check(request.bearer())
    items, listed = read_items(request.json())
    return json_response(service.feedback.record(request.params["name"], items, listed=listed))


def read_items(body: Any) -> tuple[list[dict[str, Any]], bool]:
    """(the labels as dicts with `event_time` parsed, whether the body was a list of labels)."""
    if isinstance(body, dict) and isinstance(body.get("labels"), list) and len(body["labels"]) > MAX_LABELS:
        raise InvalidRequest(f"{len(body['labels'])} labels in one call; the limit is {MAX_LABELS}", [
            {"field": "labels", "problem": f"more than {MAX_LABELS} labels", "kind": "too_many_labels"}],
            status=413, reason="too_many_labels")
    quick = quick_items(body)
    if quick is not None:
        return quick, True
    parsed = bodies.feedback(body)
    labels = parsed.labels if isinstance(parsed, bodies.Labels) else [parsed]
    return [label.model_dump() for label in labels], isinstance(parsed, bodies.Labels)


def quick_items(body: Any) -> list[dict[str, Any]] | None:
    """The items of a {"labels": [...]} body whose every item is plainly well-formed, else None."""
    if type(body) is not dict or len(body) != 1 or type(body.get("labels")) is not list or not body["labels"]:
        return None
    found = []
    now = utc_now()
    for item in body["labels"]:
        if type(item) is not dict or not item.keys() <= ITEM_KEYS:
            return None
        request_id, row_index, label = item.get("request_id"), item.get("row_index", 0), item.get("label")
        if request_ids.problem(request_id) is not None or not _plain_row(row_index) or not _plain_label(label):
            return None
        moment = item.get("event_time")
        if moment is not None:
            moment, problem = request_event_time.read(moment, now)
            if problem is not None:
                return None
        found.append({"request_id": request_id, "row_index": row_index, "label": label, "event_time": moment})
    return found


def _plain_row(value: Any) -> bool:
    return type(value) is int and 0 <= value <= bodies.MAX_ROW_INDEX


def _plain_label(value: Any) -> bool:
    kind = type(value)
    return kind is str or kind is bool or kind is float or (kind is int and abs(value) < 2 ** 1023)
