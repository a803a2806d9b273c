"""Write the zoo reports' dashboards into docs/dashboard/ (the published example of
``detaudit dashboard``): one site per sweep report.

    python scripts/zoo_dashboards.py
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITES = (("zoo-build", "zoo-report.json", "MMDetection 3.3 model zoo, build tier"),
         ("zoo-forward", "zoo-report-forward.json", "MMDetection 3.3 model zoo, forward tier"),
         ("zoo-run", "zoo-report-run.json", "MMDetection 3.3 model zoo, run tier"),
         ("zoo-projects", "zoo-report-projects.json", "MMDetection 3.3 projects/, build tier"))


def main() -> int:
    from detaudit.dashboard.command import cmd_dashboard

    for name, report, title in SITES:
        out = DOCS / "dashboard" / name
        shutil.rmtree(out, ignore_errors=True)
        code = cmd_dashboard([str(DOCS / report), "-o", str(out), "--title", title])
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
