"""The CLI at a terminal (a real pseudo-terminal): status words coloured, a spinner with the elapsed
time on work longer than a second; none of it with NO_COLOR or --no-color, and piped output exactly
the plain text."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

from support import VIGIL

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
APPLIED_GREEN = "\x1b[32mapplied\x1b[0m"


def at_terminal(*args: object, env: dict[str, str] | None = None, timeout: float = 300) -> tuple[int, str]:
    """Run `vigil ARGS` with standard input, output and error on a pseudo-terminal; its exit code and
    everything it wrote there."""
    controller, terminal = pty.openpty()
    environment = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", **(env or {})}
    for name in ("NO_COLOR", "FORCE_COLOR"):
        if name not in (env or {}):
            environment.pop(name, None)
    process = subprocess.Popen([str(VIGIL), *map(str, args)], stdin=terminal, stdout=terminal, stderr=terminal,
                               env=environment, close_fds=True)
    os.close(terminal)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(timeout), b"".join(chunks).decode("utf-8", "replace")


def piped(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return subprocess.run([str(VIGIL), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={**environment, **(env or {})})


def plain(terminal_text: str) -> str:
    return ANSI.sub("", terminal_text).replace("\r\n", "\n")


def test_status_words_coloured_at_a_terminal_and_plain_when_piped(home: Path) -> None:
    code, shown = at_terminal("migrate", "--status", "--home", home)
    assert code == 0
    assert shown.count(APPLIED_GREEN) >= 30  # the state column, every migration applied
    assert "\x1b[32mnumber" not in shown and "\x1b[" not in shown.splitlines()[0]  # the header is not coloured
    out = piped("migrate", "--status", "--home", home)
    assert out.returncode == 0 and out.stderr == ""
    assert "\x1b" not in out.stdout
    assert plain(shown) == out.stdout  # the same text, byte for byte, without the colour
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["number", "name", "state", "applied_at"]
    assert all(line.split()[2] == "applied" for line in lines[1:])


def test_no_color_and_the_flag_turn_colour_off(home: Path) -> None:
    for env, flag in (({"NO_COLOR": "1"}, ()), (None, ("--no-color",))):
        code, shown = at_terminal(*flag, "migrate", "--status", "--home", home, env=env)
        assert code == 0
        assert "\x1b[" not in shown, (env, flag)
        assert shown.replace("\r\n", "\n") == piped("migrate", "--status", "--home", home).stdout


def test_force_color_colours_piped_output(home: Path) -> None:
    out = piped("migrate", "--status", "--home", home, env={"FORCE_COLOR": "1"})
    assert APPLIED_GREEN in out.stdout
    assert piped("--no-color", "migrate", "--status", "--home", home, env={"FORCE_COLOR": "1"}).stdout == \
        piped("migrate", "--status", "--home", home).stdout


def test_long_work_shows_a_spinner_with_elapsed_time_only_at_a_terminal(home: Path, write_spec) -> None:
    spec = write_spec()
    code, shown = at_terminal("train", "--spec", spec, "--reason", "at a terminal", "--home", home)
    assert code == 0, shown
    ticks = re.findall(r"vigil train\s+(?:\x1b\[[0-9;]*m)?(\d+\.\d) s", shown)
    assert ticks and float(ticks[0]) >= 1.0  # nothing before the first second
    assert [float(t) for t in ticks] == sorted(float(t) for t in ticks)  # the time goes on
    assert "trained delay v1" in plain(shown).split("vigil train")[-1]  # the result comes after the spinner
    out = piped("train", "--spec", spec, "--reason", "piped", "--home", home)
    assert out.returncode == 0 and out.stderr == ""  # no spinner where no terminal is
    assert out.stdout.startswith("trained delay v2 ") and "\x1b" not in out.stdout


def test_an_error_stays_one_line_with_exit_2(home: Path) -> None:
    code, shown = at_terminal("show", "nosuch", "1", "--home", home)
    assert code == 2
    after_spinner = plain(shown.split("\x1b[2K")[-1]).strip()  # a busy machine may show one first, then erase it
    assert after_spinner == "vigil: error: no model named 'nosuch'; list models with `vigil models`"
