"""Take the README's dashboard screenshots (docs/img/dashboard-*.png) in headless Chromium.

    python scripts/zoo_dashboards.py
    detaudit examples/configs/stage2_kaist_domain_ft.py --format json:stage2-report.json
    python scripts/dashboard_screenshots.py stage2-report.json

The matrix, base-file impact, rules and new/fixed views are the zoo run tier's dashboard
(docs/dashboard/zoo-run); the config view is the stage-2 example's report (its module table).
Needs Debian's chromium and the Playwright client (the test extra); PNGs are reduced to a palette.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(argv: list[str]) -> int:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from detaudit.dashboard.data import combine
    from detaudit.dashboard.model import load
    from detaudit.dashboard.site import single_page

    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    out = ROOT / "docs" / "img"
    out.mkdir(exist_ok=True)
    site = (ROOT / "docs" / "dashboard" / "zoo-run" / "index.html").as_uri()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        data = combine([load(argv[0])])
        data["title"] = "detaudit report"
        page_file = Path(tmp, "report.html")
        page_file.write_text(single_page(data))
        context = pw.chromium.launch_persistent_context(str(Path(tmp, "profile")), headless=True, args=ARGS,
                                                        executable_path="/usr/bin/chromium", offline=True)

        def shot(name, url, height=680, act=None):
            page = context.new_page()
            page.set_viewport_size({"width": 1200, "height": height})
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            if act:
                act(page)
            page.screenshot(path=str(Path(tmp, "shot.png")))
            image = Image.open(Path(tmp, "shot.png")).convert("RGB")
            small = image.quantize(colors=160, method=Image.Quantize.MEDIANCUT)
            small.save(out / f"dashboard-{name}.png", optimize=True)
            page.close()

        shot("matrix", site, act=lambda p: p.locator("#matrix td.cell.s3[data-g='run']").nth(14).click())
        shot("impact", site + "#/impact")
        shot("rules", site + "#/rules")
        shot("diff", site + "#/diff")
        shot("config", page_file.as_uri() + "#/config/0", height=1500)
        context.close()
    print(f"wrote {out}/dashboard-{{matrix,impact,rules,diff,config}}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
