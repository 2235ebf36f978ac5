"""Text that people typed is shown as written in every console table: markup in it is not parsed, so
a reason or query holding `[/b]` neither restyles the screen nor stops it from drawing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance.home import Home

HOSTILE = "[/b][link=file:///etc/passwd]click[/link][red]x"


def test_markup_typed_into_stored_text_is_shown_as_written(tmp_path: Path) -> None:
    from appliance.cli.main import main
    from tui.app import VigilApp
    from tui.base import DataScreen

    home = tmp_path / "home"
    assert main(["init", "--home", str(home)]) == 0
    from appliance.clock import utc_now
    from appliance.store import registry_queries as q
    from appliance.store.connection import Store

    with Store.open(home / "vigil.duckdb") as store:  # a reason as someone typed it
        q.insert_audit(store, utc_now(), "ann", "alias.move", "delay", 2, {}, subject="alias:delay@champion",
                       reason=HOSTILE)

    async def scenario() -> tuple[list[str], list[str]]:
        app = VigilApp(Home(home), refresh_s=60, show_clock=False)
        async with app.run_test(size=(200, 50)) as pilot:
            await pilot.press("5")
            audit: list[str] = []
            for _ in range(200):
                await pilot.pause(0.05)
                screen = app.screen
                if isinstance(screen, DataScreen) and screen.shown:
                    table = screen.query_one("#audit")
                    audit = [str(c) for i in range(table.row_count) for c in table.get_row_at(i)]
                    if any(HOSTILE[:8] in c for c in audit):
                        break
            await pilot.press("6")
            await pilot.pause(0.2)
            await pilot.press(*f"SELECT '{HOSTILE}' AS typed", "enter")
            result: list[str] = []
            for _ in range(200):
                await pilot.pause(0.05)
                table = app.screen.query_one("#result")
                if table.row_count:
                    result = [str(c) for c in table.get_row_at(0)]
                    break
            await pilot.pause(0.2)  # a markup error would surface when the table draws
            return audit, result

    audit, result = asyncio.run(scenario())
    assert any(HOSTILE in c for c in audit), audit
    assert result == [HOSTILE]
