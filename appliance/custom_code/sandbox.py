"""What a team's code may reach from its worker: everything the OS user may, except Vigil's home, the
network and the processes outside the worker (Linux Landlock, applied before the code is imported).

Trusted code still runs as Vigil's OS user, so without this it could read `<home>/admin.token`, the
store or the signing keys, connect to the admin port with that token, or signal the daemon. Landlock
rules only allow, so "all but the home" is spelled as: every entry of each folder on the way down to
the home except the next one on that way (an entry that leads into the home, as a symlink may, is
left out too), plus the worker's own folder and Python's installation even when they lie inside it.
TCP connect and bind are refused (no rule allows any port), and signals and abstract Unix sockets
cannot reach a process outside the worker (Landlock scopes). Of /proc only the worker's own folder
and the system-wide files are allowed, so the daemon's `environ`, `mem` and `fd/` stay closed.

Where the kernel has no Landlock the worker runs as before and says so in its log; the admin's trust
by hash is then the only guard (docs/security.md).
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

_CREATE, _ADD_RULE, _RESTRICT = 444, 445, 446  # the syscall numbers are the same on every architecture
_VERSION = 1  # LANDLOCK_CREATE_RULESET_VERSION
_PATH_BENEATH = 1
_NO_NEW_PRIVS = 38
_FILE_ACCESS = (1 << 0) | (1 << 1) | (1 << 2)  # execute, write, read
_ABI_BITS = {1: (1 << 13) - 1, 2: 1 << 13, 3: 1 << 14, 5: 1 << 15}  # refer (2), truncate (3), ioctl_dev (5)
_FILE_BITS = {3: 1 << 14, 5: 1 << 15}


class _Ruleset(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def confine(home: Path, folder: Path) -> str:
    """Restrict this process (and what it starts) as the module says; the outcome, for the worker's log."""
    libc = ctypes.CDLL(None, use_errno=True)
    abi = libc.syscall(_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION))
    if abi < 1:
        return f"no Landlock in this kernel (errno {ctypes.get_errno()}): the team's code is not confined"
    handled = sum(bits for level, bits in _ABI_BITS.items() if abi >= level)
    file_bits = _FILE_ACCESS | sum(bits for level, bits in _FILE_BITS.items() if abi >= level)
    attr = _Ruleset(handled, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)  # tcp bind+connect; abstract unix+signal
    size = ctypes.sizeof(_Ruleset) if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return f"Landlock refused the ruleset (errno {ctypes.get_errno()}): the team's code is not confined"
    try:
        for path in _allowed(home.resolve(), folder.resolve()):
            _allow(libc, ruleset, path, handled if path.is_dir() else file_bits)
        if libc.prctl(_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or libc.syscall(_RESTRICT, ruleset, ctypes.c_uint32(0)) != 0:
            return f"Landlock could not be applied (errno {ctypes.get_errno()}): the team's code is not confined"
    finally:
        os.close(ruleset)
    return f"confined by Landlock ABI {abi}: no access to {home}, no TCP, no signals outside the worker"


def _allowed(home: Path, folder: Path) -> list[Path]:
    """Every path on the way to `home` but the way itself, and the worker's own folders."""
    python = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    allowed = [folder, *(p for p in python if not _reaches(p, home) or home in p.parents)]
    for step in [*reversed(home.parents)]:
        following = home if step == home.parent else next(p for p in home.parents if p.parent == step)
        try:
            entries = list(step.iterdir())
        except OSError:
            continue
        allowed += [e for e in entries if e != following and not _reaches(e, home)]
    return [kept for path in allowed for kept in (_own_proc() if path == Path("/proc") else [path])]


def _own_proc() -> list[Path]:
    """/proc without other processes' folders (the daemon's `environ` is readable to its OS user)."""
    own = str(os.getpid())
    try:
        return [e for e in Path("/proc").iterdir() if not e.name.isdigit() or e.name == own]
    except OSError:
        return []


def _reaches(entry: Path, home: Path) -> bool:
    """Does `entry` (followed, as Landlock follows it) hold the home or lie inside it?"""
    try:
        resolved = entry.resolve()
    except (OSError, RuntimeError):
        return True
    return resolved == home or resolved in home.parents or home in resolved.parents


def _allow(libc: ctypes.CDLL, ruleset: int, path: Path, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # gone, or not ours to open: nothing to allow
    try:
        rule = _PathBeneath(access, fd)
        libc.syscall(_ADD_RULE, ruleset, _PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(fd)
