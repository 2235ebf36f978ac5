"""A request's replay evidence in words, the same for `vigil requests show` and the console's approvals
screen: one (label, text) pair per line.

>>> replay_lines({"status": "computing", "detail": {"notes": ["soon"]}})
[('replay', 'computing'), ('note', 'soon')]
"""

from __future__ import annotations

from typing import Any

_STATUS = {"no_inputs": "no logged inputs to replay", "no_champion": "no champion to compare with",
           "failed": "could not be computed", "not_replayed": "not replayed",
           "none": "none", "computing": "computing"}


def replay_lines(replay: dict[str, Any]) -> list[tuple[str, str]]:
    """What the replay found, line by line: rows, agreement, score shift, labelled metric, notes."""
    detail = replay.get("detail") or {}
    notes = [("note", str(n)) for n in detail.get("notes", [])]
    if replay.get("status") != "replayed":
        rows = replay.get("rows_skipped") or 0
        skipped = [("rows", f"{rows:,} skipped")] if rows else []
        return [("replay", _STATUS.get(str(replay.get("status")), str(replay.get("status")))), *skipped, *notes]
    lines = [("replay", f"champion v{replay['champion_version']}'s logged traffic re-scored by "
                        f"v{replay['candidate_version']} (information, not a gate)"),
             ("rows", f"{replay['rows_replayed']:,} replayed, {replay['rows_skipped']:,} skipped, answered "
                      f"{_when(detail.get('replayed_from'))} to {_when(detail.get('replayed_to'))} UTC"),
             ("agreement", _agreement(detail.get("task"), replay["agreement"], detail.get("agreement") or {})),
             ("score shift", _shift(replay, detail.get("shift") or {}))]
    lines += _metrics(replay, detail.get("metrics") or {})
    return lines + notes


def _agreement(task: Any, share: float | None, found: dict[str, Any]) -> str:
    if share is None:
        return "-"
    if task == "regression":
        return (f"{share:.1%} of rows within {found.get('tolerance', 0):.4g} of the champion's answer; "
                f"mean absolute difference {found.get('mean_abs_difference', 0):.4g}")
    what = "class" if task == "multiclass" else "decision"
    return f"{share:.1%} of rows get the same {what}"


def _shift(replay: dict[str, Any], found: dict[str, Any]) -> str:
    if replay["score_psi"] is None:
        return "-"
    text = f"PSI {replay['score_psi']:.4f}, KS {_number(replay['score_ks'])} (candidate scores vs champion's logged)"
    if found.get("class") is not None:
        text += f"; worst class {found['class']}, chosen-class PSI {_number(found.get('class_psi'))}"
    return text


def _metrics(replay: dict[str, Any], metrics: dict[str, dict[str, float | None]]) -> list[tuple[str, str]]:
    if not replay.get("labelled_rows"):
        return [("labelled", "no replayed row has a label yet")]
    lines = [("", f"{name} candidate {_number(values.get('candidate'))}, champion {_number(values.get('champion'))}")
             for name, values in metrics.items()]
    return [("labelled", f"{replay['labelled_rows']:,} rows: {lines[0][1]}"), *lines[1:]] if lines else []


def _number(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4f}"


def _when(value: Any) -> str:
    return "-" if value is None else str(value)[:16].replace("T", " ")
