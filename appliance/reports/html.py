"""A report's content as one self-contained HTML file: inline CSS and SVG charts, no script, no
font, image or style sheet from anywhere else, so it opens the same on an air-gapped laptop."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any, Sequence

from appliance.core.windows import parse_window
from appliance.reports.charts import Series, histogram, time_chart
from appliance.reports.budget_html import budget_section
from appliance.reports.markup import empty
from appliance.reports.multivariate_html import multivariate_section

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; margin: 0; background: #f9fafb; }
main { max-width: 820px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 32px 0 8px; border-bottom: 1px solid #e5e7eb; }
.meta { color: #4b5563; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 8px 12px; min-width: 120px; }
.card b { display: block; font-size: 18px; } .card span { color: #4b5563; font-size: 12px; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: 6px 0; font-size: 13px; }
th, td { border: 1px solid #e5e7eb; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #15803d; } .warning { color: #b45309; font-weight: 600; } .critical { color: #b91c1c; font-weight: 700; }
.chart { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; margin: 6px 0; max-width: 100%; height: auto; }
.chart .grid { stroke: #f3f4f6; } .chart .axis { stroke: #9ca3af; } .chart .marker { stroke: #9333ea; stroke-dasharray: 4 3; }
.chart .marker-outside { stroke-width: 3; } .chart .marker-edge { fill: #9333ea; font-size: 13px; }
.chart .zoom-note { font-style: italic; fill: #4b5563; }
.chart text { font: 11px system-ui, sans-serif; fill: #374151; } .chart .chart-title { font-weight: 600; font-size: 12px; }
.empty { color: #6b7280; font-style: italic; }
footer { color: #6b7280; font-size: 12px; margin-top: 32px; }
"""


def render(content: dict[str, Any]) -> str:
    c = content
    title = f"{c['model']}: report for the last {c['window']}"
    body = [f"<h1>{escape(title)}</h1>",
            f'<p class="meta">{_when(c["window_start"])} to {_when(c["window_end"])} UTC · champion '
            f"{_version(c['champion'])} · {_aliases(c['aliases'])} · owner {escape(c.get('owner') or 'none')} · "
            f"generated {_when(c['generated_at'])} UTC</p>",
            _cards(c), _traffic(c), budget_section(c), _drift(c), multivariate_section(c), _scores(c), _holdout(c), _outcomes(c),
            _alerts(c), _releases(c),
            '<footer>Written by <code>vigil report</code>. Every number comes from the store; the same data answers SQL '
            "through <code>vigil sql</code> (tables <code>prediction_log</code>, <code>request_rollups</code>, "
            "<code>drift_results</code>, <code>alerts</code>, <code>incidents</code>, <code>version_releases</code>)."
            "</footer>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


OUTCOME_METRICS = {"binary": ("roc_auc", "accuracy", "brier"), "regression": ("mae", "rmse"),
                   "multiclass": ("accuracy", "log_loss")}


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else "-"


def _version(number: Any) -> str:
    return f"v{number}" if number is not None else "none"


def _aliases(aliases: dict[str, Any]) -> str:
    others = [f"{alias} v{v}" for alias, v in sorted(aliases.items()) if alias != "champion"]
    return ", ".join(others) if others else "no other alias"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(v, i in numeric) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any, numeric: bool) -> str:
    if isinstance(value, tuple):  # (text, css class)
        return f'<td class="{value[1]}">{escape(str(value[0]))}</td>'
    if value is None:
        text = ""
    elif isinstance(value, datetime):
        text = _when(value)
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    return f'<td class="num">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"



def _cards(c: dict[str, Any]) -> str:
    requests = sum(int(t["requests"] or 0) for t in c["traffic"])
    rows = sum(int(t["rows"] or 0) for t in c["traffic"])
    champion = [lat for lat in c["latency"] if lat["version"] == c["champion"]]
    p99 = f"{champion[0]['p99_ms']:.1f} ms" if champion and champion[0]["p99_ms"] is not None else "-"
    drift = c["drift"] or {}
    worst = max((f["verdict"] for f in drift.get("features", [])), key=["ok", "warning", "critical"].index,
                default="-")
    overall = c["outcomes"]["overall"]
    coverage = f"{overall['coverage']:.0%}" if overall.get("coverage") is not None else "-"
    open_alerts = sum(1 for a in c["alerts"] if a["status"] == "open")
    cards = [(f"{requests:,}", f"requests ({rows:,} rows)"), (p99, f"p99 latency, {_version(c['champion'])}"),
             (worst, "worst drift verdict"), (coverage, "label coverage"),
             (f"{len(c['alerts'])} ({open_alerts} open)", "alerts"), (str(len(c["incidents"])), "incidents"),
             (str(len(c["releases"])), "releases")]
    return '<div class="cards">' + "".join(
        f'<div class="card"><b class="{escape(v) if v in ("ok", "warning", "critical") else ""}">{escape(v)}</b>'
        f"<span>{escape(label)}</span></div>" for v, label in cards) + "</div>"


