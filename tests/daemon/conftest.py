"""Fixtures for tests against a running daemon (see tests/daemon_support.py)."""

from daemon_support import *  # noqa: F401,F403
