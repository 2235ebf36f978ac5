"""Rolling a champion back from the console, from any screen (overview, model, incident, `:rollback`).

The daemon's `rollback_plan` names the target by the release door's own rule (the last known-good
version) and brings why that version, its pre-flight run now and the traffic it answered in its
earlier times as champion; the confirmation shows all of it. After `y` the reason is asked, pre-filled
when the caller knows why (the incident screen passes "incident 2: critical drift in humid, dewp")
and editable; `enter` keeps it. The rollback names the version the dialog showed, so a change in
between is refused rather than rolled somewhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


from appliance.errors import VigilError
from tui.base import DataScreen
from tui.dialogs import Ask, Confirm
from tui.format import escaped, number, plain, when

if TYPE_CHECKING:
    from tui.app import VigilApp


def start_rollback(app: "VigilApp", screen: Any, model_name: str, reason: str = "") -> None:
    """Ask the daemon for the plan (in a worker), then confirm, ask why, and roll back."""
    if not app.writable():
        return

    def plan() -> None:
        try:
            found = app.connection.call("rollback_plan", {"name": model_name})
        except VigilError as e:
            app.call_from_thread(app.notify, str(e), severity="error", timeout=8)
            return
        app.call_from_thread(confirm_rollback, app, screen, found, reason)

    app.run_worker(plan, thread=True, group="rollback", exit_on_error=False)


def confirm_rollback(app: "VigilApp", screen: Any, found: dict[str, Any], reason: str = "") -> None:
    """The confirmation with the plan's evidence; `y` asks the reason (pre-filled with `reason`)."""
    name, old, new = found["model"], found["from_version"], found["to_version"]

    def ask_reason(yes: bool | None) -> None:
        if yes:
            app.push_screen(Ask(f"roll back {name}: why? (kept in the audit log; enter keeps it)",
                                value=plain(reason)), go)

    def go(text: str | None) -> None:
        if text and isinstance(screen, DataScreen):
            screen.act("rollback", {"name": name, "to": new, "reason": text},
                       lambda r: f"{r['model']}: champion v{r['from_version']} → v{r['to_version']}")

    app.push_screen(Confirm(f"Roll back {name}: champion v{old} → v{new}?", plan_text(found)), ask_reason)


def plan_text(found: dict[str, Any]) -> str:
    """Why the target, its pre-flight, the traffic it answered before, and what the rollback does."""
    old, new = found["from_version"], found["to_version"]
    lines = [f"Why v{new}: {escaped(found.get('why', 'the version champion replaced'))}."]
    checks = found.get("preflight") or []
    if checks:
        lines.append("Pre-flight now: " + "; ".join(_check(c) for c in checks) + ".")
    times = found.get("champion_times") or []
    for t in times:
        lines.append(f"Before: champion {when(t['from'])} – {when(t['to']) or 'now'}"
                     f"{' (ended by a ' + t['ended_by'] + ')' if t['ended_by'] == 'rollback' else ''}: "
                     f"{t['requests']:,} requests answered, p95 {number(t['p95_ms'], 1)} ms, "
                     f"{_share(t['error_rate'])} refused by the contract.")
    if any(c["ok"] is False for c in checks):
        lines.append(f"[b]The pre-flight FAILED: the rollback will be refused and v{old} stays champion.[/b]")
    lines.append(f"Every client gets v{new}'s answers from the next request on (hot swap, no request fails). "
                 f"v{old} stays registered and can be promoted again. Audited with your name and reason.")
    return "\n".join(lines)


def _check(check: dict[str, Any]) -> str:
    mark = {True: "ok", False: "FAILED", None: "not run"}[check["ok"]]
    return f"{check['check']} {mark} ({escaped(check['detail'])})"


def _share(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"
