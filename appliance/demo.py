"""`vigil demo`: Vigil's lifecycle on the shipped flights sample, told step by step with its numbers.

The demo home (default `./vigil-demo`) is recreated on each run; Vigil only ever deletes a folder
that carries its demo marker file.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from appliance.context import AppContext, open_context
from appliance.contracts.validation import validate_frame
from appliance.errors import HomeError
from appliance.home import Home
from appliance.initialise import initialise
from appliance.registry.aliases import move_alias
from appliance.registry.contracts import current_contract
from appliance.registry.lineage import creator
from appliance.store.sql_console import run_read_only
from appliance.training.frames import read_frame
from appliance.training.reproduction import reproduce
from appliance.training.spec import parse_spec
from appliance.training.trainer import Registered, train_version
from appliance.demo_traffic import serve_and_score

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
SPEC = SAMPLE_DIR / "flight_delay.toml"
MARKER = ".vigil-demo"
FIRST_CUTOFF = "2013-07-01"
SECOND_CUTOFF = "2013-09-01"

Say = Callable[[str], None]


def run_demo(root: Path, *, fast: bool, say: Say = print) -> None:
    home = _fresh_home(root)
    say(f"1. Initialise a Vigil home at {home.root}")
    say(f"   {len(initialise(home))} migration(s) applied; store, artifacts/, datasets/ and vigil.toml created.")
    settings = "[jobs]\ndrift_retrain_windows = 2\n"
    if fast:
        settings += "[training]\nbootstrap_samples = 100\n"
    home.config_path.write_text(settings, encoding="utf-8")
    with open_context(home) as ctx:
        first = _train(ctx, home, FIRST_CUTOFF, fast, "first model: January to June 2013", say, step=2)
        move_alias(ctx.store, "flight_delay", "champion", first.version, actor=creator(),
                   reason="demo: first champion")
        say(f"3. Promote v{first.version} to champion (recorded in the deployments history and audit log).")
        second = _train(ctx, home, SECOND_CUTOFF, fast, "retrain with July and August", say, step=4)
        _contract_check(ctx, first.version, say)
        _reproduce(ctx, first.version, say)
        _audit(ctx, say)
    serve_and_score(home, second.version, rows=120 if fast else 600, say=say)
    say("")
    say(f"Explore it: vigil show flight_delay {second.version} --home {home.root}   (add --card for the model card)")
    say(f"            vigil sql \"SELECT * FROM deployments\" --home {home.root}")


def _fresh_home(root: Path) -> Home:
    if root.exists():
        if not (root / MARKER).exists():
            raise HomeError(f"{root} exists and is not a Vigil demo home; pass another --home for the demo")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("created by vigil demo; deleted and recreated by the next run\n", encoding="utf-8")
    return Home(root.resolve())


def _spec_text(cutoff: str, fast: bool) -> str:
    text = SPEC.read_text(encoding="utf-8").replace(f"TIMESTAMP '{FIRST_CUTOFF}'", f"TIMESTAMP '{cutoff}'")
    text = text.replace("'flights.parquet'", f"'{(SAMPLE_DIR / 'flights.parquet').as_posix()}'")
    if fast:
        text = text.replace("max_iter = 200", "max_iter = 60")
    return text


def _train(ctx: AppContext, home: Home, cutoff: str, fast: bool, reason: str, say: Say, *, step: int) -> Registered:
    spec_path = home.root / "specs" / f"flight_delay_until_{cutoff}.toml"
    spec_path.parent.mkdir(exist_ok=True)
    spec_path.write_text(_spec_text(cutoff, fast), encoding="utf-8")
    loaded = parse_spec(spec_path.read_text(encoding="utf-8"), str(spec_path), spec_path)
    say(f"{step}. Train on flights scheduled before {cutoff} ({reason})")
    result = train_version(ctx, loaded, actor=creator(), reason=reason)
    m = result.metrics
    say(f"   v{result.version}: holdout ROC AUC {m['roc_auc']:.3f}, Brier {m['brier']:.3f}, ECE {m['ece']:.3f}; "
        f"snapshot {result.snapshot_id[:12]}, artifact {result.artifact_sha256[:12]}")
    c = result.comparison or {}
    if "verdict" in c:
        say(f"   against champion v{c['champion_version']} on the same holdout rows: AUC difference "
            f"{c['difference']:+.3f} (95% interval {c['ci_low']:+.3f} to {c['ci_high']:+.3f}) -> {c['verdict']}")
    else:
        say(f"   {c.get('note', '')}")
    return result


def _contract_check(ctx: AppContext, version: int, say: Say) -> None:
    import polars as pl

    frame = read_frame(SAMPLE_DIR / "flights.parquet").filter(pl.col("month") == 12)
    _, contract = current_contract(ctx.store, "flight_delay", version)
    report = validate_frame(frame, contract)
    say(f"5. Check December's {report.row_count} flights against v{version}'s data contract "
        f"(inferred from January to June): {len(report.violations)} violation(s)")
    for violation in report.violations[:4]:
        say(f"   - {violation.describe()}")


def _reproduce(ctx: AppContext, version: int, say: Say) -> None:
    result = reproduce(ctx, "flight_delay", version)
    verdict = "identical" if result["predictions_match"] else "DIFFERENT"
    say(f"6. Reproduce v{version} from its recorded snapshot and spec: predictions on "
        f"{result['holdout_rows']} holdout rows are {verdict}.")


def _audit(ctx: AppContext, say: Say) -> None:
    columns, rows = run_read_only(ctx.store, """
        SELECT a.version AS champion, a.snapshot_id, d.row_count, d.time_min, d.time_max,
               a.updated_by AS promoted_by, a.updated_at AS promoted_at
        FROM current_aliases a JOIN dataset_snapshots d USING (snapshot_id)
        WHERE a.model_name = 'flight_delay' AND a.alias = 'champion'""")
    row = dict(zip(columns, rows[0]))
    say("7. An auditor asks: what data trained the champion, and who put it there? (docs/audit-sql.md)")
    say(f"   v{row['champion']} was trained on snapshot {row['snapshot_id'][:12]} ({row['row_count']} rows, "
        f"{row['time_min']:%Y-%m-%d} to {row['time_max']:%Y-%m-%d}); promoted by {row['promoted_by']} "
        f"at {row['promoted_at']:%Y-%m-%d %H:%M} UTC.")
