"""The pre-commit hooks (.pre-commit-hooks.yaml), run by pre-commit itself in scratch git
repositories whose .pre-commit-config.yaml points at this repository's hooks.

The hook repository is a git copy of this source tree (pre-commit clones hook repositories at a
commit, so the copy is what is tested, uncommitted edits included). pre-commit builds the light
hook's virtualenv itself, with ``pip install .``: detaudit and its small dependencies, no torch,
mmengine or mmdet. The full hook runs the ``detaudit`` found on PATH, here the interpreter that
runs these tests. Building the hook's environment costs a pip install (cached by pip) once per
session.
"""
from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from integ_helpers import ROOT, make_project
from integ_helpers import tiny_checkpoint  # noqa: F401 - a fixture

SEED_STAGE2 = ROOT / "examples" / "configs" / "stage2_kaist_domain_ft.py"
FIXED_STAGE2 = ROOT / "examples" / "configs" / "stage2_kaist_domain_ft_fixed.py"
HOOK_TREE = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "detaudit", "rules", "detector")
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1"}


def _pre_commit_path() -> str | None:
    """Where pre-commit is importable from when it is not in this environment's site-packages
    (a developer's PYTHONPATH); None when it is installed here (the test extras)."""
    try:
        import pre_commit
    except ImportError:
        pytest.fail("pre-commit is a test dependency: pip install -e '.[test]'")
    folder = str(Path(pre_commit.__file__).resolve().parents[1])
    return None if folder in {str(Path(p).resolve()) for p in site.getsitepackages()} else folder


