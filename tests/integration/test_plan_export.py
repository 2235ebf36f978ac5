"""`vigil plan export` and `load_plan(...).score(...)`: the package, its refusals, and answers equal to
`vigil score`'s on the same rows, bit for bit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skops.io as sio

from appliance.cli.main import main
from appliance.core.identity import current_account
from appliance.errors import PlanRefused, ScoringError
from appliance.plans.portable import load_plan
from daemon_support import op, start_daemon, token_of
from support import SAMPLE, SPEC, VIGIL, query

NUMERIC = ["sched_dep_time", "distance", "temp", "wind_speed", "visib"]
CATEGORICAL = ["carrier", "origin"]
POLICY = '[serving.models.delay]\nunknown_category = "reject"\n[serving.models.boost]\nunknown_category = "reject"\n'


def _run(*args: Any) -> None:
    assert main([str(a) for a in args]) == 0, args


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, flights_small: Path) -> dict[str, Any]:
    """A home with 'delay' (scikit-learn boosting), 'boost' (XGBoost) and 'team' (a pipeline with no plan
    form), its key, delay's package, and a file of later flights with bad cells of every kind."""
    root = tmp_path_factory.mktemp("plans")
    home = root / "home"
    _run("init", "--home", home)
    (home / "vigil.toml").write_text(POLICY)
    for model, estimator, params in (("delay", "hist_gradient_boosting", "{ max_iter = 30 }"),
                                     ("boost", "xgboost", "{ n_estimators = 25 }"),
                                     ("team", "hist_gradient_boosting", "{ max_iter = 5 }")):  # the import's spec
        spec = root / f"{model}.toml"
        spec.write_text(SPEC.format(model=model, seed=7, source=f'path = "{flights_small.as_posix()}"',
                                    estimator=estimator, params=params))
        if model != "team":
            _run("train", "--spec", spec, "--home", home)
    unsigned = main(["plan", "export", "delay", "1", str(root / "early"), "--home", str(home)])
    _run("keys", "init", "--home", home)
    _run("plan", "export", "delay", "1", root / "delay.plan", "--home", home)
    _run("import", "team", _no_plan_pipeline(flights_small, root), "--spec", root / "team.toml", "--reason", "team",
         "--home", home)
    key = json.loads((root / "delay.plan" / "signature.json").read_text())["public_key"]
    return {"root": root, "home": home, "key": key, "package": root / "delay.plan", "rows": _later_flights(root),
            "unsigned_code": unsigned}


def _no_plan_pipeline(flights_small: Path, root: Path) -> Path:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder, QuantileTransformer

    frame = pl.read_parquet(flights_small).drop_nulls(NUMERIC)
    inputs = frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC] + CATEGORICAL)
    columns = ColumnTransformer([("n", QuantileTransformer(n_quantiles=50), NUMERIC),  # no plan form
                                 ("c", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                                  CATEGORICAL)])
    model = Pipeline([("columns", columns), ("trees", HistGradientBoostingClassifier(max_iter=5))])
    file = root / "team.skops"
    sio.dump(model.fit(inputs, frame["delayed"].cast(pl.Int64).to_numpy()), file)
    return file


def _later_flights(root: Path) -> Path:
    """April to December from the shipped flights, with distance as text (a few cells no number), a few NaN
    temperatures, unknown carriers and distances beyond the contract's range."""
    frame = pl.read_parquet(SAMPLE).filter(pl.col("month") >= 4).gather_every(12)
    row = pl.int_range(pl.len())
    frame = frame.with_columns(
        pl.when(row % 97 == 0).then(pl.lit("n/a")).when(row % 89 == 0).then(pl.lit("99999"))
        .otherwise(pl.col("distance").cast(pl.String)).alias("distance"),
        pl.when(row % 53 == 0).then(float("nan")).otherwise(pl.col("temp")).alias("temp"),
        pl.when(row % 71 == 0).then(pl.lit("ZZ")).otherwise(pl.col("carrier")).alias("carrier"))
    path = root / "later.parquet"
    frame.write_parquet(path)
    return path


