"""`vigil demo`: Vigil's lifecycle on the shipped flights sample, told step by step with its numbers.

Two demo users act on it, both approvers: dana requests promotions and rolls back; sam approves
what dana requests (she cannot approve her own requests). Labelled flights "land" in the home's `landing/` folder as a data pipeline would deliver
them; the model's spec reads that folder, so a retrain sees the data that arrived since.

The demo home (default `./vigil-demo`) is recreated on each run; Vigil only ever deletes a folder
that carries its demo marker file.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from appliance.home import Home
from appliance.store import demo_queries as dq

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
SPEC = SAMPLE_DIR / "flight_delay.toml"
MARKER = ".vigil-demo"
FIRST_CUTOFF = "2013-07-01"
LANDED_CUTOFF = "2013-12-01"

Say = Callable[[str], None]
OnStep = Callable[[int, "Demo"], None]

SETTINGS = """\
# The demo's settings (docs/configuration.md): drift retrains after two critical windows, and the
# canary is judged after a short run and reported, so that a person decides on the promotion. Its
# limits are wide because the demo's canary runs for seconds, not the default half hour: p95 of a
# few dozen requests is noisy, and v2 learned the autumn's lower delay rate, so its scores shift.
[jobs]
drift_retrain_windows = 2

[canary]
min_seconds = 2
min_requests = 20
max_latency_p95_ratio = 3.0
max_score_psi = 1.0
on_pass = "report"
on_fail = "report"

