"""The console's command verbs, completion and column priorities, as pure functions."""

from __future__ import annotations

import pytest

pytest.importorskip("textual")

MODELS = ["delay", "demand", "fraud"]


def test_prefixes_and_aliases_name_one_verb() -> None:
    from tui.commands import parse

    assert [parse(text, MODELS)[0].name for text in (":al", "aler", "ap", "au", "inc 2", "rb fraud", "q", "?",
                                                     "2", "o", "j")] == [
        "alerts", "alerts", "approvals", "audit", "incident", "rollback", "quit", "help", "alerts", "overview", "jobs"]
    assert parse("inc 12", MODELS)[1] == "12"
    assert parse("drift fr", MODELS) == (parse("drift fraud", MODELS)[0], "fraud")  # a model by its prefix


@pytest.mark.parametrize("text,message", [
    ("a", "':a' could be alerts, approvals, audit; type more of it"),
    ("r", "':r' could be reports, rollback, request; type more of it"),
    ("zz", "unknown command ':zz'; press ? for the list"),
    ("model", "':model' needs a NAME: ':model NAME'"),
    ("inc two", "':incident' needs a number, not 'two'"),
    ("alerts 2", "':alerts' takes nothing after it"),
    ("drift de", "'de' could be the model delay, demand; type more of it"),
    ("model nosuch", "no model 'nosuch'; models: delay, demand, fraud"),
])
def test_unclear_commands_say_why(text: str, message: str) -> None:
    from tui.commands import CommandError, parse

    with pytest.raises(CommandError) as raised:
        parse(text, MODELS)
    assert str(raised.value) == message


def test_completion_offers_verbs_models_and_ids() -> None:
    from tui.commands import hint, suggest

    assert suggest("al", MODELS, []) == "alerts"
    assert suggest(":dri", MODELS, []) == ":drift"
    assert suggest("drift fr", MODELS, []) == "drift fraud"
    assert suggest("rb d", MODELS, []) == "rb delay"  # the first model in order when several fit
    assert suggest("inc ", MODELS, ["7", "12"]) == "inc 7"
    assert suggest("inc 1", MODELS, ["7", "12"]) == "inc 12"
    assert suggest("alerts", MODELS, []) is None and suggest("zz", MODELS, []) is None
    assert hint("al", MODELS) == "enter: alerts (the alerts screen)"
    assert hint("rb", MODELS) == "rollback NAME: roll a model's champion back (asks first)"
    assert hint("a", MODELS) == "':a' could be alerts, approvals, audit; type more of it"


def test_narrow_tables_drop_empty_then_low_priority_columns() -> None:
    from tui.columns import Column, kept

    columns = [Column("model", "model"), Column("canary", "canary", 4), Column("req", "req/s", 3),
               Column("drift", "worst drift"), Column("alerts", "alerts", 2)]
    rows = [["delay", "-", "12.5", "temp 0.31 crit", "1c"], ["fraud", "-", "3.0", "-", "0"]]
    assert kept(columns, rows, 200) == [0, 1, 2, 3, 4]  # everything fits: nothing dropped
    assert kept(columns, rows, 40) == [0, 2, 3, 4]  # the empty canary first
    assert kept(columns, rows, 32) == [0, 3, 4]  # then the lowest priority
    assert kept(columns, rows, 5) == [0, 3]  # priority-1 columns always stay
