"""Where a finding is, as CI services need it: a path relative to the repository root and a line.

Code scanning and workflow annotations can only point into the checked-out repository. A
finding located in a file outside it (a base config inside the installed mmdet package, also
when the virtualenv lies inside the checkout: any path through ``site-packages``, a
``--cfg-options`` override) is moved to the audited config, on the line of its ``_base_``
(or ``read_base()``) statement, and the original place is named in the message, with a path
relative to its ``site-packages`` folder so that no absolute path leaves the machine. A
finding without a line gets the line of its key path, else of ``model.<module path>``, else 1.

The repository root is ``$GITHUB_WORKSPACE`` (GitHub Actions) or ``$CI_PROJECT_DIR`` (GitLab CI)
when the current directory lies inside it, else the nearest folder upwards holding ``.git``,
else the current directory.

:func:`ci_findings` is what every CI format renders: each finding with its location and its
fingerprint (the baseline's, with the config path relative to the repository root; a second
finding with the same fingerprint gets ``:2``, and so on), so that SARIF, GitLab Code Quality,
rdjson and JSON Lines name the same finding the same way.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CiLocation:
    uri: str            # relative to the repository root, forward slashes
    line: int           # >= 1
    column: int | None
    note: str | None    # where the finding really is, when it had to be moved


@dataclass(frozen=True)
class CiFinding:
    config: str         # the audited config as the report shows it
    config_uri: str     # the audited config relative to the repository root (as given when outside)
    finding: object     # the Finding
    where: CiLocation
    fingerprint: str    # unique within the report


def repo_root(cwd: Path | None = None) -> Path:
    cwd = Path(cwd or Path.cwd()).resolve()
    for variable in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR"):
        workspace = os.environ.get(variable)
        if not workspace:
            continue
        ws = Path(workspace).resolve()
        if cwd == ws or ws in cwd.parents:
            return ws
    for folder in (cwd, *cwd.parents):
        if (folder / ".git").exists():
            return folder
    return cwd


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _in_repository(path: Path, root: Path) -> bool:
    """Inside the root and not installed code (a virtualenv inside the checkout is not the project's)."""
    if not _inside(path, root):
        return False
    return not ({"site-packages", "dist-packages"} & set(path.relative_to(root).parts))


def _uri(path: Path, root: Path) -> str:
    from urllib.parse import quote

    return quote(Path(os.path.relpath(path, root)).as_posix(), safe="/._-~+")


def outside_name(path: str) -> str:
    """A machine-independent name for a file outside the repository."""
    parts = Path(path).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            return "/".join(parts[parts.index(marker) + 1:])
    return Path(path).name


def locate(finding, audit_config: str, cwd: Path, root: Path, base_line: int | None = None) -> CiLocation:
    """Where CI shows a finding: its own file:line (the audit located it through the source map)
    when that file is in the repository, else the audited config's ``_base_`` line (``base_line``,
    as the load stage read it; 1 when unknown) with a note naming the real place."""
    config = (cwd / audit_config).resolve()
    base_line = base_line or 1
    loc = finding.location
    file = loc.file if loc is not None else None
    line = loc.line if loc is not None else None
    column = loc.column if loc is not None else None
    if not file or file.startswith("<"):
        path = config
        if file == "<cfg-options>":
            return CiLocation(_uri(config, root), base_line, None, "set by --cfg-options")
    else:
        path = (cwd / file).resolve()
    if not line or line < 1:
        line, column = None, None
    if not _in_repository(path, root) and _in_repository(config, root) and path != config:
        note = f"located in {outside_name(str(path))}" + (f":{line}" if line else "")
        return CiLocation(_uri(config, root), base_line, None, note)
    return CiLocation(_uri(path, root), line or 1, column, None)


def ci_findings(report, cwd: Path | None = None, root: Path | None = None) -> list[CiFinding]:
    """Every finding of the report in report order, located and fingerprinted for CI."""
    from ..report.baseline import fingerprint

    cwd = Path(cwd or Path.cwd()).resolve()
    root = Path(root).resolve() if root else repo_root(cwd)
    out = []
    seen: dict[str, int] = {}
    for audit in report.audits:
        for f in audit.findings:
            fp = fingerprint(f, cwd, root)
            seen[fp] = seen.get(fp, 0) + 1
            if seen[fp] > 1:  # same code, config, key and module twice: keep them apart, as GitHub's ":N"
                fp = f"{fp}:{seen[fp]}"
            config_uri = audit.config
            if not audit.config.startswith("<"):
                config_path = (cwd / audit.config).resolve()
                if _inside(config_path, root):
                    config_uri = config_path.relative_to(root).as_posix()
            out.append(CiFinding(audit.config, config_uri, f, locate(f, audit.config, cwd, root, audit.base_line), fp))
    return out


def message_with_note(f, where: CiLocation) -> str:
    """The finding's message (never empty), with where it really is when it had to be moved."""
    text = next((str(t).strip() for t in (f.message, f.name, f.code) if t and str(t).strip()), "-")
    return f"{text} ({where.note})" if where.note else text