# Who answers for the model: named on its alerts, incidents and reports; the costs price its breaches.
[owners.models.flight_delay]
team = "flight-ops"
contact = "oncall-flight-ops@example.com"
cost_per_failed_request = 0.02
cost_per_wrong_decision = 0.5
currency = "EUR"
"""


@dataclass
class Demo:
    """What the steps share: the home, the users' tokens, the daemon's URL once it runs."""

    home: Home
    fast: bool
    say: Say
    tokens: dict[str, str]
    url: str = ""

    def call(self, name: str, args: dict[str, Any], user: str | None = None) -> Any:
        """An operation as `user` (through the daemon once it runs; as the OS user, the admin, by default)."""
        from appliance.admin_client import AdminClient

        return AdminClient(self.home, token=self.tokens.get(user or "")).call(name, args)

    def sql(self, query: str) -> list[list[Any]]:
        return list(self.call("sql", {"query": query})["rows"])


def run_demo(root: Path, *, fast: bool, say: Say = print, on_step: OnStep | None = None,
             keep_running: bool = False) -> None:
    from appliance.demo.traffic import serve_story

    demo = Demo(_fresh_home(root), fast, say, {})
    step = on_step or (lambda n, d: None)
    _initialise(demo)
    step(1, demo)
    _land(demo, FIRST_CUTOFF, "flights_2013_h1.parquet")
    first = _train(demo)
    step(2, demo)
    _first_champion(demo, first)
    step(3, demo)
    _contract_and_reproduce(demo, first)
    step(4, demo)
    serve_story(demo, step, keep_running=keep_running)


def _fresh_home(root: Path) -> Home:
    from appliance.errors import HomeError

    if root.exists():
        if not (root / MARKER).exists():
            raise HomeError(f"{root} exists and is not a Vigil demo home; pass another --home for the demo")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("created by vigil demo; deleted and recreated by the next run\n", encoding="utf-8")
    return Home(root.resolve())


def _initialise(demo: Demo) -> None:
    from appliance.home.initialise import initialise
    from appliance.core.identity import current_account

    home = demo.home
    applied = initialise(home)
    home.config_path.write_text(SETTINGS + ("[training]\nbootstrap_samples = 100\n" if demo.fast else ""),
                                encoding="utf-8")
    me = current_account()
    demo.call("user_add", {"name": me, "role": "admin"})
    demo.tokens[me] = ""
    for name, role in (("dana", "approver"), ("sam", "approver")):
        demo.tokens[name] = str(demo.call("user_add", {"name": name, "role": role})["token"])
    demo.say(f"1. Initialise a Vigil home at {home.root}")
    demo.say(f"   {len(applied)} migrations applied; users: {me} (admin), dana and sam (approvers)")


def _land(demo: Demo, cutoff: str, name: str, after: str | None = None) -> int:
    """Deliver labelled flights scheduled before `cutoff` (and from `after`) into `landing/`."""
    import polars as pl

    frame = pl.read_parquet(SAMPLE_DIR / "flights.parquet")
    frame = frame.filter(pl.col("time_hour") < pl.lit(cutoff).str.to_datetime())
    if after is not None:
        frame = frame.filter(pl.col("time_hour") >= pl.lit(after).str.to_datetime())
    landing = demo.home.root / "landing"
    landing.mkdir(exist_ok=True)
    frame.write_parquet(landing / name)
    return frame.height


def _spec_text(demo: Demo) -> str:
    text = SPEC.read_text(encoding="utf-8")
    source = (demo.home.root / "landing" / "*.parquet").as_posix()
    text = text.replace(dq.sample_source(FIRST_CUTOFF), dq.landed_source(source))
    if demo.fast:
        text = text.replace("max_iter = 200", "max_iter = 60")
    return text


def _train(demo: Demo) -> int:
    spec_path = demo.home.root / "specs" / "flight_delay.toml"
    spec_path.parent.mkdir(exist_ok=True)
    spec_path.write_text(_spec_text(demo), encoding="utf-8")
    demo.say("2. Train v1 on the flights that have landed: January to June 2013")
    result = demo.call("train", {"spec": str(spec_path), "reason": "first model: January to June 2013"},
                       user="dana")
    m = result["metrics"]
    demo.say(f"   v{result['version']}: holdout ROC AUC {m['roc_auc']:.3f}, Brier {m['brier']:.3f}, "
             f"ECE {m['ece']:.3f}; snapshot {result['snapshot_id'][:12]}, artifact {result['artifact_sha256'][:12]}")
    return int(result["version"])


def _first_champion(demo: Demo, version: int) -> None:
    from appliance.errors import Forbidden

    request = demo.call("promote", {"name": "flight_delay", "version": version, "alias": "champion",
                                    "reason": "first model, reviewed"}, user="dana")
    passed = sum(g["passed"] for g in request["gates"])
    demo.say(f"3. dana requests v{version} as champion: {passed} of {len(request['gates'])} release gates pass; "
             f"request {request['request_id']} is {request['status']}")
    try:
        demo.call("approve", {"id": request["request_id"]}, user="dana")
    except Forbidden as e:
        demo.say(f"   dana tries to approve it herself: refused ({e}) — four eyes, and the refusal is audited")
    approved = demo.call("approve", {"id": request["request_id"]}, user="sam")
    demo.say(f"   sam approves: champion is v{approved['version']} (request {approved['status']})")


def _contract_and_reproduce(demo: Demo, version: int) -> None:
    import polars as pl

    from appliance.home.context import open_context
    from appliance.contracts.validation import validate_frame
    from appliance.registry.contracts import current_contract
    from appliance.training.frames import read_frame
    from appliance.training.reproduction import reproduce

    frame = read_frame(SAMPLE_DIR / "flights.parquet").filter(pl.col("month") == 12)
    with open_context(demo.home) as ctx:
        _, contract = current_contract(ctx.store, "flight_delay", version)
        report = validate_frame(frame, contract)
        demo.say(f"4. Check December's {report.row_count} flights against v{version}'s data contract: "
                 f"{len(report.violations)} violation(s)")
        for violation in report.violations[:3]:
            demo.say(f"   - {violation.describe()}")
        result = reproduce(ctx, "flight_delay", version)
    verdict = "identical" if result["predictions_match"] else "DIFFERENT"
    demo.say(f"   v{version} reproduced from its recorded snapshot and spec: predictions on "
             f"{result['holdout_rows']} holdout rows are {verdict}")
