"""A hostile network client against the ecosystem protocols of a real daemon (`vigil up`): CSV and Parquet
bodies made to cost time or memory, compressed bodies, OIP versioned paths and binary tensors, the API
document, and a flood of bad bodies beside valid clients; then a low-privilege user aiming a lake export
outside the allowed directories. Each test passes when the attack fails and neighbours are unharmed.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import pytest

from daemon_support import Daemon, op, record, start_daemon, token_of
from support import VIGIL

CSV = {"Content-Type": "text/csv"}
PARQUET = {"Content-Type": "application/vnd.apache.parquet"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def people(served_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A copy of the served home with ada (admin), otto (operator) and vera (viewer)."""
    home = tmp_path_factory.mktemp("protocol-attacks") / "home"
    shutil.copytree(served_home, home)

    def add(name: str, role: str, token: str | None) -> str:
        env = {"VIGIL_TOKEN": token} if token else {}
        done = subprocess.run([str(VIGIL), "users", "add", name, "--role", role, "--home", str(home)],
                              capture_output=True, text=True, timeout=120, env={**os.environ, **env})
        return token_of(done.stdout)

    tokens = {"ada": add("ada", "admin", None)}
    tokens["otto"] = add("otto", "operator", tokens["ada"])
    tokens["vera"] = add("vera", "viewer", tokens["ada"])
    return home, tokens


@pytest.fixture(scope="module")
def target(people: tuple[Path, dict[str, str]]) -> Iterator[Daemon]:
    home, _ = people
    running = start_daemon(home, home.parent / "daemon.log")
    yield running
    if running.process.poll() is None:
        running.stop()


