"""appliance/raw_json.py: pre-encoded JSON is spliced into a payload as it is."""

from __future__ import annotations

import json
from datetime import datetime

from appliance.http.wsgi import json_response
from appliance.raw_json import RawJSON, dumps


def test_raw_text_is_spliced_where_the_value_stands() -> None:
    raw = RawJSON('{"rows": [[1, NaN, "é"]], "truncated": false}')
    text = dumps({"result": raw, "at": datetime(2026, 12, 4, 19, 50), "same": "text"})
    assert text.startswith('{"result": {"rows": [[1, NaN, "é"]], "truncated": false}, ')
    assert json.loads(text)["at"] == "2026-12-04T19:50:00"


def test_text_that_looks_like_a_marker_is_left_alone() -> None:
    payload = {"a": RawJSON("[1]"), "b": [RawJSON("2"), "-0"], "c": "0"}
    assert json.loads(dumps(payload)) == {"a": [1], "b": [2, "-0"], "c": "0"}


def test_the_admin_answer_carries_the_raw_result() -> None:
    response = json_response({"result": RawJSON('{"columns": ["n"], "rows": [[1]]}')})
    assert json.loads(response.body) == {"result": {"columns": ["n"], "rows": [[1]]}}
