"""Fixtures of the run-data tests: the entry points this tree declares, and mmdet's registries."""
from __future__ import annotations

import sys
import tomllib
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

warnings.filterwarnings("ignore", message=".*pkg_resources is deprecated.*")


def _group_installed() -> bool:
    """Whether the installed metadata publishes this tree's ``detaudit.datasets`` entries as they are."""
    from importlib.metadata import entry_points

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = declared.get("entry-points", {}).get("detaudit.datasets", {})
    installed = {ep.name: ep.value for ep in entry_points(group="detaudit.datasets")}
    return bool(installed) and all(installed.get(name) == value for name, value in declared.items())


@pytest.fixture(autouse=True, scope="session")
def declared_entry_points(tmp_path_factory):
    """The entry points of this tree's pyproject.toml, as an install of the tree would publish them.

    An editable install publishes the entry points of the pyproject it was installed from; when
    that install predates this tree's ``detaudit.datasets`` entries, a metadata folder written from this
    tree's pyproject is put first on ``sys.path`` for the session (it shadows the older one).
    Yields that folder (None when the install is current), for tests that start a subprocess."""
    from detaudit.facts.run import datasets as data

    if _group_installed():
        yield None
        return
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    site = tmp_path_factory.mktemp("site")
    info = site / f"detaudit-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: detaudit\nVersion: {project['version']}\n")
    lines = []
    for group, entries in project.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in entries.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    sys.path.insert(0, str(site))
    data.writers.cache_clear()
    yield site
    sys.path.remove(str(site))
    data.writers.cache_clear()


@pytest.fixture(scope="session")
def mmdet_ready():
    pytest.importorskip("mmdet")
    import detector  # noqa: F401  (registers LLVIPDataset, KAISTDataset and their transforms)
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    return True


@pytest.fixture(autouse=True)
def mmdet_scope(request):
    """The tests that build from mmdet's registries do so in mmdet's scope, whatever scope an earlier
    test in this process left current (a Runner makes its own scope the current one)."""
    if "mmdet_ready" not in request.fixturenames:
        yield
        return
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope("mmdet"):
        yield
