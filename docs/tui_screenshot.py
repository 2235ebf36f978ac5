"""Write docs/tui-overview.svg: the console's overview of a home (the demo's), as Textual exports it.

    .venv/bin/python docs/tui_screenshot.py vigil-demo [--size 100x30]

Starts `vigil up` on the home when no daemon runs (and stops it afterwards), so the picture shows
the live view.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def shoot(home: Path, size: tuple[int, int]) -> str:
    from appliance.home import Home
    from tui.app import VigilApp

    app = VigilApp(Home(home), refresh_s=3600)
    async with app.run_test(size=size) as pilot:
        while app.last_refresh is None or app.identity is None:
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        return app.export_screenshot(title="vigil tui")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home")
    parser.add_argument("--size", default="100x30")
    args = parser.parse_args()
    from appliance.daemon.discovery import find
    from appliance.home import Home

    home = Path(args.home).resolve()
    width, height = (int(n) for n in args.size.split("x"))
    daemon = None
    if find(Home(home)) is None:
        daemon = subprocess.Popen([str(Path(sys.executable).with_name("vigil")), "up", "--home", str(home),
                                   "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while find(Home(home)) is None:
            time.sleep(0.1)
    try:
        svg = asyncio.run(shoot(home, (width, height)))
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(60)
    target = ROOT / "docs" / "tui-overview.svg"
    target.write_text(svg, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
