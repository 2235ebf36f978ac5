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
from tui.connection import PROBE_EVERY_S, Connection
from tui.commands import SCREENS, VERBS, CommandError, CommandSuggester, hint, parse
from tui.dialogs import Ask, Help
from tui.header import CODE
from tui.keymap import help_sections
from tui.screens.alerts import AlertsScreen
from tui.screens.approvals import ApprovalsScreen
from tui.screens.audit import AuditScreen
from tui.screens.drift import DriftScreen
from tui.screens.incident import IncidentScreen
from tui.screens.jobs import JobsScreen
from tui.screens.model import ModelScreen
from tui.screens.overview import OverviewScreen
from tui.screens.reports import ReportsScreen
from tui.screens.sql import SqlScreen

HELP_SCREENS = (("Overview", OverviewScreen), ("Model", ModelScreen), ("Drift", DriftScreen),
                ("Alerts and incidents", AlertsScreen), ("Incident", IncidentScreen), ("Approvals", ApprovalsScreen),
                ("Jobs", JobsScreen), ("Audit", AuditScreen), ("SQL", SqlScreen), ("Reports", ReportsScreen))
HELP_FOOTER = ("Every action goes through the daemon's admin API as you (VIGIL_TOKEN or ~/.config/vigil/token, "
               "else your OS user): your role decides what you may do, and each action is audited.")


def request_text(found: dict[str, Any]) -> str:
    """The request view: who answered, with what, whether it reproduces, and why."""
    from tui.format import escaped

    lines = [f"[b]request {escaped(found['request_id'])}[/b]: {escaped(found['model'])} v{found['version']} "
             f"({escaped(found['route'])}, {escaped(found['api'])} API) at {str(found['logged_at'])[:19]} UTC, "
             f"{found['latency_ms']:.1f} ms",
             f"recomputed now: {'matches' if found['matches'] else 'DIFFERS or inputs no longer kept'}", ""]
    references = found.get("references", {})
    for row in found["rows"]:
        lines.append(f"[b]row {row['row_index']}[/b]: prediction {escaped(row['prediction'])}, "
                     f"score {escaped(row['score'])}")
        why = row.get("explanation")
        if why is None:
            lines.append("  inputs no longer kept (retention): no contributions")
            continue
        lines.append(f"  {escaped(why['method'])}; {escaped(why['scale'])} {why['output']:.4f} vs "
                     f"{why['reference_output']:.4f} for the reference row")
        for name, part in why["contributions"].items():
            lines.append(f"  {part:+.4f}  {escaped(name)} = {escaped(row['inputs'][name])}  "
                         f"(reference {escaped(references.get(name))})")
    return "\n".join(lines) + "\n\nesc closes"


