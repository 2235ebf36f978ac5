"""Writing reports: `vigil report NAME --out FILE.html` and the weekly report job, which writes every
served model's report into `<home>/reports/`. Each report written is a `reports` row and an audit
record; the file is written whole or not at all (a private temporary file linked into place), and
never replaces an existing file (appliance/access/output_paths.py)."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path
from typing import Any

from appliance.access.output_paths import new_file, require_absent
from appliance.clock import utc_now
from appliance.home.context import AppContext
from appliance.errors import ReportError
from appliance.store import registry_queries as q
from appliance.store import report_queries as rpq

REPORTS_DIR = "reports"


def write_report(ctx: AppContext, model_name: str, window: str, out: Path, *, trigger: str, actor: str,
                 write_lock: Any = None) -> dict[str, Any]:
    from appliance.reports.content import report_content
    from appliance.reports.html import render

    if out.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"the report is HTML: name the output FILE.html, not '{out.name}'")
    out = require_absent(out.resolve())
    content = report_content(ctx, model_name, window)
    data = render(content).encode("utf-8")
    try:
        with new_file(out) as partial:
            partial.write_bytes(data)
    except OSError as e:
        raise ReportError(f"cannot write the report to {out}: {e.strerror or e}") from e
    row = {"model_name": model_name, "version": content["champion"], "window_start": content["window_start"],
           "window_end": content["window_end"], "path": str(out), "bytes": len(data),
           "sha256": hashlib.sha256(data).hexdigest(), "trigger": trigger, "created_at": utc_now(),
           "created_by": actor}
    with write_lock if write_lock is not None else contextlib.nullcontext(), ctx.store.transaction():
        report_id = rpq.insert_report(ctx.store, row)
        q.insert_audit(ctx.store, row["created_at"], actor, "report.write", model_name, content["champion"],
                       {"window": window, "path": str(out), "sha256": row["sha256"]}, subject=f"report:{report_id}",
                       after={"path": str(out), "bytes": len(data)})
    charts = {"traffic": bool(content["traffic"]), "drift": len((content["drift"] or {}).get("histograms", []))}
    return {"report_id": report_id, **row, "charts": charts}


def scheduled_reports(ctx: AppContext, window: str, trigger: str, *, write_lock: Any = None) -> dict[str, Any]:
    """The report of every model with a champion into <home>/reports/NAME-YYYY-MM-DDTHHMM.html. A model
    whose report fails does not stop the others; the run fails afterwards, naming it."""
    models = rpq.champion_models(ctx.store)
    written, failed = [], {}
    for model_name in models:
        out = default_path(ctx, model_name)
        try:
            done = write_report(ctx, model_name, window, out, trigger=trigger, actor="vigil-jobs",
                                write_lock=write_lock)
            written.append({"model": model_name, "report_id": done["report_id"], "path": done["path"]})
        except Exception as e:  # noqa: BLE001 - one model's failure is reported with the others'
            failed[model_name] = f"{type(e).__name__}: {e}"
    if failed:
        raise ReportError("report failed for " + "; ".join(f"{m}: {why}" for m, why in failed.items())
                            + f" (written: {', '.join(w['model'] for w in written) or 'none'})")
    return {"written": written}


def default_path(ctx: AppContext, model_name: str) -> Path:
    """<home>/reports/NAME-YYYY-MM-DDTHHMM.html (UTC), or NAME-YYYY-MM-DDTHHMM-N.html when a report of
    that minute exists (reports never replace a file)."""
    stem = f"{model_name}-{utc_now():%Y-%m-%dT%H%M}"
    folder = ctx.home.root / REPORTS_DIR
    found, n = folder / f"{stem}.html", 1
    while found.exists():
        n += 1
        found = folder / f"{stem}-{n}.html"
    return found


def list_reports(ctx: AppContext, model_name: str | None, limit: int) -> list[dict[str, Any]]:
    """Reports written, newest first, each saying whether its file is still there."""
    return [{**r, "exists": Path(r["path"]).is_file()} for r in rpq.list_reports(ctx.store, model_name, limit)]
