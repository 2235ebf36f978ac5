"""A notification shows its text as written: markup in it is escaped (a daemon's message may quote a
client's or a file's text), and a command in backticks is shown in bold without them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance.home import Home


def test_markup_in_a_message_is_text_and_backticks_become_bold(tmp_path: Path) -> None:
    from appliance.cli.main import main
    from tui.app import VigilApp

    home = tmp_path / "home"
    assert main(["init", "--home", str(home)]) == 0

    async def scenario() -> list[str]:
        app = VigilApp(Home(home), refresh_s=60, show_clock=False)
        async with app.run_test(size=(80, 24)) as pilot:
            app.notify("model '[red]x[/red]' unknown; run `vigil models`")
            await pilot.pause()
            return [str(n.message) for n in app._notifications]

    [shown] = asyncio.run(scenario())
    assert shown == "model '\\[red]x\\[/red]' unknown; run [b]vigil models[/b]"
    from rich.text import Text

    assert Text.from_markup(shown).plain == "model '[red]x[/red]' unknown; run vigil models"