def _vigil_score(cli: Callable[..., Any], built: dict[str, Any], model: str, out: Path) -> dict[str, Any]:
    done = cli("score", model, "--version", "1", "--input", built["rows"], "--output", out, "--json",
               "--home", built["home"])
    assert done.code == 0, done.err
    result = json.loads(done.out)
    scored = pl.read_parquet(out).sort("input_row")
    rejects = pl.read_parquet(result["rejects"]).sort("input_row")
    flags = query(built["home"], "SELECT row_index, flags FROM prediction_log WHERE request_id = ? ORDER BY row_index",
                  [result["batch_id"]])
    return {"scored": scored, "rejects": rejects, "flags": {row: list(found) for row, found in flags if found}}


def _assert_same(ours: pl.DataFrame, theirs: dict[str, Any]) -> None:
    answered, refused = ours.filter(~pl.col("rejected")), ours.filter(pl.col("rejected"))
    assert answered["input_row"].to_list() == theirs["scored"]["input_row"].to_list()
    assert np.array_equal(answered["score"].to_numpy(), theirs["scored"]["score"].to_numpy())  # the same bits
    assert np.array_equal(answered["prediction"].to_numpy(), theirs["scored"]["prediction"].to_numpy())
    assert refused["input_row"].to_list() == theirs["rejects"]["input_row"].to_list()
    assert refused["reasons"].to_list() == theirs["rejects"]["reasons"].to_list()
    assert refused["prediction"].null_count() == refused.height and refused["flags"].list.len().sum() == 0
    flagged = answered.filter(pl.col("flags").list.len() > 0)
    assert dict(zip(flagged["input_row"].to_list(), flagged["flags"].to_list())) == theirs["flags"]