def _markers(c: dict[str, Any]) -> list[tuple[datetime, str]]:
    return [(r["happened_at"], f"{r['alias']}: {r['decision'] or ''} {r['reason'] or ''}".strip())
            for r in c["releases"] if r["kind"] == "deployment"]


def _span(c: dict[str, Any]) -> dict[str, Any]:
    """The time charts' axis: the part of the window that holds the traffic when the content chose one
    (appliance/reports/zoom.py), else the whole window, with the traffic and outcome buckets to draw."""
    chart = c.get("chart") or {}
    if chart.get("zoomed"):
        return chart
    return {"start": c["window_start"], "end": c["window_end"], "bucket": c["bucket"], "traffic": c["traffic"],
            "outcome_buckets": c["outcomes"]["buckets"], "zoomed": False, "note": ""}


def _traffic(c: dict[str, Any]) -> str:
    parts = ["<h2>Traffic and latency</h2>"]
    if not c["traffic"]:
        return "\n".join(parts + [empty("No requests in the window.")])
    span = _span(c)
    bucket, traffic = span["bucket"], span["traffic"]
    requests = Series(f"requests per {bucket}", [(t["start"], float(t["requests"] or 0)) for t in traffic])
    outside = [at for at, _ in _markers(c) if not span["start"] <= at <= span["end"]]
    moves = "dashed lines: alias moves" + ("; ◂ ▸ at an edge: before or after this span" if outside else "")
    parts.append(time_chart("traffic", f"Requests per {bucket} ({moves})", [requests], span["start"], span["end"],
                            bars=True, step=parse_window(bucket), y_label="requests", markers=_markers(c),
                            note=span["note"]))
    latency = [Series(p, [(t["start"], t[f"{p}_ms"]) for t in traffic]) for p in ("p50", "p95", "p99")]
    parts.append(time_chart("latency", f"Latency per {bucket} (ms)", latency, span["start"], span["end"],
                            y_label="ms", note=span["note"]))
    if c["latency"]:
        parts.append(_table(["version", "requests", "p50 ms", "p95 ms", "p99 ms"],
                            [[_version(lat["version"]), lat["requests"], lat["p50_ms"], lat["p95_ms"], lat["p99_ms"]]
                             for lat in c["latency"]], numeric=(1, 2, 3, 4)))
    return "\n".join(parts)


def _verdict(verdict: str) -> tuple[str, str]:
    return verdict, verdict


def _drift(c: dict[str, Any]) -> str:
    parts = ["<h2>Drift</h2>"]
    drift = c["drift"]
    if drift is None:
        return "\n".join(parts + [empty("The model has no champion.")])
    if not drift["rows"]:
        return "\n".join(parts + [empty(f"{_version(drift['version'])} answered no requests in the window.")])
    sampled = (f" (a uniform sample of {drift['rows']:,} of {drift['answered_rows']:,} rows)" if drift["sampled"]
               else f" ({drift['rows']:,} rows)")
    parts.append(f"<p>Inputs answered by {_version(drift['version'])} in the window against its training rows"
                 f"{escape(sampled)}. PSI and Jensen–Shannon distance use 10 quantile bins of the training rows, plus "
                 "one for missing values.</p>")
    parts.append(_table(["feature", "PSI", "JS", "missing (train → now)", "new categories", "verdict"],
                        [[f["feature"], f["psi"], f["js"], f"{f['missing_ref']:.1%} → {f['missing_cur']:.1%}",
                          ", ".join(f"{k} ({v})" for k, v in f["new_categories"].items()), _verdict(f["verdict"])]
                         for f in drift["features"]], numeric=(1, 2)))
    if not drift["histograms"]:
        parts.append(empty("No feature moved: every verdict is ok."))
    for h in drift["histograms"]:
        parts.append(histogram(f"drift:{h['feature']}", f"{h['feature']}: PSI {h['psi']:.3f} ({h['verdict']})",
                               h["labels"], h["reference"], h["current"]))
    return "\n".join(parts)


def _scores(c: dict[str, Any]) -> str:
    """The champion's answers, training vs window: its scores, or for multiclass the predicted-class mix
    and each class's probability."""
    drift = c["drift"] or {}
    classes = bool(drift.get("classes"))
    parts = ["<h2>Predicted classes</h2>" if classes else "<h2>Prediction scores</h2>"]
    scores = drift.get("scores")
    if not scores:
        return "\n".join(parts + [empty("No scored rows in the window.")])
    title = "Predicted classes" if classes else "Score distribution"
    parts.append(histogram("classes" if classes else "scores",
                           f"{title}: training vs window, PSI {scores['psi']:.3f} ({scores['verdict']})",
                           scores["labels"], scores["reference"], scores["current"]))
    if classes:
        parts.append(_table(["class", "mean probability (train)", "mean probability (window)", "shift", "PSI", "JS",
                             "verdict"],
                            [[p["class"], p.get("mean_reference"), p.get("mean_current"), p.get("mean_shift"),
                              p["psi"], p["js"], _verdict(p["verdict"])] for p in drift.get("probabilities", [])],
                            numeric=(1, 2, 3, 4, 5)))
    return "\n".join(parts)


