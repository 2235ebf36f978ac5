"""Commands on the home itself that are no operation: they run in the CLI's own process, on the home's
files (create it, migrate or restore its store, start the daemon, open the console, run the demo)."""

from __future__ import annotations

from appliance.operations.declaration import Cli, Declared, LocalCommand, arg, opt

COMMANDS: dict[str, Declared] = {
    "init": LocalCommand("admin", Cli(
        "init", "create a private home (0700; files 0600): store, artifacts/, datasets/, exports/, vigil.toml",
        handler="store_commands.init", json=False)),
    "migrate": LocalCommand("admin", Cli(
        "migrate", "apply pending store migrations (or list them with --status)",
        (opt("status", "list migrations and their state; change nothing", type=bool),),
        handler="store_commands.migrate")),
    "restore": LocalCommand("admin", Cli(
        "restore", "make a home from a backup (the daemon must be stopped)",
        (arg("directory", "a directory written by `vigil backup`"),
         opt("replace", "restore over an existing store (kept as vigil.duckdb.before-restore-TIME)", type=bool)),
        handler="store_commands.restore")),
    "up": LocalCommand("admin", Cli(
        "up", "start the daemon: scoring API, admin API and scheduler",
        (opt("host", "address to listen on (default: server.host, 127.0.0.1)"),
         opt("port", "port (default: server.port, 8700; 0 picks a free one)", type=int)),
        handler="daemon_commands.up", json=False)),
    "tui": LocalCommand("viewer", Cli(
        "tui", "the on-call console (over the daemon's admin API; read-only when it is down)",
        (opt("refresh", "seconds between refreshes (default: 2)", type=float, default=2.0),
         opt("theme", "colours for a dark or a light terminal (NO_COLOR=1: none)", choices=("dark", "light"),
             default="dark")), handler="daemon_commands.tui", json=False)),
    "demo": LocalCommand("admin", Cli(
        "demo", "run the demo on the shipped sample data",
        (opt("fast", "a smaller, quicker run (for tests)", type=bool),), handler="demo_command.demo", json=False)),
}
GROUPS: dict[str, str] = {}
