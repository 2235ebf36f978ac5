"""Another account on the box cannot read the private home; it reaches the daemon by its address
(VIGIL_URL) with its own token, and is then exactly the user of that token."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from daemon_support import start_daemon, token_of



def test_a_user_without_the_home_reaches_the_daemon_by_address_with_atoken_of(
        fresh_home: Path, tmp_path: Path, vigil: Callable[..., Any]) -> None:
    ada = token_of(vigil("users", "add", "ada", "--role", "admin", "--home", fresh_home).out)
    vera = token_of(vigil("users", "add", "vera", "--role", "viewer", "--home", fresh_home,
                        env={"VIGIL_TOKEN": ada}).out)
    daemon = start_daemon(fresh_home, tmp_path / "daemon.log")
    try:
        elsewhere = tmp_path / "not-the-home"  # no home here: nothing is read from disk but the token
        empty_config = tmp_path / "config"
        as_vera = {"VIGIL_URL": daemon.url, "VIGIL_TOKEN": vera, "XDG_CONFIG_HOME": str(empty_config)}
        who = vigil("whoami", "--home", elsewhere, env=as_vera)
        assert who.code == 0 and who.out.strip() == "vera (viewer, identified by token)", who.err
        models = vigil("models", "--home", elsewhere, env=as_vera)
        assert models.code == 0 and "delay" in models.out
        refused = vigil("rollback", "delay", "--reason", "x", "--home", elsewhere, env=as_vera)
        assert refused.code == 2 and "vera (viewer) may not run 'rollback'" in refused.err
        no_token = vigil("models", "--home", elsewhere, env={**as_vera, "VIGIL_TOKEN": ""})
        assert no_token.code == 2 and "needs your user token: set VIGIL_TOKEN" in no_token.err
        assert "Traceback" not in no_token.err
        bad_url = vigil("models", "--home", elsewhere, env={**as_vera, "VIGIL_URL": "ftp://127.0.0.1/x"})
        assert bad_url.code == 2 and "is not a daemon address; use http://HOST:PORT" in bad_url.err
        assert not elsewhere.exists()
    finally:
        daemon.stop()
