"""Progress for CLI work that takes longer than a second: a spinner with the elapsed time on standard
error, while the operation runs here or through the daemon (which answers only when it is done, so
the steps are unknown and a spinner, not a bar, is what can be shown honestly).

It appears only after a second (quick commands print nothing extra), only when standard error is a
terminal (piped or redirected, nothing is drawn), and it is erased before the command's own output,
which goes to standard output unchanged. `rich` (shipped with Textual) is imported only once the
spinner is due, so `vigil --help` and `vigil models` stay fast.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from appliance.cli import colour

SHOW_AFTER_S = 1.0  # work that ends sooner shows no progress


def call(home_arg: str | None, name: str, args: dict[str, Any], *, label: str | None = None) -> Any:
    """Run an operation as appliance.admin_client.call does, with progress while it runs."""
    from appliance.admin_client import call as admin_call

    with working(label or f"vigil {name.replace('_', ' ')}"):
        return admin_call(home_arg, name, args)


@contextmanager
def working(label: str) -> Iterator[None]:
    """Show `label`, a spinner and the elapsed time on a terminal's standard error from SHOW_AFTER_S on,
    until the block ends."""
    if not _is_terminal(sys.stderr):
        yield
        return
    spinner = _Spinner(label)
    timer = threading.Timer(SHOW_AFTER_S, spinner.start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        spinner.stop()


class _Spinner:
    """A transient rich progress line, started from the timer thread and stopped from the caller's."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()  # the elapsed time counts from the start of the work
        self._lock = threading.Lock()
        self._stopped = False
        self._progress: Any = None

    def start(self) -> None:
        progress = _progress_line(self.started)
        with self._lock:
            if self._stopped:
                return
            progress.add_task(self.label, total=None)
            progress.start()
            self._progress = progress

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._progress is not None:
                self._progress.stop()  # transient: the line is erased


def _progress_line(started: float) -> Any:
    """A rich Progress on standard error: spinner, label, seconds since `started` (e.g.
    "⠋ vigil report 12.3 s")."""
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, SpinnerColumn, TextColumn
    from rich.text import Text

    class Elapsed(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{time.monotonic() - started:.1f} s", style="progress.elapsed")

    console = Console(file=sys.stderr, no_color=not colour.enabled(sys.stderr))
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), Elapsed(), console=console,
                    transient=True, redirect_stdout=False, redirect_stderr=False, refresh_per_second=8)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
