"""`vigil tui`: the on-call console. A Textual app in its own process that reaches Vigil through the
daemon's admin API (so roles, four-eyes and the audit log apply to every action), or reads the store
file when no daemon runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.command import Hit, Hits, Provider

from appliance.errors import VigilError
from appliance.home import Home
from tui.base import DataScreen
from tui.connection import Connection
from tui.dialogs import Ask, Confirm, Help
from tui.screens.alerts import AlertsScreen
from tui.screens.approvals import ApprovalsScreen
from tui.screens.audit import AuditScreen
from tui.screens.drift import DriftScreen
from tui.screens.jobs import JobsScreen
from tui.screens.model import ModelScreen
from tui.screens.overview import OverviewScreen
from tui.screens.reports import ReportsScreen
from tui.screens.sql import SqlScreen

SCREENS = ("overview", "alerts", "approvals", "jobs", "audit", "sql", "reports")

HELP = """\
[b]Vigil console — keys[/b]

  1 overview   2 alerts & incidents   3 approvals   4 jobs   5 audit   6 SQL   7 reports
  ?            this help                 :   command mode (below)
  /            filter the current table  esc back   q quit   ctrl+p command palette
  ctrl+r       refresh now               enter open the selected model
  arrows, pgup/pgdn, home/end move in tables; tab moves between tables

[b]Overview and model[/b]   d drift of the model   R roll the champion back (asks, then shows the
                          new champion)
[b]Alerts[/b]               k acknowledge   n add a note   s resolve   e write a postmortem file
                          A show all / only open
[b]Approvals[/b]            a approve   x reject (asks why)   A show all / only pending
[b]Jobs[/b]                 m run a drift check now   t retrain a model now
[b]SQL[/b]                  type a read-only query, enter runs it
[b]Reports[/b]              enter where the file is   w write a report now (into the home's reports/)

[b]Commands[/b] (after :)  model NAME · drift NAME · rollback NAME · request ID (who answered it, with
                          what, and each feature's contribution) · overview · alerts · approvals ·
                          jobs · audit · sql · reports · quit

Every action goes through the daemon's admin API as you (VIGIL_TOKEN or ~/.config/vigil/token,
else your OS user): your role decides what you may do, and each action is audited.
"""


def request_text(found: dict[str, Any]) -> str:
    """The request view: who answered, with what, whether it reproduces, and why."""
    from rich.markup import escape

    lines = [f"[b]request {escape(found['request_id'])}[/b]: {found['model']} v{found['version']} "
             f"({found['route']}, {found['api']} API) at {str(found['logged_at'])[:19]} UTC, "
             f"{found['latency_ms']:.1f} ms",
             f"recomputed now: {'matches' if found['matches'] else 'DIFFERS or inputs no longer kept'}", ""]
    references = found.get("references", {})
    for row in found["rows"]:
        lines.append(f"[b]row {row['row_index']}[/b]: prediction {row['prediction']}, score {row['score']}")
        why = row.get("explanation")
        if why is None:
            lines.append("  inputs no longer kept (retention): no contributions")
            continue
        lines.append(f"  {why['method']}; {why['scale']} {why['output']:.4f} vs {why['reference_output']:.4f} "
                     "for the reference row")
        for name, part in why["contributions"].items():
            lines.append(f"  {part:+.4f}  {escape(name)} = {escape(str(row['inputs'][name]))}  "
                         f"(reference {escape(str(references.get(name)))})")
    return "\n".join(lines) + "\n\nesc closes"


class VigilCommands(Provider):
    """The command palette: every screen, and each model's screen, drift and rollback."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, VigilApp)
        matcher = self.matcher(query)
        commands: list[tuple[str, Any, str]] = [
            (f"screen: {name}", lambda n=name: app.go(n), f"switch to the {name} screen") for name in SCREENS]
        for model in app.model_names:
            commands += [(f"model: {model}", lambda m=model: app.open_model(m), "versions, lineage, evidence"),
                         (f"drift: {model}", lambda m=model: app.open_drift(m), "drift per feature and segment"),
                         (f"rollback: {model}", lambda m=model: app.start_rollback(app.screen, m),
                          "roll the champion back (asks first)")]
        for text, run, help_text in commands:
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), run, help=help_text)


