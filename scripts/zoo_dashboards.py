"""Write the zoo reports' dashboards into docs/dashboard/ (the published example of
``detaudit dashboard``): one site per sweep report. The run tier's is compared with the
unfinished run-tier sweep committed before it (git commit EARLIER_RUN), as "new / fixed".

    python scripts/zoo_dashboards.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SITES = (("zoo-build", "zoo-report.json", "MMDetection 3.3 model zoo, build tier"),
         ("zoo-forward", "zoo-report-forward.json", "MMDetection 3.3 model zoo, forward tier"),
         ("zoo-run", "zoo-report-run.json", "MMDetection 3.3 model zoo, run tier"),
         ("zoo-projects", "zoo-report-projects.json", "MMDetection 3.3 projects/, build tier"))
EARLIER_RUN = "47ab215"


def main() -> int:
    from detaudit.faces.cli.dashboard import cmd_dashboard

    earlier = DOCS / f"zoo-report-run@{EARLIER_RUN}.json"
    earlier.write_text(subprocess.run(["git", "show", f"{EARLIER_RUN}:docs/zoo-report-run.json"], cwd=ROOT,
                                      check=True, capture_output=True, text=True).stdout)
    here = os.getcwd()
    os.chdir(DOCS)   # the pages name each report as it was given: by its file name, not this machine's path
    try:
        for name, report, title in SITES:
            out = DOCS / "dashboard" / name
            shutil.rmtree(out, ignore_errors=True)
            baseline = ["--baseline", earlier.name] if name == "zoo-run" else []
            code = cmd_dashboard([report, "-o", str(out), "--title", title, *baseline])
            if code:
                return code
    finally:
        os.chdir(here)
        earlier.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