def _git(*args, cwd, env, check=True):
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """The environment of a developer's shell: git identity, a private PRE_COMMIT_HOME and HOME
    (no global git config), ``detaudit`` on PATH meaning this interpreter and this source tree,
    and a private detaudit result cache."""
    home = tmp_path_factory.mktemp("home")
    shim = tmp_path_factory.mktemp("bin") / "detaudit"
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    shim.write_text(f"#!/bin/sh\nPYTHONPATH='{os.pathsep.join(paths)}' exec '{sys.executable}' -m detaudit \"$@\"\n")
    shim.chmod(0o755)
    out = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "GIT_DIR", "GIT_WORK_TREE")}
    out.update(GIT_IDENTITY, HOME=str(home), PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")),
               PATH=f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
               DETAUDIT_CACHE_DIR=str(tmp_path_factory.mktemp("detaudit-cache")))
    out.pop("DETAUDIT_NO_CACHE", None)
    # pip's own cache stays where it is (XDG_CACHE_HOME / ~/.cache/pip): the hook's install reuses it
    if "XDG_CACHE_HOME" not in os.environ:
        out["XDG_CACHE_HOME"] = str(Path.home() / ".cache")
    extra = _pre_commit_path()
    if extra:  # only what makes pre-commit importable: the hooks must not see this source tree
        out["PYTHONPATH"] = extra
    return out


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory, env) -> tuple[Path, str]:
    """A git repository holding this source tree as it is now: (path, commit)."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in HOOK_TREE:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy(src, repo / name)
    _git("init", "-q", "-b", "main", cwd=repo, env=env)
    _git("add", "-A", cwd=repo, env=env)
    _git("commit", "-q", "-m", "hooks", cwd=repo, env=env)
    return repo, _git("rev-parse", "HEAD", cwd=repo, env=env).stdout.strip()


def _user_repo(root: Path, hook_repo, env, hooks=("detaudit", "detaudit-full")) -> Path:
    path, rev = hook_repo
    root.mkdir(parents=True, exist_ok=True)
    _git("init", "-q", "-b", "main", cwd=root, env=env)
    config = {"repos": [{"repo": str(path), "rev": rev, "hooks": [{"id": h} for h in hooks]}]}
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / ".gitignore").write_text("work_dirs/\n")
    _git("add", ".pre-commit-config.yaml", ".gitignore", cwd=root, env=env)
    _git("commit", "-q", "--no-verify", "-m", "pre-commit", cwd=root, env=env)
    return root


def _pre_commit(*args, cwd, env):
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


def test_manifest_declares_a_light_and_a_full_hook():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    light, full = hooks["detaudit"], hooks["detaudit-full"]
    assert light["language"] == "python" and "--no-exec" in light["entry"].split()
    assert "stages" not in light  # every commit
    assert full["language"] == "unsupported" and "--no-exec" not in full["entry"].split()
    assert set(full["stages"]) == {"pre-push", "manual"}
    assert full["entry"].split()[-2:] == ["--tier", "train"]  # the default run tier is the manual hook's
    run = hooks["detaudit-run"]
    assert run["entry"] == "detaudit" and run["stages"] == ["manual"] and run["language"] == "unsupported"
    import re

    for hook in (light, full):
        files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])
        assert files.search("configs/stage2.py") and files.search("examples/configs/x/stage2.py")
        assert not files.search("detector/models.py") and not files.search("configs/README.md")
        assert exclude.search("configs/_base_/models/faster-rcnn.py") and not exclude.search("configs/stage2.py")


def test_light_hook_blocks_the_seed_stage2_commit_and_lets_the_fixed_one_through(tmp_path, hook_repo, env):
    """The seed's stage-2 config as its author committed it: DA101 (lr_mult=0 is not freezing,
    read from the config's text: the hook has no mmdet to read the bases) and DA201 (the stage-1
    checkpoint it names is never written) stop the commit. The fixed config commits."""
    repo = _user_repo(tmp_path / "project", hook_repo, env, hooks=("detaudit",))
    install = _pre_commit("install", cwd=repo, env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    config = repo / "configs" / "stage2_kaist_domain_ft.py"
    config.parent.mkdir()
    shutil.copy(SEED_STAGE2, config)
    _git("add", "configs", cwd=repo, env=env)
    blocked = _git("commit", "-m", "stage 2", cwd=repo, env=env, check=False)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "detaudit (static, no config code executed)" in output and "Failed" in output
    assert "configs/stage2_kaist_domain_ft.py:106:54: DA101 [error]" in output, output
    assert "configs/stage2_kaist_domain_ft.py:111:1: DA201 [error]" in output
    assert "package 'mmdet' is not installed in this environment" in output  # DA094: no mmdet in the hook
    assert _git("rev-list", "--count", "HEAD", cwd=repo, env=env).stdout.strip() == "1"

    # the hook's own environment holds detaudit and nothing of the training stack
    envs = list(Path(env["PRE_COMMIT_HOME"]).glob("repo*/py_env-*"))
    assert envs, "pre-commit built no python environment for the hook"
    listed = subprocess.run([str(envs[0] / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, env={**env, "PYTHONPATH": ""}).stdout.lower()
    assert "detaudit==" in listed
    assert not any(line.startswith(pkg) for line in listed.splitlines() for pkg in ("torch", "mmengine", "mmcv",
                                                                                      "mmdet", "numpy"))

    shutil.copy(FIXED_STAGE2, config)
    checkpoint = repo / "work_dirs" / "stage1_llvip_pretrain" / "latest.pth"  # what stage 1 writes
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"stage-1 weights")
    _git("add", "configs", cwd=repo, env=env)
    passed = _git("commit", "-m", "stage 2, fixed", cwd=repo, env=env, check=False)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "detaudit (static, no config code executed)" in passed.stdout + passed.stderr
    assert _git("rev-list", "--count", "HEAD", cwd=repo, env=env).stdout.strip() == "2"


def test_full_hook_blocks_a_push_of_a_broken_config_and_pushes_the_fixed_one(tmp_path, hook_repo, env,
                                                                             tiny_checkpoint):  # noqa: F811
    """pre-push: the full audit in the user's environment (model built, forward, training step)."""
    remote = tmp_path / "remote.git"
    _git("init", "-q", "--bare", str(remote), cwd=tmp_path, env=env)
    repo = _user_repo(tmp_path / "project", hook_repo, env)
    _git("remote", "add", "origin", str(remote), cwd=repo, env=env)
    install = _pre_commit("install", "--hook-type", "pre-push", cwd=repo, env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    make_project(repo, tiny_checkpoint, fixed_name=None)   # configs/stage2_broken.py on the tiny model
    _git("add", "configs", cwd=repo, env=env)
    _git("commit", "-q", "--no-verify", "-m", "broken stage 2", cwd=repo, env=env)
    blocked = _git("push", "-q", "origin", "main", cwd=repo, env=env, check=False)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "detaudit (full audit in your environment)" in output
    assert "configs/stage2_broken.py:4:1: DA201 [error]" in output
    assert "DA101 [error] backbone:" in output, output  # counted on the built model, not read from text
    assert _git("ls-remote", str(remote), cwd=repo, env=env).stdout.strip() == ""

    (repo / "configs" / "stage2_broken.py").unlink()
    make_project(repo, tiny_checkpoint, broken_name=None, fixed_name="stage2.py")
    _git("add", "-A", "configs", cwd=repo, env=env)
    _git("commit", "-q", "--no-verify", "-m", "stage 2, fixed", cwd=repo, env=env)
    pushed = _git("push", "-q", "origin", "main", cwd=repo, env=env, check=False)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "detaudit (full audit in your environment)" in pushed.stdout + pushed.stderr
    assert _git("ls-remote", str(remote), cwd=repo, env=env).stdout.strip()
