"""Through the daemon, what an operator names for Vigil to read — a spec, its source file or query, a
file or query to score — never reads the home's private files (admin token, keys, store, config): a
query source would otherwise carry `admin.token` into a snapshot, a contract's categories or the
prediction log, where any viewer reads it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from daemon_support import op, start_daemon, token_of
from support import SPEC


def _spec(folder: Path, source: str, seed: int = 9) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"spec{seed}.toml"
    path.write_text(SPEC.format(model="delay", seed=seed, source=source, estimator="hist_gradient_boosting",
                                params="{ max_iter = 10 }"))
    return path


def test_an_operator_cannot_have_the_daemon_read_the_home(
        fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any], flights_small: Path) -> None:
    ada = token_of(vigil("users", "add", "ada", "--role", "admin", "--home", fresh_home).out)
    otto = token_of(vigil("users", "add", "otto", "--role", "operator", "--home", fresh_home,
                          env={"VIGIL_TOKEN": ada}).out)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        secret = (fresh_home / "admin.token").read_text().strip()
        token_file = str(fresh_home / "admin.token")
        work = tmp_path / "work"
        stealing = {
            "a query source reading the token": _spec(work, f'query = """SELECT content AS carrier, * FROM '
                                                            f"read_text('{token_file}'), '{flights_small}'\"\"\"", 1),
            "a query source globbing the home": _spec(
                work, f'query = "SELECT * FROM read_csv(\'{fresh_home}/*.toml\')"', 2),
            "a file source in the home": _spec(work, f'path = "{fresh_home / "vigil.toml"}"', 3),
        }
        for attack, spec in stealing.items():
            status, answer = op(daemon, otto, "train", {"spec": str(spec), "reason": attack})
            assert status == 400, (attack, answer)
            assert secret not in str(answer), attack
        status, answer = op(daemon, otto, "train", {"spec": str(fresh_home / "vigil.toml"),
                                                    "reason": "spec in home"})
        assert status == 400 and "reads no file of its home" in answer["message"], answer
        status, answer = op(daemon, otto, "score", {"name": "delay", "query": f"SELECT content AS carrier FROM "
                                                    f"read_text('{token_file}')", "output": "stolen.parquet"})
        assert status == 400 and secret not in str(answer), answer
        status, answer = op(daemon, otto, "score", {"name": "delay", "input": token_file,
                                                    "output": "stolen2.parquet"})
        assert status == 400 and "reads no file of its home" in answer["message"], answer
        status, versions = op(daemon, otto, "versions", {"name": "delay"})
        assert status == 200 and sorted(v["version"] for v in versions) == [1, 2]

        # the same kinds of input, outside the home: a query beside its spec, and a file in exports/
        shutil.copy(flights_small, work / "flights.parquet")
        relative = _spec(work, 'query = "SELECT * FROM \'flights.parquet\'"', 5)
        status, answer = op(daemon, otto, "train", {"spec": str(relative), "reason": "a relative name"})
        assert status == 400 and "named by absolute path" in answer["message"], answer
        beside = _spec(work, f'query = "SELECT * FROM \'{work / "flights.parquet"}\'"', 4)
        status, trained = op(daemon, otto, "train", {"spec": str(beside), "reason": "query beside its spec"})
        assert status == 200 and trained["version"] == 3, trained
        exports = fresh_home / "exports"
        exports.mkdir(exist_ok=True)
        shutil.copy(flights_small, exports / "day.parquet")
        status, scored = op(daemon, otto, "score", {"name": "delay", "input": str(exports / "day.parquet"),
                                                    "output": "day-scored.parquet"})
        assert status == 200, scored
    finally:
        daemon.stop()