def _holdout(c: dict[str, Any]) -> str:
    """The champion's holdout metrics; for multiclass, precision and recall per class and the confusion matrix."""
    parts = ["<h2>Champion's holdout metrics</h2>"]
    h = c.get("holdout")
    if not h:
        return "\n".join(parts + [empty("The model has no champion.")])
    parts.append(f"<p>{_version(h['version'])} on its {h['holdout_rows']:,} holdout rows, when it was registered.</p>")
    parts.append(_table(list(h["overall"]), [list(h["overall"].values())], numeric=tuple(range(len(h["overall"])))))
    if h["classes"]:
        parts.append(_table(["class", "precision", "recall"],
                            [[name, h["per_class"][name]["precision"], h["per_class"][name]["recall"]]
                             for name in h["classes"]], numeric=(1, 2)))
    if h["confusion"]:
        parts.append("<p>Confusion matrix: rows are the true class, columns the predicted class (holdout rows).</p>")
        parts.append(_table(["true class ↓ predicted →", *h["classes"]],
                            [[name, *[None if v is None else int(v) for v in row]]
                             for name, row in zip(h["classes"], h["confusion"])],
                            numeric=tuple(range(1, len(h["classes"]) + 1))))
    return "\n".join(parts)


def _outcomes(c: dict[str, Any]) -> str:
    o = c["outcomes"]
    parts = ["<h2>Outcomes</h2>"]
    names = list(OUTCOME_METRICS.get(o["task"], ("mae", "rmse")))
    metric = names[0]
    buckets = o["buckets"]
    if not any(b["labelled"] for b in buckets):
        parts.append(empty("No labels arrived for predictions of the window."))
    else:
        span = _span(c)
        drawn = span["outcome_buckets"]
        parts.append(time_chart("outcomes", f"{metric} and label coverage per {span['bucket']}",
                                [Series(metric, [(b["start"], (b.get("metrics") or {}).get(metric)) for b in drawn]),
                                 Series("coverage", [(b["start"], b["coverage"]) for b in drawn])],
                                span["start"], span["end"], y_max=1.0 if metric in ("roc_auc", "accuracy") else None,
                                note=span["note"]))
    rows = []
    for name, summary in (("all", o["overall"]), ("audit samples", o["audit_samples"]),
                          ("not audit samples", o["not_audit_samples"])):
        metrics = summary.get("metrics") or {}
        rows.append([name, summary["answered"], summary["labelled"], summary["coverage"],
                     *[metrics.get(m) for m in names]])
    parts.append(_table(["rows", "answered", "labelled", "coverage", *names], rows,
                        numeric=tuple(range(1, 4 + len(names)))))
    return "\n".join(parts)


def _alerts(c: dict[str, Any]) -> str:
    parts = ["<h2>Alerts and incidents</h2>"]
    if c["alerts"]:
        parts.append(_table(["opened", "resolved", "rule", "subject", "severity", "value", "message", "owner"],
                            [[a["opened_at"], a["resolved_at"] or "open", a["rule"], a["subject"],
                              (a["severity"], a["severity"]), a["value"], a["message"], a.get("owner") or "none"]
                             for a in c["alerts"]], numeric=(5,)))
    else:
        parts.append(empty("No alert was open in the window."))
    if c["incidents"]:
        parts.append(_table(["#", "opened", "title", "owner", "estimated cost", "status", "resolved by",
                             "minutes to resolve"],
                            [[i["incident_id"], i["opened_at"], i["title"], i["owner"] or "none", i["impact"],
                              i["status"], i["resolved_by"], i["minutes_to_resolve"]] for i in c["incidents"]],
                            numeric=(0, 7)))
    else:
        parts.append(empty("No incident was open in the window."))
    return "\n".join(parts)


def _releases(c: dict[str, Any]) -> str:
    parts = ["<h2>Deployments and approvals</h2>"]
    if not c["releases"]:
        return "\n".join(parts + [empty("No promotion request or alias move in the window.")])
    parts.append(_table(["when", "what", "version", "alias", "by", "status", "decided by", "detail", "reason"],
                        [[r["happened_at"], r["kind"], _version(r["version"]), r["alias"], r["actor"], r["status"],
                          r["decided_by"], r["gates"] or r["decision"], r["reason"]] for r in c["releases"]]))
    return "\n".join(parts)
