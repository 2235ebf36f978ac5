"""A full disk answers 503 with Retry-After (never 500), loses nothing acknowledged, and recovers.

The home lives on a small tmpfs mounted for the test (so it needs root, as mounting does); the disk
is filled with a real file until the kernel says ENOSPC, exactly what a full data disk does to
DuckDB's write-ahead log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from appliance.store.connection import Store
from daemon_support import Daemon, start_daemon


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Write zeros until the kernel says ENOSPC. Unbuffered: a buffered file would try to write its unwritten
    tail again on close and raise there, depending on how the free space divides by the chunk size."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):  # then the last pages, then the last bytes
            try:
                while True:
                    os.write(descriptor, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_answers_503_and_recovers(small_disk: Path, served_home: Path, sample_records,
                                              tmp_path: Path) -> None:
    home = small_disk / "home"
    shutil.copytree(served_home, home)
    daemon: Daemon = start_daemon(home, tmp_path / "daemon.log")
    acknowledged: list[str] = []
    try:
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:1], "request_id": "before"})[0] == 200
        filler = _fill(small_disk)
        answers = {}
        for i in range(40):  # the write-ahead log's last page may still hold a few requests
            answers[f"full-{i}"] = daemon.request("POST", "/v1/models/delay/predict",
                                                  {"records": sample_records[:50], "request_id": f"full-{i}"})
        statuses = [status for status, _, _ in answers.values()]
        assert set(statuses) <= {200, 503} and statuses[-1] == 503, statuses
        for status, headers, payload in answers.values():
            if status == 503:
                assert int(headers["Retry-After"]) >= 1 and json.loads(payload)["error"]["type"] == "StoreFull"
        acknowledged = [request_id for request_id, (status, _, _) in answers.items() if status == 200]
        status, headers, payload = daemon.request("POST", "/v1/models/delay/feedback",
                                                  {"request_id": "before", "label": True})
        assert status in (200, 503) and (status == 200 or "Retry-After" in headers)  # a label may fit a page
        full_feedback = status
        assert daemon.get("/healthz")[0] == 200
        filler.unlink()
        assert daemon.post("/v1/models/delay/predict", {"records": sample_records[:1], "request_id": "after"})[0] == 200
        assert daemon.post("/v1/models/delay/feedback", {"request_id": "before", "label": True})[1]["counts"] == {
            "unchanged" if full_feedback == 200 else "recorded": 1}
        assert daemon.stop() == 0
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
    with Store.open(home / "vigil.duckdb", read_only=True) as store:
        logged = dict(store.execute("SELECT request_id, count(*) FROM prediction_log GROUP BY ALL"))
    assert logged == {"before": 1, "after": 1, **{request_id: 50 for request_id in acknowledged}}