class VigilApp(App[None]):
    TITLE = "Vigil"
    CSS = """
    .section { padding: 0 1; text-style: bold; height: 1; width: 100%; }
    DataTable { height: 1fr; }
    #spark { height: 3; margin: 0 1; }
    #details { height: 2fr; padding: 0 1; }
    .dialog { width: 76; max-width: 100%; height: auto; max-height: 90%; border: thick $accent;
              background: $surface; padding: 1 2; }
    .dialog-title { text-style: bold; margin-bottom: 1; }
    .dialog-keys { margin-top: 1; color: $text-muted; }
    Confirm, Ask, Help { align: center middle; }
    """
    MODES = {"overview": OverviewScreen, "alerts": AlertsScreen, "approvals": ApprovalsScreen, "jobs": JobsScreen,
             "audit": AuditScreen, "sql": SqlScreen, "reports": ReportsScreen}
    COMMANDS = App.COMMANDS | {VigilCommands}
    BINDINGS = [
        Binding("question_mark", "help", "help"),
        Binding("colon", "command", "command"),
        Binding("q", "quit", "quit"),
        Binding("escape", "go_back", "back", show=False),
        Binding("ctrl+r", "refresh", "refresh", show=False),
        *[Binding(str(i + 1), f"go('{name}')", name, show=False) for i, name in enumerate(SCREENS)],
    ]

    def __init__(self, home: Home, refresh_s: float = 2.0, show_clock: bool = True, light: bool = False) -> None:
        super().__init__()
        self.show_clock = show_clock
        if light:
            self.theme = "textual-light"
        self.connection = Connection(home)
        self.refresh_s = refresh_s
        self.identity: dict[str, Any] | None = None
        self.identity_mode: str | None = None
        self.last_refresh: datetime | None = None
        self.last_error: str | None = None
        self.model_names: list[str] = []

    # -- life -----------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.switch_mode("overview")
        self.set_interval(self.refresh_s, self.tick)
        self._whoami()

    def tick(self) -> None:
        screen = self.screen
        if isinstance(screen, DataScreen) and not isinstance(screen, SqlScreen):
            screen.reload()
        if self.identity is None or self.identity_mode != self.connection.state.mode or not self.model_names:
            self._whoami()
        self.update_status()

    def _whoami(self) -> None:
        def work() -> None:
            try:
                who = self.connection.call("whoami")
                names = [m["name"] for m in self.connection.call("models")]
            except VigilError as e:
                self.call_from_thread(self.fetch_failed, str(e))
                return
            self.call_from_thread(self._identified, who, names)

        self.run_worker(work, thread=True, exclusive=True, group="whoami", exit_on_error=False)

    def _identified(self, who: dict[str, Any], names: list[str]) -> None:
        self.identity, self.identity_mode, self.model_names = who, self.connection.state.mode, names
        self.update_status()

    # -- the status line --------------------------------------------------------------------------
    def status_line(self) -> str:
        who = (f"{self.identity['name']} ({self.identity['role']})" if self.identity else "identifying…")
        state = self.connection.state
        where = {"daemon": f"live {state.detail}", "read-only": f"READ-ONLY ({state.detail})",
                 "down": f"NOT CONNECTED: {state.detail}"}[state.mode]
        at = (f" · {self.last_refresh:%H:%M:%S}" if self.show_clock and self.last_refresh and state.mode != "down"
              else "")
        return f"Vigil · {who} · {where}{at}"

    def update_status(self) -> None:
        from tui.header import StatusBar

        for bar in self.screen.query(StatusBar):
            bar.set_status(self.status_line(), self.connection.state.mode)

    def fetched(self) -> None:
        self.last_refresh = datetime.now()
        self.last_error = None
        self.update_status()

    def fetch_failed(self, message: str) -> None:
        if message != self.last_error and self.connection.state.mode != "down":
            self.notify(message, severity="error", timeout=8)
        self.last_error = message
        self.update_status()

    # -- navigation -------------------------------------------------------------------------------
    def action_go(self, name: str) -> None:
        self.go(name)

    def go(self, name: str) -> None:
        self.switch_mode(name)

    def open_model(self, name: str) -> None:
        self.push_screen(ModelScreen(name))

    def open_drift(self, name: str) -> None:
        self.push_screen(DriftScreen(name))

    def action_go_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.current_mode != "overview":
            self.switch_mode("overview")

    def action_refresh(self) -> None:
        if isinstance(self.screen, DataScreen):
            self.screen.reload()

    def action_help(self) -> None:
        self.push_screen(Help(HELP))

    def action_command(self) -> None:
        self.push_screen(Ask(":", placeholder="model NAME · drift NAME · rollback NAME · alerts · …"), self.run_command)

    def run_command(self, text: str | None) -> None:
        if not text:
            return
        verb, _, rest = text.strip().lstrip(":").partition(" ")
        rest = rest.strip()
        if verb in SCREENS and not rest:
            self.go(verb)
        elif verb in ("model", "drift", "rollback") and rest:
            if rest not in self.model_names:
                self.notify(f"no model '{rest}'; models: {', '.join(self.model_names) or 'none'}", severity="error")
            elif verb == "model":
                self.open_model(rest)
            elif verb == "drift":
                self.open_drift(rest)
            else:
                self.start_rollback(self.screen, rest)
        elif verb == "request" and rest:
            self.show_request(rest)
        elif verb in ("q", "quit"):
            self.exit()
        else:
            self.notify(f"unknown command ':{text}'; press ? for the list", severity="error")

    # -- one request, explained -----------------------------------------------------------------
    def show_request(self, request_id: str) -> None:
        def work() -> None:
            try:
                found = self.connection.call("explain_request", {"request_id": request_id})
            except VigilError as e:
                self.call_from_thread(self.notify, str(e), severity="error", timeout=8)
                return
            self.call_from_thread(self.push_screen, Help(request_text(found)))

        self.run_worker(work, thread=True, group="request", exit_on_error=False)

    # -- rollback ---------------------------------------------------------------------------------
    def writable(self) -> bool:
        """Whether changes can be made now (the daemon answers); says why not when they cannot."""
        state = self.connection.state
        if state.writable:
            return True
        self.notify("read-only: " + ("the daemon is down; start it with `vigil up`" if state.mode == "read-only"
                                     else state.detail), severity="error", timeout=8)
        return False

    def start_rollback(self, screen: Any, model_name: str) -> None:
        """Ask the daemon which versions a rollback would swap, confirm, ask why, then roll back."""
        if not self.writable():
            return

        def plan() -> None:
            try:
                found = self.connection.call("rollback_plan", {"name": model_name})
            except VigilError as e:
                self.call_from_thread(self.notify, str(e), severity="error", timeout=8)
                return
            self.call_from_thread(self._confirm_rollback, screen, found)

        self.run_worker(plan, thread=True, group="rollback", exit_on_error=False)

    def _confirm_rollback(self, screen: Any, found: dict[str, Any]) -> None:
        name, old, new = found["model"], found["from_version"], found["to_version"]

        def reason(yes: bool | None) -> None:
            if yes:
                self.push_screen(Ask(f"roll back {name}: why? (kept in the audit log)"), go)

        def go(text: str | None) -> None:
            if text and isinstance(screen, DataScreen):
                screen.act("rollback", {"name": name, "to": new, "reason": text},
                           lambda r: f"{r['model']}: champion v{r['from_version']} → v{r['to_version']}")

        self.push_screen(Confirm(
            f"Roll back {name}: champion v{old} → v{new}?",
            f"Why v{new}: {found.get('why', 'the version champion replaced')}.\n"
            f"Every client gets v{new}'s answers from the next request on (hot swap, no request fails), once its "
            "pre-flight passes (it loads, has its contract, and its recorded answers repeat).\n"
            f"v{old} stays registered and can be promoted again. The rollback is audited with your name "
            "and reason."), reason)


def run(home: Home, refresh_s: float, light: bool = False) -> None:
    VigilApp(home, refresh_s, light=light).run()
