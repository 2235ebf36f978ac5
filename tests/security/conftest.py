"""Fixtures for the security tests: real daemons, homes, users and tokens (see tests/daemon_support.py)."""

from daemon_support import *  # noqa: F401,F403
