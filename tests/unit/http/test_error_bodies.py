"""A bug's 500 tells the client an id and nothing of the error; the daemon's log has the rest."""

from __future__ import annotations

import json
import logging

import pytest

from appliance.errors import InvalidRequest
from appliance.http.wsgi import error_response


def test_a_server_error_answers_an_id_and_logs_the_text_under_it(caplog: pytest.LogCaptureFixture) -> None:
    leaked = "Conversion Error: INT32 out of range in INSERT INTO feedback (row_index) VALUES (2147483648)"
    with caplog.at_level(logging.ERROR, logger="vigil.http"):
        answer = error_response(RuntimeError(leaked))
    body = json.loads(answer.body)["error"]
    assert answer.status == 500 and body["type"] == "internal"
    assert "INSERT" not in answer.body.decode() and "2147483648" not in answer.body.decode()
    assert body["id"] in body["message"]
    logged = [r for r in caplog.records if body["id"] in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None and leaked in str(logged[0].exc_info[1])


def test_a_client_error_still_names_its_fields() -> None:
    answer = error_response(InvalidRequest("bad", [{"field": "records", "problem": "required", "kind": "invalid_body"}]))
    assert answer.status == 400 and json.loads(answer.body)["error"]["errors"][0]["field"] == "records"
