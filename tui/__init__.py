"""Vigil's terminal UI (`vigil tui`): a Textual app that talks to the daemon's admin API."""
