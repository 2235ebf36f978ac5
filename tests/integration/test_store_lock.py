"""A store held by another process is refused with that process named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_store_in_use_names_the_holder(home: Path, vigil) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()",
         str(home / "vigil.duckdb")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = vigil("models", "--home", home)
        assert result.code == 2
        assert f"in use by process {holder.pid}" in result.err
    finally:
        holder.communicate("", timeout=30)
    assert os.path.exists(home / "vigil.duckdb")
