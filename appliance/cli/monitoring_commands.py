"""`vigil drift --reference A --current B`."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance.cli.output import emit, table, to_json


def cmd_drift(args: argparse.Namespace) -> int:
    from appliance.monitoring.drift import frame_drift
    from appliance.training.frames import read_frame

    reference, current = read_frame(Path(args.reference)), read_frame(Path(args.current))
    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else None
    found = frame_drift(reference, current, columns)
    if args.json:
        emit(to_json({name: drift.as_dict() for name, drift in found.items()}))
    else:
        rows = [[name, d.kind, d.psi, d.js, d.ks_pvalue if d.kind == "numeric" else d.chi2_pvalue,
                 f"{d.missing_ref:.3f} -> {d.missing_cur:.3f}", ", ".join(list(d.new_categories)[:3]), d.verdict]
                for name, d in found.items()]
        emit(table(["column", "kind", "psi", "js", "p_value", "missing", "new categories", "verdict"], rows))
    return 1 if any(d.verdict == "critical" for d in found.values()) else 0
