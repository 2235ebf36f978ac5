"""SQL lives in the store's query modules, and JSON is written by `json.dumps`, never by an f-string.

A module outside `appliance/store/` calls named query functions; a SQL statement written anywhere else
is found here as a string literal (or the text of an f-string) that begins with a statement keyword.
Docstrings are prose and not looked at; SQL keywords are matched in upper case, as Vigil writes
them, or in lower case only when followed by the rest of a statement ("delete from", "insert into"),
so command help such as "create a key" is not mistaken for SQL.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

APPLIANCE = Path(__file__).resolve().parents[2] / "appliance"
ROOT = APPLIANCE.parent
STORE = APPLIANCE / "store"

STATEMENT = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|COPY|ATTACH|DETACH|PRAGMA"
                       r"|CHECKPOINT|VACUUM)\b")
LOWER_STATEMENT = re.compile(
    r"\s*(select\b.*\bfrom\b|with\s+\w+\s+as\s*\(|insert\s+(or\s+\w+\s+)?into\b|update\s+\w+\s+set\b"
    r"|delete\s+from\b|(create|alter|drop)\s+(or\s+replace\s+)?(temp\s+|temporary\s+)?"
    r"(table|view|index|sequence|schema|macro)\b|copy\s+\S+\s+(to|from)\b|attach\s+\S+\s+as\b)",
    re.IGNORECASE | re.DOTALL)

# Modules that still run SQL of their own while their packages are reworked; each entry must still
# hold SQL (the last test), so the list only shrinks.
STILL_HOLDING_SQL: set[str] = set()
# Modules that still write JSON with an f-string (paths under appliance/).
STILL_WRITING_JSON: set[str] = set()


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _texts(tree: ast.AST) -> list[tuple[int, str, bool]]:
    """(line, text, is an f-string) of every string literal that is not a docstring; an f-string's text
    has `\\0` where its values go (so a value in first place does not read as an opening brace)."""
    docstrings = _docstrings(tree)
    inside = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings and id(node) not in inside:
                found.append((node.lineno, node.value, False))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(part.value if isinstance(part, ast.Constant) else "\0" for part in node.values)
            found.append((node.lineno, text, True))
    return found


def is_sql(text: str) -> bool:
    return bool(STATEMENT.match(text) or LOWER_STATEMENT.match(text))


def is_json_fstring(text: str) -> bool:
    """An f-string that writes a JSON object or array: it opens with `{` or `[` and quotes a key or value."""
    return text.lstrip().startswith(("{", "[")) and '"' in text


def sql_statements(source: str) -> list[int]:
    return [line for line, text, _ in _texts(ast.parse(source)) if is_sql(text)]


def json_fstrings(source: str) -> list[int]:
    return [line for line, text, formatted in _texts(ast.parse(source)) if formatted and is_json_fstring(text)]


def _outside_store() -> dict[str, str]:
    return {p.relative_to(APPLIANCE).as_posix(): p.read_text() for p in sorted(APPLIANCE.rglob("*.py"))
            if STORE not in p.parents}


def test_no_module_outside_the_store_writes_sql() -> None:
    offenders = [f"appliance/{name}:{line}" for name, source in _outside_store().items()
                 if name not in STILL_HOLDING_SQL for line in sql_statements(source)]
    assert offenders == []


def test_no_f_string_writes_json() -> None:
    offenders = [f"{p.relative_to(ROOT).as_posix()}:{line}"
                 for folder in ("appliance", "tui") for p in sorted((ROOT / folder).rglob("*.py"))
                 if p.relative_to(APPLIANCE if folder == "appliance" else ROOT).as_posix() not in STILL_WRITING_JSON
                 for line in json_fstrings(p.read_text())]
    assert offenders == []


def test_the_checks_see_an_offender_and_pass_prose() -> None:
    offender = '''
"""SELECT in a docstring is prose."""
HELP = "create a key (printed once)"
ROWS = "SELECT name FROM users WHERE name = ?"
LATER = f"  UPDATE jobs SET status = 'queued' WHERE run_id = {1}"
SNEAKY = "delete from audit_log"
DETAIL = f'{{"requested_by": "{"dana"}"}}'
NOT_JSON = f"{{x}} is {1}"
'''
    assert sql_statements(offender) == [4, 5, 6]
    assert json_fstrings(offender) == [7]


def test_every_allowed_module_still_holds_what_it_is_allowed() -> None:
    """An entry whose module no longer writes SQL (or JSON by f-string) comes off its list."""
    sources = _outside_store()
    assert [name for name in sorted(STILL_HOLDING_SQL) if not sql_statements(sources.get(name, ""))] == []
    assert [name for name in sorted(STILL_WRITING_JSON) if not json_fstrings(sources.get(name, ""))] == []