class VigilCommands(Provider):
    """The command palette: the verbs of `:` (tui/commands.py), each screen, and each model's verbs."""

    async def search(self, query: str) -> Hits:
        app = self.app
        assert isinstance(app, VigilApp)
        matcher = self.matcher(query)
        commands: list[tuple[str, Any, str]] = []
        for verb in VERBS:
            if verb.argument == "NAME":
                commands += [(f"{verb.name}: {model}", lambda v=verb, m=model: v.run(app, m), verb.summary)
                             for model in app.model_names]
            elif not verb.argument:
                commands.append((f"{'screen: ' if verb.name in SCREENS else ''}{verb.name}",
                                 lambda v=verb: v.run(app, ""), verb.summary))
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
    ConfirmLine { align: center bottom; }
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
        self.incident_ids: list[str] = []  # for the command line's completion (`:incident 2`)

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every notification's text is shown as written: markup in it (a reason, a file name, a daemon's
        message quoting a client's text) is escaped, and a command named in backticks is shown in bold, as
        the status line shows it; control characters are shown escaped (tui/format.plain)."""
        from tui.format import escaped, plain

        message = plain(message)
        if markup:
            message = CODE.sub(lambda found: f"[b]{found.group(1)}[/b]", escaped(message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- life -----------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.switch_mode("overview")
        self.set_interval(self.refresh_s, self.tick)
        self.set_interval(PROBE_EVERY_S, self.heartbeat)
        self._whoami()

    def heartbeat(self) -> None:
        """Repaint the status line and ask the daemon whether it is alive (in a worker, at most a
        second): a hung daemon shows as NOT CONNECTED within three seconds, not after a call's timeout."""
        self.update_status()

        def work() -> None:
            self.connection.probe()
            self.call_from_thread(self.update_status)

        self.run_worker(work, thread=True, exclusive=True, group="probe", exit_on_error=False)

    def tick(self) -> None:
        if not self.screen_stack:  # the app is closing: its refresh timer may fire once more
            return
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
            try:
                found = self.connection.call("incidents", {"all": True})["incidents"]
            except VigilError:
                return  # completion only: the alerts screen fills them in too
            self.call_from_thread(setattr, self, "incident_ids", [str(i["incident_id"]) for i in found])

        self.run_worker(work, thread=True, exclusive=True, group="whoami", exit_on_error=False)

    def _identified(self, who: dict[str, Any], names: list[str]) -> None:
        self.identity, self.identity_mode, self.model_names = who, self.connection.state.mode, names
        self.update_status()

    # -- the status line --------------------------------------------------------------------------
    def status_parts(self) -> tuple[str, str]:
        """The status line's state (who, how connected) and its clock (the last refresh; the header
        keeps it at the right edge, so a narrow terminal shortens the state, never the clock)."""
        who = (f"{self.identity['name']} ({self.identity['role']})" if self.identity else "identifying…")
        state = self.connection.state
        where = {"daemon": f"live {state.detail}", "read-only": f"READ-ONLY ({state.detail})",
                 "down": f"NOT CONNECTED: {state.detail}"}[state.mode]
        at = (f"{self.last_refresh:%H:%M:%S}" if self.show_clock and self.last_refresh and state.mode != "down"
              else "")
        return f"Vigil · {who} · {where}", at

    def status_line(self) -> str:
        text, at = self.status_parts()
        return f"{text} · {at}" if at else text

    def update_status(self) -> None:
        from tui.header import StatusBar

        text, at = self.status_parts()
        for bar in self.screen.query(StatusBar):
            bar.set_status(text, self.connection.state.mode, at)

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
        """Switch screens; the screen left behind drops its filter (a filter belongs to where it was typed)."""
        if isinstance(self.screen, DataScreen):
            self.screen.clear_filter()
        self.switch_mode(name)

    def open_model(self, name: str) -> None:
        self.push_screen(ModelScreen(name))

    def open_drift(self, name: str) -> None:
        self.push_screen(DriftScreen(name))

    def open_incident(self, incident_id: int) -> None:
        """The incident's screen: timeline, alerts, the drift that opened it, deployments, postmortem."""
        self.push_screen(IncidentScreen(int(incident_id)))

    def action_go_back(self) -> None:
        """`esc`: clear this screen's filter if it has one, else go back."""
        if isinstance(self.screen, DataScreen) and self.screen.clear_filter():
            return
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.current_mode != "overview":
            self.go("overview")

    def action_refresh(self) -> None:
        if isinstance(self.screen, DataScreen):
            self.screen.reload()

    def action_help(self) -> None:
        sections = help_sections(HELP_SCREENS)
        self.push_screen(Help([*sections, ("Who you are", [("", HELP_FOOTER)])], title="Vigil console — keys"))

    def action_command(self) -> None:
        self.push_screen(Ask(":", placeholder="a verb, a screen or a prefix: inc 2 · al · rb NAME · drift NAME · q",
                             suggester=CommandSuggester(lambda: self.model_names, lambda: self.incident_ids),
                             hint=lambda text: hint(text, self.model_names)), self.run_command)

    def run_command(self, text: str | None) -> None:
        """Run a command line: a verb (whole, aliased or an unambiguous prefix) and its argument."""
        if not text:
            return
        try:
            verb, argument = parse(text, self.model_names)
        except CommandError as e:
            self.notify(str(e), severity="error")
            return
        verb.run(self, argument)

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

    def start_rollback(self, screen: Any, model_name: str, reason: str = "") -> None:
        """Roll `model_name`'s champion back after the plan's confirmation (tui/rollback.py); `reason`
        pre-fills the reason asked for."""
        from tui.rollback import start_rollback

        start_rollback(self, screen, model_name, reason)


def run(home: Home, refresh_s: float, light: bool = False) -> None:
    VigilApp(home, refresh_s, light=light).run()
