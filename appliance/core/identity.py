"""The OS account behind a process, by its uid.

The name comes from the password database (`getpwuid`), never from `$USER`, `$LOGNAME` or anything
else the caller can set: an environment variable is a claim, the uid is a fact the kernel keeps.
A uid without an entry in the password database is named `uid-N`.
"""

from __future__ import annotations

import os
import pwd


def account_name(uid: int) -> str:
    """The login name of `uid`, or `uid-N` when the password database has no entry for it."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def current_account() -> str:
    """The OS account this process runs as (its real uid)."""
    return account_name(os.getuid())