def test_the_package_holds_plan_contract_lineage_signed(built: dict[str, Any]) -> None:
    package, home = built["package"], built["home"]
    assert sorted(p.name for p in package.iterdir()) == ["contract.json", "lineage.json", "manifest.json", "plan.npz",
                                                          "signature.json"]
    [(plan_sha, plan_path, environment)] = query(home, "SELECT plan_sha256, plan_path, environment FROM scoring_plans "
                                                       "WHERE artifact_sha256 = (SELECT artifact_sha256 FROM "
                                                       "model_versions WHERE model_name = 'delay')")
    assert (package / "plan.npz").read_bytes() == (home / plan_path).read_bytes()  # the plan the box serves
    lineage = json.loads((package / "lineage.json").read_text())
    [(snapshot, spec_sha, artifact_sha)] = query(home, "SELECT snapshot_id, spec_sha256, artifact_sha256 "
                                                       "FROM model_versions WHERE model_name = 'delay'")
    assert (lineage["snapshot_id"], lineage["spec_sha256"], lineage["artifact_sha256"], lineage["plan_sha256"]) == \
        (snapshot, spec_sha, artifact_sha, plan_sha)
    assert f"numpy=={lineage['checked_with']['numpy']}" in environment and lineage["exported_by"] == current_account()
    contract = json.loads((package / "contract.json").read_text())
    assert contract["policy"] == {"unknown_category": "reject", "out_of_range": "flag"}
    assert [f["name"] for f in contract["features"]] == NUMERIC + CATEGORICAL
    manifest = json.loads((package / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["contract.json", "lineage.json", "plan.npz"]
    assert (built["root"] / "early").exists() is False and built["unsigned_code"] == 2  # no key: nothing written
    assert query(home, "SELECT actor, details->>'plan_sha256' FROM audit_log WHERE action = 'plan.export'") == \
        [(current_account(), plan_sha)]


def test_scores_equal_vigil_score_bit_for_bit(built: dict[str, Any], cli: Callable[..., Any],
                                               tmp_path: Path) -> None:
    theirs = _vigil_score(cli, built, "delay", tmp_path / "scored.parquet")
    assert theirs["rejects"].height >= 50 and len(theirs["flags"]) >= 10  # every kind of bad cell is in there
    plan = load_plan(built["package"], trusted_key=built["key"])
    table = pq.read_table(built["rows"])
    ours = plan.score(table)
    assert isinstance(ours, pa.Table) and ours.column_names[:table.num_columns] == table.column_names
    _assert_same(pl.from_arrow(ours), theirs)
    reasons = {r for rs in theirs["rejects"]["reasons"].to_list() for r in rs}
    assert {"distance: not a number", "temp: not finite", "unknown_category:carrier"} <= reasons
    batch = plan.score(table.to_batches(max_chunksize=1000)[2], with_inputs=False)
    assert isinstance(batch, pa.RecordBatch) and batch.schema == plan.arrow_schema()
    assert batch.column("score").to_pylist() == ours.column("score").to_pylist()[2000:3000]  # rows are numbered per batch
    frame = table.to_pandas()  # pandas marks missing numbers NaN, as Parquet written from it holds null
    from_pandas = plan.score(frame)
    same = plan.score(pa.Table.from_pandas(frame, preserve_index=False))
    assert from_pandas["reasons"].tolist() == same.column("reasons").to_pylist()
    assert np.array_equal(from_pandas["score"].to_numpy(), same.column("score").to_numpy(zero_copy_only=False),
                          equal_nan=True)


def test_a_booster_plan_scores_as_vigil_score(built: dict[str, Any], cli: Callable[..., Any], tmp_path: Path) -> None:
    assert cli("plan", "export", "boost", "1", tmp_path / "boost.plan", "--home", built["home"]).code == 0
    theirs = _vigil_score(cli, built, "boost", tmp_path / "scored.parquet")
    ours = load_plan(tmp_path / "boost.plan", trusted_key=built["key"]).score(pq.read_table(built["rows"]))
    _assert_same(pl.from_arrow(ours), theirs)


def test_missing_columns_are_refused_with_vigil_score_s_message(built: dict[str, Any], cli: Callable[..., Any],
                                                                tmp_path: Path) -> None:
    partial = tmp_path / "partial.parquet"
    pl.read_parquet(built["rows"]).drop("carrier", "visib").write_parquet(partial)
    theirs = cli("score", "delay", "--version", "1", "--input", partial, "--output", tmp_path / "o.parquet",
                 "--home", built["home"])
    plan = load_plan(built["package"], trusted_key=built["key"])
    with pytest.raises(ScoringError) as refused:
        plan.score(pq.read_table(partial))
    assert theirs.code == 2 and theirs.err.strip() == f"vigil: error: {refused.value}"
    assert str(refused.value) == "the input has no column visib, carrier, which v1 needs; nothing scored"


def _copy(built: dict[str, Any], tmp_path: Path) -> Path:
    target = tmp_path / "copy.plan"
    shutil.copytree(built["package"], target)
    return target


@pytest.mark.parametrize("change, file, words", [
    ("flip a byte", "plan.npz", "'plan.npz' does not match its signed sha256"),
    ("remove", "contract.json", "lacks 'contract.json', which its signed manifest lists"),
    ("remove", "signature.json", "is not signed"),
    ("loosen the policy", "manifest.json", "the signature does not match manifest.json"),
    ("add a file", "extra.py", "holds files its signed manifest does not list (extra.py)"),
    ("sign with another key", "signature.json", "which is not the trusted key"),
])
def test_a_tampered_or_unsigned_package_is_refused(built: dict[str, Any], tmp_path: Path, change: str, file: str,
                                                   words: str) -> None:
    import base64
    import hashlib

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    package = _copy(built, tmp_path)
    path = package / file
    if change == "flip a byte":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))
    elif change == "remove":
        path.unlink()
    elif change == "loosen the policy":  # contract and manifest changed together; the signature cannot follow
        contract = (package / "contract.json").read_bytes().replace(b'"reject"', b'"flag"')
        (package / "contract.json").write_bytes(contract)
        manifest = json.loads(path.read_text())
        manifest["files"]["contract.json"]["sha256"] = hashlib.sha256(contract).hexdigest()
        path.write_text(json.dumps(manifest))
    elif change == "add a file":
        path.write_text("import os\n")
    else:
        other = Ed25519PrivateKey.generate()
        record = json.loads(path.read_text())
        record["signature"] = base64.b64encode(other.sign((package / "manifest.json").read_bytes())).decode()
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
        record["public_key"] = base64.b64encode(other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
        path.write_text(json.dumps(record))
    with pytest.raises(PlanRefused) as refused:
        load_plan(package, trusted_key=built["key"])
    assert words in str(refused.value) and refused.value.file == file


def test_the_wrong_trusted_key_and_a_missing_package_are_refused(built: dict[str, Any], tmp_path: Path) -> None:
    import base64

    with pytest.raises(PlanRefused, match="which is not the trusted key"):
        load_plan(built["package"], trusted_key=base64.b64encode(bytes(32)).decode())
    with pytest.raises(PlanRefused, match="base64 of 32 raw Ed25519 bytes"):
        load_plan(built["package"], trusted_key="not a key")
    with pytest.raises(PlanRefused, match="is not a scoring-plan package"):
        load_plan(tmp_path / "nowhere", trusted_key=built["key"])
    files = {p.name: p.read_bytes() for p in built["package"].iterdir()}  # as a cluster job broadcasts them
    assert load_plan(files, trusted_key=built["key"]).version == 1


def test_no_plan_and_a_used_directory_are_refused_in_one_line(built: dict[str, Any], cli: Callable[..., Any],
                                                              tmp_path: Path) -> None:
    home = built["home"]
    no_plan = cli("plan", "export", "team", "1", tmp_path / "team.plan", "--home", home)
    assert no_plan.code == 2 and no_plan.err.count("\n") == 1 and "Traceback" not in no_plan.err
    assert "team v1 has no scoring plan to export (its step QuantileTransformer has no array form" in no_plan.err
    assert "retrain it with such an estimator to export a plan" in no_plan.err
    assert not (tmp_path / "team.plan").exists()
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    taken = cli("plan", "export", "delay", "1", used, "--home", home)
    assert taken.code == 2 and "exists and is not empty; export a plan into a new or empty directory" in taken.err
    assert sorted(p.name for p in used.iterdir()) == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("plan", "export", "delay", "1", empty, "--home", home).code == 0 and (empty / "plan.npz").exists()
    assert query(home, "SELECT count(*) FROM audit_log WHERE action = 'plan.export' AND model_name = 'team'") == [(0,)]


def test_the_runtime_imports_neither_duckdb_nor_scikit_learn_nor_polars(built: dict[str, Any]) -> None:
    probe = (
        "import sys\n"
        "import pyarrow.parquet as pq\n"
        "from appliance.plans.portable import load_plan\n"
        f"scored = load_plan({str(built['package'])!r}, trusted_key={built['key']!r}).score("
        f"pq.read_table({str(built['rows'])!r}))\n"
        "heavy = {'duckdb', 'sklearn', 'polars', 'pydantic', 'skops', 'waitress', 'appliance.store', 'appliance.daemon'}\n"
        "print(scored.num_rows, sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    rows = pq.read_metadata(built["rows"]).num_rows
    assert done.returncode == 0 and done.stdout.split("\n")[0] == f"{rows} []", done.stderr


def test_exporting_needs_the_operator_role_with_and_without_the_daemon(built: dict[str, Any], tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(built["home"], home)

    def vigil(*args: Any, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **({"VIGIL_TOKEN": token} if token else {})}
        return subprocess.run([str(VIGIL), *map(str, args), "--home", str(home)], capture_output=True, text=True,
                              env=env, timeout=120)

    assert vigil("users", "add", current_account(), "--role", "admin").returncode == 0
    viewer = token_of(vigil("users", "add", "vera", "--role", "viewer").stdout)
    operator = token_of(vigil("users", "add", "otto", "--role", "operator").stdout)
    denied = vigil("plan", "export", "delay", "1", tmp_path / "vera.plan", token=viewer)
    assert denied.returncode == 2 and "vera (viewer) may not run 'plan_export'; it needs the operator role" in denied.stderr
    assert vigil("plan", "export", "delay", "1", tmp_path / "otto.plan", token=operator).returncode == 0
    daemon = start_daemon(home, tmp_path / "daemon.log")
    try:
        status, error = op(daemon, viewer, "plan_export", {"name": "delay", "version": 1, "directory": "vera.plan"})
        assert status == 403 and "operator role" in error["message"]
        status, result = op(daemon, operator, "plan_export", {"name": "delay", "version": 1, "directory": "otto.plan"})
        assert status == 200 and result["directory"] == str((home / "exports" / "otto.plan").resolve())
        status, error = op(daemon, operator, "plan_export", {"name": "delay", "version": 1,
                                                             "directory": str(tmp_path / "outside.plan")})
        assert status == 400 and "outputs go only under" in error["message"]
    finally:
        daemon.stop()
    assert load_plan(home / "exports" / "otto.plan", trusted_key=built["key"]).key_id == \
        load_plan(built["package"], trusted_key=built["key"]).key_id
    assert query(home, "SELECT action, actor, coalesce(details->>'operation', '') FROM audit_log WHERE action IN "
                       "('plan.export', 'access.denied') ORDER BY id")[-4:] == [
        ("access.denied", "vera", "plan_export"), ("plan.export", "otto", ""), ("access.denied", "vera", "plan_export"),
        ("plan.export", "otto", "")]