def _rss_kb(daemon: Daemon) -> int:
    for line in Path(f"/proc/{daemon.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _answer(daemon: Daemon, path: str, body: bytes, headers: dict[str, str], timeout: float = 20) -> tuple[int, Any]:
    status, _, payload = daemon.request("POST", path, raw=body, headers=headers, timeout=timeout)
    return status, json.loads(payload)


def _parquet(columns: dict[str, Any], **options: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.table(columns), out, **options)
    return out.getvalue()


def _features(sample: dict[str, Any]) -> dict[str, Any]:
    import pyarrow as pa

    return {name: pa.array([value]) for name, value in sample.items()}


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _footer_claiming(raw: bytes, true_size: int, claimed: int) -> bytes:
    """`raw` with every footer field holding `true_size` (an i64 in Thrift's compact protocol) made to claim
    `claimed`, written in as many bytes (a varint may be padded), so nothing else in the file moves."""
    length = int.from_bytes(raw[-8:-4], "little")
    footer = raw[-8 - length:-8]
    honest = _varint(true_size * 2)  # zigzag
    lie = bytearray(_varint(claimed * 2))
    lie[-1] |= 0x80
    lie += b"\x80" * (len(honest) - len(lie) - 1) + b"\x00"
    assert footer.count(honest) >= 1 and len(lie) == len(honest)
    return raw[:-8 - length] + footer.replace(honest, bytes(lie)) + raw[-8:]


# CSV ------------------------------------------------------------------------------------------------------

def test_a_csv_header_of_repeated_or_countless_names_is_answered_at_once(target: Daemon) -> None:
    """Renaming repeated header names (`a`, `a.1`, ...) was quadratic to cubic: 16 KB of `a,a,a,...` held
    the interpreter for 90 s, stalling every client. Now linear, and a header is at most 16,384 columns."""
    started = time.monotonic()
    status, answer = _answer(target, "/invocations", (",".join(["a"] * 6000) + "\n1\n").encode(), CSV)
    assert status == 400 and "csv.sched_dep_time" in answer["message"], answer
    status, answer = _answer(target, "/invocations", ("," * 400_000 + "\n1\n").encode(), CSV)
    assert status == 413 and answer["errors"][0]["kind"] == "too_many_columns", answer
    assert time.monotonic() - started < 5


# Parquet --------------------------------------------------------------------------------------------------

def test_a_parquet_footer_that_understates_its_pages_is_refused_before_they_are_read(
        target: Daemon, sample_records: list[dict[str, Any]]) -> None:
    """A true page of 60 MB of one character (kilobytes with zstd) under a footer claiming 100 bytes: the
    footer check passed and Arrow decompressed it all (RSS grew by about three times the page). The page headers are
    summed now, before any page is read."""
    import pyarrow as pa

    size = 60_000_000
    columns = {**_features(sample_records[0]), "carrier": pa.array(["x" * size])}
    honest = _parquet(columns, compression="zstd", use_dictionary=False, write_statistics=False)
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(io.BytesIO(honest)).metadata
    names = [metadata.row_group(0).column(i).path_in_schema for i in range(metadata.num_columns)]
    true_size = metadata.row_group(0).column(names.index("carrier")).total_uncompressed_size
    forged = _footer_claiming(honest, true_size, 100)
    forged_metadata = pq.ParquetFile(io.BytesIO(forged)).metadata
    assert forged_metadata.row_group(0).column(names.index("carrier")).total_uncompressed_size == 100
    before = _rss_kb(target)
    for _ in range(2):
        status, answer = _answer(target, "/invocations", forged, PARQUET)
        assert status == 413 and "pages decompress" in answer["message"], answer
    assert _rss_kb(target) - before < 50_000  # kB; Arrow would hold the 60 MB page (and copies of it)


def test_parquet_dates_durations_and_time_zones_are_refused_by_type(
        target: Daemon, sample_records: list[dict[str, Any]]) -> None:
    """Turning these into Python values failed (a date past year 9999, an unknown time zone): 500s any
    client could cause, each with a traceback in the daemon's log."""
    import pyarrow as pa

    hostile = {"carrier": pa.array([2**31 - 1], pa.date32()),
               "origin": pa.array([0], pa.timestamp("s", tz="+99:99")),
               "distance": pa.array([2**62], pa.duration("s"))}
    for name, values in hostile.items():
        body = _parquet({**_features(sample_records[0]), name: values})
        status, answer = _answer(target, "/invocations", body, PARQUET)
        assert status == 400, (name, answer)
        assert answer["errors"][0]["field"] == f"parquet.{name}" and answer["errors"][0]["kind"] == "wrong_type"


# Compressed bodies ------------------------------------------------------------------------------------------

def test_a_body_of_countless_gzip_members_is_refused_without_seconds_of_copying(target: Daemon) -> None:
    """Each gzip member started over on a copy of the rest of the body: a megabyte of empty members cost
    2.5 s of CPU per request. Now at most 64 members."""
    many = gzip.compress(b"") * 50_000
    started = time.monotonic()
    status, answer = _answer(target, "/v2/models/delay/infer", many, {**JSON, "Content-Encoding": "gzip"})
    assert status == 400 and "gzip members" in answer["error"], answer
    assert time.monotonic() - started < 1.0
    bomb = gzip.compress(b" " * 30_000_000, 9)
    status, answer = _answer(target, "/v2/models/delay/infer", bomb, {**JSON, "Content-Encoding": "gzip"})
    assert status == 413 and answer["errors"][0]["kind"] == "body_too_large", answer


# OIP paths and tensors --------------------------------------------------------------------------------------

def _inputs(sample: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": k, "shape": [1], "datatype": "BYTES" if isinstance(v, str) else "FP64", "data": [v]}
            for k, v in sample.items()]


def test_only_the_exact_number_of_a_version_answering_traffic_is_addressable(
        target: Daemon, sample_records: list[dict[str, Any]]) -> None:
    """v2 is registered, not released: no spelling of a number reaches it, or loads it, or a 5xx."""
    body = json.dumps({"inputs": _inputs(record(sample_records[0]))}).encode()
    assert _answer(target, "/v2/models/delay/versions/1/infer", body, JSON)[0] == 200
    for version in ("2", "02", "01", "1e0", "+1", " 1", "1.0", "-1", "0", "9" * 40, "\u0661", "1\u200b"):
        quoted = urllib.parse.quote(version, safe="")
        status, answer = _answer(target, f"/v2/models/delay/versions/{quoted}/infer", body, JSON)
        assert status == 404 and set(answer) == {"error"} and "answering: 1 (champion)" in answer["error"], answer
        status, _, payload = target.request("GET", f"/v2/models/delay/versions/{quoted}/ready")
        assert status == 404 and set(json.loads(payload)) == {"error"}
    status, _, payload = target.request("GET", "/readyz")
    assert json.loads(payload)["models"] == ["delay"]


def test_v2_errors_keep_the_protocol_shape_with_allow_on_405(target: Daemon) -> None:
    status, headers, payload = target.request("DELETE", "/v2/models/delay/infer")
    assert status == 405 and headers.get("Allow") == "POST" and set(json.loads(payload)) == {"error"}
    status, headers, payload = target.request("GET", "/v2/models/delay/versions/1/infer")
    assert status == 405 and headers.get("Allow") == "POST" and set(json.loads(payload)) == {"error"}
    for path in ("/v2/nothing", "/v2/models/made-up", "/v2/models/made-up/versions/1/ready"):
        status, _, payload = target.request("GET", path)
        assert status == 404 and set(json.loads(payload)) == {"error"}, path


@pytest.mark.parametrize("size, problem", [(6.0, "non-negative integer"), (True, "non-negative integer"),
                                          (-6, "non-negative integer"), ("6", "non-negative integer"),
                                          (10**30, "runs past the end")])
def test_binary_data_size_of_any_other_kind_is_refused_by_name(
        target: Daemon, sample_records: list[dict[str, Any]], size: Any, problem: str) -> None:
    inputs = [i for i in _inputs(record(sample_records[0])) if i["name"] != "carrier"]
    inputs.append({"name": "carrier", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": size}})
    header = json.dumps({"inputs": inputs}).encode()
    status, answer = _answer(target, "/v2/models/delay/infer", header + struct.pack("<I", 2) + b"UA", {
        "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header))})
    assert status == 400 and answer["errors"][0]["field"].startswith("inputs.carrier"), answer
    assert problem in answer["error"]


# What any client may read -----------------------------------------------------------------------------------

def test_the_api_document_tells_a_stranger_nothing_of_this_box(target: Daemon,
                                                                people: tuple[Path, dict[str, str]]) -> None:
    """No path of the home, no model name, no token; every admin path says it needs a bearer token."""
    home, tokens = people
    status, payload = target.get("/openapi.json")
    text = payload.decode()
    assert status == 200
    admin_token = (home / "admin.token").read_text().strip()
    for secret in (str(home), str(home.parent), "delay", admin_token, *tokens.values()):
        assert secret not in text, secret
    document = json.loads(text)
    admin = {path: item for path, item in document["paths"].items() if path.startswith("/admin/")}
    assert len(admin) > 30
    assert all(operation["security"] == [{"bearer": []}] for item in admin.values() for operation in item.values())
    from appliance import __version__

    assert target.get("/version") == (200, __version__.encode())
    assert target.get("/health")[0] == 200


# One client's flood, the others' answers ----------------------------------------------------------------------

def test_a_flood_of_hostile_bodies_fails_no_valid_client(target: Daemon, sample_records: list[dict[str, Any]]) -> None:
    hostile = [
        ("/invocations", (",".join(["a"] * 200_000) + "\n1\n").encode(), CSV),
        ("/invocations", ("," * 500_000 + "\n1\n").encode(), CSV),
        ("/v2/models/delay/infer", gzip.compress(b"") * 50_000, {**JSON, "Content-Encoding": "gzip"}),
        ("/v2/models/delay/infer", gzip.compress(b" " * 30_000_000, 9), {**JSON, "Content-Encoding": "gzip"}),
        ("/v1/models/delay/predict", b"[" * 500_000, JSON),
    ]
    stop = time.monotonic() + 4
    valid: dict[Any, int] = {}
    refused: dict[Any, int] = {}
    lock = threading.Lock()

    def attack(start: int) -> None:
        turn = start
        while time.monotonic() < stop:
            path, body, headers = hostile[turn % len(hostile)]
            turn += 1
            status = target.request("POST", path, raw=body, headers=headers, timeout=30)[0]
            with lock:
                refused[status] = refused.get(status, 0) + 1

    def score() -> None:
        body = json.dumps({"records": [record(sample_records[0])]}).encode()
        while time.monotonic() < stop:
            status = target.request("POST", "/v1/models/delay/predict", raw=body, headers=JSON, timeout=30)[0]
            with lock:
                valid[status] = valid.get(status, 0) + 1

    threads = [threading.Thread(target=attack, args=(i,)) for i in range(4)] + \
        [threading.Thread(target=score) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(valid) == {200} and valid[200] > 20, valid
    assert set(refused) <= {400, 413} and sum(refused.values()) > 20, refused


# A low-privilege user and the lake --------------------------------------------------------------------------

def test_a_lake_export_goes_nowhere_but_the_allowed_directories(
        target: Daemon, people: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    home, tokens = people
    outside = tmp_path / "outside"
    outside.mkdir()
    (home / "exports").mkdir(exist_ok=True)
    (home / "exports" / "door").symlink_to(outside)
    status, answer = op(target, tokens["vera"], "export", {"directory": "lake"})
    assert status == 403 and "needs the operator role" in answer["message"], answer
    for directory in (str(outside / "lake"), "../lake", "door/lake", str(home), "../../etc"):
        status, answer = op(target, tokens["otto"], "export", {"directory": directory})
        assert status == 400 and "outputs go only under" in answer["message"], (directory, answer)
    for box in ("..", ".hidden", "a/b", "x" * 65):
        status, answer = op(target, tokens["otto"], "export", {"directory": "lake", "box": box})
        assert 400 <= status < 500, (box, answer)
    assert list(outside.iterdir()) == [] and not (home / "lake").exists() and not (home.parent / "lake").exists()
