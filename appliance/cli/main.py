"""`vigil`: argument parsing and the one place that turns Vigil's errors into exit code 2.

Only argparse is imported up front; each command imports what it needs when it runs, so
`vigil --help` and `vigil models` start fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]
# Where the daemon writes the files a caller names (appliance/access/output_paths.py).
_CONFINED = "with the daemon running: under <home>/exports/ or [exports] allowed_dirs"


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line and exit code 2, like every other CLI error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"vigil: error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def _home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", metavar="DIR", help="Vigil home (default: $VIGIL_HOME, else ./vigil-home)")


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def _store_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create a private home (0700; files 0600): store, artifacts/, datasets/, "
                                    "exports/, vigil.toml")
    _home(p)
    p = sub.add_parser("migrate", help="apply pending store migrations (or list them with --status)")
    _home(p)
    p.add_argument("--status", action="store_true", help="list migrations and their state; change nothing")
    _json(p)
    p = sub.add_parser("sql", help="run one read-only SQL query over the store (limits: [sql] in vigil.toml)")
    _home(p)
    p.add_argument("query", help="one SELECT (or SHOW, DESCRIBE, EXPLAIN) statement")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


def _training_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train and register a new version from a training spec")
    _home(p)
    p.add_argument("--spec", required=True, metavar="FILE", help="training spec (TOML)")
    p.add_argument("--reason", default="", help="why this version is trained")
    _json(p)
    p = sub.add_parser("import",
                       help="register a model trained elsewhere (a model file or an MLflow model directory; "
                            "joblib/pickle with --trust, admin only)")
    _home(p)
    p.add_argument("name", help="model name")
    p.add_argument("file", help="model file (.skops; XGBoost .json/.ubj, LightGBM .txt, CatBoost .cbm/.json; "
                                ".joblib/.pkl/.pickle with --trust), or an MLflow model directory (with its MLmodel)")
    p.add_argument("--spec", required=True, metavar="SPEC", help="training spec giving its data and features")
    p.add_argument("--trust", action="store_true",
                   help="admin only: allow joblib/pickle files, which run code when loaded; audited first, loaded "
                        "in a separate process and stored as skops")
    p.add_argument("--reason", default="", help="why this version is imported")
    _json(p)
    p = sub.add_parser("reproduce", help="retrain a version from its snapshot and spec; compare predictions")
    _home(p)
    p.add_argument("name")
    p.add_argument("version", type=int)
    _json(p)


def _registry_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list models with their aliases")
    _home(p)
    _json(p)
    p = sub.add_parser("versions", help="list a model's versions")
    _home(p)
    p.add_argument("name")
    _json(p)
    p = sub.add_parser("show", help="a version's lineage, metrics, comparison and contract")
    _home(p)
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.add_argument("--card", action="store_true", help="print the model card (Markdown)")
    _json(p)
    p = sub.add_parser("promote", help="point an alias (champion, challenger, canary, shadow) at a version")
    _home(p)
    p.add_argument("name")
    p.add_argument("version", type=int)
    p.add_argument("--to", required=True, dest="alias", metavar="ALIAS")
    p.add_argument("--reason", required=True)
    p.add_argument("--percent", type=float, help="canary only: share of requests it answers (default 10)")
    _json(p)


def _contract_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("contract", help="export, edit or check a version's data contract")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    e = verbs.add_parser("export", help="print the contract as TOML")
    _home(e)
    e.add_argument("name")
    e.add_argument("version", type=int)
    e.add_argument("--out", metavar="FILE", help="write to FILE instead of printing")
    a = verbs.add_parser("apply", help="store an edited contract (TOML) as the version's new revision")
    _home(a)
    a.add_argument("name")
    a.add_argument("version", type=int)
    a.add_argument("file")
    a.add_argument("--reason", required=True)
    c = verbs.add_parser("check", help="validate a Parquet/CSV file against the contract")
    _home(c)
    c.add_argument("name")
    c.add_argument("version", type=int)
    c.add_argument("file")
    _json(c)


def _monitoring_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("drift", help="drift of a served model's recent inputs, or between two data files")
    _home(p)
    p.add_argument("name", nargs="?", help="model: its training rows against its logged requests")
    p.add_argument("--window", default="24h", help="with NAME: how far back to look, e.g. 30m, 24h, 7d")
    p.add_argument("--version", type=int, help="with NAME: the version to check (default: the champion)")
    p.add_argument("--reference-window", metavar="SPAN",
                   help="with NAME: compare with the traffic of the SPAN before the window, not the training rows")
    p.add_argument("--reference", metavar="FILE", help="without NAME: reference data (.parquet or .csv)")
    p.add_argument("--current", metavar="FILE", help="without NAME: current data (.parquet or .csv)")
    p.add_argument("--columns", metavar="A,B", help="without NAME: only these columns (default: all shared)")
    _json(p)
    p = _model_window(sub, "outcomes", "a model's performance on feedback labels, label coverage and delay", "7d")
    p.add_argument("--bucket", default="1d", help="rolling buckets within the window, e.g. 1h, 1d")
    _model_window(sub, "system", "a model's requests/s, client-error rate and latency per minute", "1h")
    _model_window(sub, "quality", "data quality of a model's recent traffic", "1h")


def _alert_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="run the monitoring checks now (what the monitor job does)")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    r = verbs.add_parser("run", help="check models over the last window and apply the alert rules")
    _home(r)
    r.add_argument("names", nargs="*", metavar="NAME", help="models to check (default: every served model)")
    r.add_argument("--window", help="window to check (default: jobs.monitor_every)")
    _json(r)
    p = sub.add_parser("alerts", help="open alerts (and the rules, and muting)")
    _home(p)
    p.add_argument("--all", action="store_true", help="also resolved alerts")
    p.add_argument("--model", help="only this model's alerts")
    _json(p)
    verbs = p.add_subparsers(dest="verb", required=False, parser_class=_Parser)
    r = verbs.add_parser("rules", help="the alert rules in force, as alerts.toml text")
    _home(r)
    _json(r)
    m = verbs.add_parser("mute", help="mute a rule for a while (its alerts are recorded, not routed)")
    _home(m)
    m.add_argument("rule")
    m.add_argument("--model", help="only for this model (default: every model)")
    m.add_argument("--for", dest="duration", required=True, metavar="SPAN", help="how long, e.g. 2h, 1d")
    m.add_argument("--reason", required=True)
    _json(m)
    p = sub.add_parser("incidents", help="open incidents and MTTR")
    _home(p)
    p.add_argument("--all", action="store_true", help="also resolved incidents")
    _json(p)
    p = sub.add_parser("incident", help="show, acknowledge, annotate, resolve an incident; export a postmortem")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    for verb, text in (("show", "the incident and its timeline"), ("ack", "acknowledge it (you are on it)"),
                       ("note", "add a note to its timeline"), ("resolve", "resolve it"),
                       ("postmortem", "a Markdown postmortem drafted from its timeline")):
        v = verbs.add_parser(verb, help=text)
        _home(v)
        v.add_argument("id", type=int)
        if verb == "note":
            v.add_argument("text")
        if verb == "resolve":
            v.add_argument("--resolution", required=True, help="what fixed it")
        _json(v)
    p = sub.add_parser("dashboard", help="latency percentiles, requests per minute and worst drift of a model")
    _home(p)
    p.add_argument("name")
    p.add_argument("--window", default="1h", help="how far back, e.g. 1h, 7d")
    _json(p)
    p = sub.add_parser("jobs", help="recent runs of the scheduled jobs")
    _home(p)
    p.add_argument("--job", choices=["monitor", "rollup", "retention", "retrain", "canary"], help="only this job")
    p.add_argument("--limit", type=int, default=20)
    _json(p)
    p = sub.add_parser("approve", help="approve a pending promotion request (not your own)")
    _home(p)
    p.add_argument("id", type=int)
    _json(p)
    p = sub.add_parser("reject", help="reject a pending promotion request")
    _home(p)
    p.add_argument("id", type=int)
    p.add_argument("--reason", required=True)
    _json(p)
    p = sub.add_parser("requests", help="pending promotion requests (--all: every one, with its decision)")
    _home(p)
    p.add_argument("--all", action="store_true")
    _json(p)
    p = sub.add_parser("rollback", help="point champion back at the last known-good version, after a pre-flight")
    _home(p)
    p.add_argument("name")
    p.add_argument("--to", type=int, help="an earlier champion to roll back to (default: the most recent earlier "
                   "champion whose last time as champion did not end in a rollback); any other version needs "
                   "`vigil promote`")
    p.add_argument("--reason", required=True)
    _json(p)
    p = sub.add_parser("audit", help="the audit log's hash chain")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("verify", help="recompute the chain; name the first changed, removed or inserted row")
    _home(v)
    _json(v)
    v = verbs.add_parser("export", help="write the audit log, lineage, deployments and incidents as Parquet")
    _home(v)
    v.add_argument("directory", help=f"created if missing; must not hold an earlier export ({_CONFINED})")
    v.add_argument("--openlineage", action="store_true",
                   help="also write OpenLineage run events (snapshot in, version out) to DIR/openlineage/")
    _json(v)
    p = sub.add_parser("explain-request", help="which version answered a request, with what, and does it reproduce")
    _home(p)
    p.add_argument("request_id")
    _json(p)
    p = sub.add_parser("users", help="users and roles (viewer, operator, approver, admin)")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("add", help="add a user; prints their token once (a revoked name can be added again, with a new token)")
    _home(v)
    v.add_argument("name")
    v.add_argument("--role", required=True, choices=["viewer", "operator", "approver", "admin"])
    _json(v)
    v = verbs.add_parser("list", help="users, roles, who added them; revoked tokens stay listed")
    _home(v)
    _json(v)
    v = verbs.add_parser("revoke", help="revoke a user's token")
    _home(v)
    v.add_argument("name")
    _json(v)
    p = sub.add_parser("whoami", help="who Vigil takes you for (your token's user, else the OS account of your uid, never $USER), and your role")
    _home(p)
    _json(p)
    _retention_commands(sub)
    _code_commands(sub)
    _backup_commands(sub)
    _bundle_commands(sub)
    _datasheet_commands(sub)
    _score_command(sub)
    _report_commands(sub)
    p = sub.add_parser("retrain", help="retrain a model from its current spec on fresh data (a new challenger)")
    _home(p)
    p.add_argument("name")
    p.add_argument("--reason", required=True, help="why (kept in the version's lineage and audit log)")
    _json(p)


def _backup_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="a consistent copy of the home (store and files), also while the daemon runs")
    _home(p)
    p.add_argument("directory", help="a new or empty directory outside the home, or under <home>/exports/ "
                                     f"({_CONFINED})")
    _json(p)
    p = sub.add_parser("export", help="logs, lineage and audit as partitioned Parquet for a fleet's lake (incremental, "
                                      "each row once even after a failed run)")
    _home(p)
    p.add_argument("directory", help=f"where to write (shared by many boxes, e.g. a mounted bucket; {_CONFINED})")
    p.add_argument("--box", help="this box's name in the partitions (default: the host name)")
    p.add_argument("--full", action="store_true", help="export everything again, replacing this box's files in "
                                                       "the directory")
    _json(p)
    p = sub.add_parser("restore", help="make a home from a backup (the daemon must be stopped)")
    _home(p)
    p.add_argument("directory", help="a directory written by `vigil backup`")
    p.add_argument("--replace", action="store_true",
                   help="restore over an existing store (kept as vigil.duckdb.before-restore-TIME)")
    _json(p)


def _bundle_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="this box's signing key, and the keys whose bundles it trusts")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("init", help="create this box's Ed25519 signing key (once; it never leaves the box)")
    _home(v)
    _json(v)
    v = verbs.add_parser("show", help="this box's public key and key id, to give to boxes that import its bundles")
    _home(v)
    _json(v)
    v = verbs.add_parser("trust", help="accept bundles signed by this public key")
    _home(v)
    v.add_argument("name")
    v.add_argument("public_key", help="base64, as `vigil keys show` prints it on the exporting box")
    _json(v)
    v = verbs.add_parser("distrust", help="stop accepting bundles signed by a key")
    _home(v)
    v.add_argument("name")
    _json(v)
    v = verbs.add_parser("list", help="the trusted keys")
    _home(v)
    _json(v)
    p = sub.add_parser("bundle", help="signed model bundles for boxes without a network")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("export", help="write a version as one signed file")
    _home(v)
    v.add_argument("name")
    v.add_argument("version", type=int)
    v.add_argument("file", help=f"a new file, never an existing one ({_CONFINED})")
    _json(v)
    v = verbs.add_parser("import", help="verify a signed bundle and register its version")
    _home(v)
    v.add_argument("file")
    v.add_argument("--reason", default="", help="why (kept in the lineage and audit log)")
    _json(v)


def _score_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score a Parquet/CSV file or a DuckDB query with a version (batch)")
    _home(p)
    p.add_argument("name")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="a Parquet or CSV file")
    source.add_argument("--query", help="a DuckDB SELECT")
    p.add_argument("--output", required=True, help=f"the scored rows (Parquet): a new file ({_CONFINED})")
    p.add_argument("--rejects", help="rows refused by the contract, with reasons (default: OUTPUT.rejects.parquet); "
                                     "a new file")
    p.add_argument("--version", type=int, help="a version (default: the champion)")
    _json(p)


def _report_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a model's report over a window as one self-contained HTML file")
    _home(p)
    p.add_argument("name")
    p.add_argument("--window", default="7d", help="how far back the report looks, e.g. 24h, 7d, 30d")
    p.add_argument("--out", help="the HTML file to write, a new one (default: <home>/reports/NAME-<UTC time>.html; "
                                 f"{_CONFINED})")
    _json(p)
    p = sub.add_parser("reports", help="reports written (by `vigil report` and the weekly report job)")
    _home(p)
    p.add_argument("--model", help="only this model's reports")
    p.add_argument("--limit", type=int, default=50, help="at most this many, newest first")
    _json(p)


def _datasheet_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasheet", help="the datasheet of a dataset snapshot")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    for verb, help_text in (("show", "print a snapshot's datasheet (Markdown)"),
                            ("edit", "record how the data was collected and its known limitations")):
        v = verbs.add_parser(verb, help=help_text)
        _home(v)
        v.add_argument("ref", help="a snapshot id (8+ characters), or a model NAME followed by VERSION")
        v.add_argument("version", nargs="?", type=int)
        if verb == "edit":
            v.add_argument("--collection", help="how the data was collected")
            v.add_argument("--limitations", help="what the data does not cover, or gets wrong")
        _json(v)
    v = verbs.add_parser("regenerate", help="measure the column profile again (one snapshot, or all)")
    _home(v)
    v.add_argument("ref", nargs="?")
    _json(v)


def _retention_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("retention", help="retention of logged inputs and archived versions' artifacts")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("run", help="apply the retention policies now (the daemon's job does it daily)")
    _home(v)
    v.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete nothing")
    v.add_argument("--inputs-days", type=int, help="delete logged inputs older than this (default: jobs.retention_days)")
    v.add_argument("--artifact-days", type=int,
                   help="delete artifacts archived longer than this (default: jobs.artifact_retention_days)")
    _json(v)
    v = verbs.add_parser("status", help="each version: aliases, archived since, holds, pending requests, deleted")
    _home(v)
    v.add_argument("name", nargs="?")
    _json(v)
    p = sub.add_parser("holds", help="audit holds: keep a model's artifacts and logged inputs from retention")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("add", help="hold a version (or every version of a model)")
    _home(v)
    v.add_argument("name")
    v.add_argument("--version", type=int, help="one version (default: every version of the model)")
    v.add_argument("--reason", required=True, help="the case or ticket the hold is for")
    _json(v)
    v = verbs.add_parser("list", help="active holds")
    _home(v)
    v.add_argument("--all", action="store_true", help="released holds too")
    _json(v)
    v = verbs.add_parser("release", help="release a hold (admin)")
    _home(v)
    v.add_argument("id", type=int)
    v.add_argument("--reason", required=True)
    _json(v)


def _code_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("code", help="a team's own code shipped with a spec: its hash, and an admin's trust in it")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    v = verbs.add_parser("hash", help="the sha256 of the code a spec ships, and its files (to review before trusting)")
    v.add_argument("--spec", required=True)
    _json(v)
    v = verbs.add_parser("trust", help="trust exactly the code a spec ships now (admin); models using it may be "
                                       "imported and served, always in a separate process")
    _home(v)
    v.add_argument("--spec", required=True)
    v.add_argument("--reason", required=True, help="who reviewed it and why it is trusted")
    _json(v)
    v = verbs.add_parser("list", help="trusted code archives, with who trusted or revoked them")
    _home(v)
    _json(v)
    v = verbs.add_parser("revoke", help="stop trusting a code archive (admin): models shipping it no longer load")
    _home(v)
    v.add_argument("sha256")
    v.add_argument("--reason", required=True)
    _json(v)


def _model_window(sub: argparse._SubParsersAction, command: str, help_text: str,
                  default: str) -> argparse.ArgumentParser:
    """A per-model monitoring command: NAME, --window, --home, --json."""
    p = sub.add_parser(command, help=help_text)
    _home(p)
    p.add_argument("name")
    p.add_argument("--window", default=default, help="how far back to look, e.g. 15m, 24h, 7d")
    _json(p)
    return p


def _daemon_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("up", help="start the daemon: scoring API, admin API and scheduler")
    _home(p)
    p.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: server.port, 8700; 0 picks a free one)")
    p = sub.add_parser("tui", help="the on-call console (over the daemon's admin API; read-only when it is down)")
    _home(p)
    p.add_argument("--refresh", type=float, default=2.0, help="seconds between refreshes (default: 2)")
    p.add_argument("--theme", choices=["dark", "light"], default="dark",
                   help="colours for a dark or a light terminal (NO_COLOR=1: none)")
    p = sub.add_parser("api-keys", help="API keys for scoring clients")
    verbs = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    a = verbs.add_parser("add", help="create a key (printed once)")
    _home(a)
    a.add_argument("name")
    a.add_argument("--rate", type=float, help="requests per second allowed (default: no limit)")
    _json(a)
    li = verbs.add_parser("list", help="list keys (never the keys themselves)")
    _home(li)
    _json(li)
    r = verbs.add_parser("revoke", help="revoke a key")
    _home(r)
    r.add_argument("name")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vigil", description="Vigil keeps scikit-learn models working after go-live.")
    parser.add_argument("--version", action="version", version="vigil 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    _store_commands(sub)
    _training_commands(sub)
    _registry_commands(sub)
    _contract_commands(sub)
    _daemon_commands(sub)
    _monitoring_commands(sub)
    _alert_commands(sub)
    p = sub.add_parser("demo", help="run the demo on the shipped sample data")
    _home(p)
    p.add_argument("--fast", action="store_true", help="a smaller, quicker run (for tests)")
    return parser


def _handler(args: argparse.Namespace) -> Handler:
    from appliance.cli import (alert_commands, bundle_commands, code_commands, daemon_commands,
                               datasheet_commands, monitoring_commands, registry_commands, report_commands,
                               retention_commands, store_commands, training_commands)

    name = args.command.replace("-", "_")
    if getattr(args, "verb", None):
        name = f"{name}_{args.verb}"
    for module in (store_commands, training_commands, registry_commands, daemon_commands, monitoring_commands,
                   alert_commands, retention_commands, bundle_commands, datasheet_commands, report_commands,
                   code_commands):
        found = getattr(module, f"cmd_{name}", None)
        if found is not None:
            return found
    from appliance.cli import demo_command

    return demo_command.cmd_demo


def main(argv: Sequence[str] | None = None) -> int:
    from appliance.home import private_umask

    private_umask()  # whatever Vigil writes (homes, exports, reports, tokens) is the user's alone
    args = build_parser().parse_args(argv)
    from appliance.errors import VigilError

    try:
        return _handler(args)(args)
    except VigilError as e:
        sys.stderr.write(f"vigil: error: {_one_line(str(e))}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("vigil: interrupted\n")
        return 130


def _one_line(message: str) -> str:
    return " ".join(message.split())


if __name__ == "__main__":
    raise SystemExit(main())
