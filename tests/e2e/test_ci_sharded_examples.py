"""examples/ci/github-sharded.yml and gitlab-sharded.yml: well-formed, the matrix and the shard
count agree, and their detaudit commands, run as written (one per shard, then the merge) in a
checkout with a configs/ folder, give the report of a single run."""
from __future__ import annotations

import glob
import json
import shlex
from pathlib import Path

import pytest
import yaml

from detaudit.cli import main

from integ_helpers import ROOT, make_project, write

GITHUB = ROOT / "examples" / "ci" / "github-sharded.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-sharded.yml"
# what the examples run at the run tier with limits; here the static tier keeps the test quick
QUICK = {"--tier": "static", "--jobs": None, "--timeout": None, "--max-memory": None}


def _commands(lines: list[str], variables: dict[str, str]) -> list[list[str]]:
    out = []
    for line in lines:
        for name, value in variables.items():
            line = line.replace(name, value)
        argv = shlex.split(line)
        if argv and argv[0] == "detaudit":
            out.append(argv[1:])
    return out


def _quick(argv: list[str]) -> list[str]:
    out, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg in QUICK:
            skip = True
            if QUICK[arg]:
                out += [arg, QUICK[arg]]
            continue
        out.append(arg)
    return out


def _run_shards_and_merge(tmp_path, monkeypatch, capsys, shard_commands, merge_command):
    make_project(tmp_path)
    for name in ("a_ok.py", "b_ok.py", "c_ok.py", "d_syntax.py"):
        write(tmp_path / "configs" / name, "_base_ = ['_base_/tiny_frcnn.py']\n" if "ok" in name else "model = (\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DETAUDIT_NO_CACHE", "1")
    for argv in shard_commands:
        assert main(_quick(argv)) == 0, argv   # the shard jobs never fail on findings
    merge = []
    for arg in merge_command:
        merge += sorted(glob.glob(arg)) if "*" in arg else [arg]
    code = main(merge)
    out = capsys.readouterr()
    assert code == 1, out.err   # the merge job fails on the broken config
    merged = json.loads((tmp_path / "detaudit.json").read_text())
    assert main(["--tier", "static", "configs/", "--format", "json:single.json", "--exit-zero"]) == 0
    single = json.loads((tmp_path / "single.json").read_text())
    strip = lambda audits: [{k: v for k, v in a.items() if k != "timings_s"} for a in audits]  # noqa: E731
    assert strip(merged["audits"]) == strip(single["audits"]) and merged["summary"] == single["summary"]
    assert len(merged["audits"]) == 5
    return out


def test_github_matrix_shards_and_merge_job(tmp_path, monkeypatch, capsys):
    workflow = yaml.safe_load(GITHUB.read_text())
    shards = workflow["env"]["SHARDS"]
    audit, merge = workflow["jobs"]["audit"], workflow["jobs"]["merge"]
    assert audit["strategy"]["matrix"]["shard"] == list(range(1, shards + 1))
    assert audit["strategy"]["fail-fast"] is False and merge["needs"] == "audit"
    run = next(s["run"] for s in audit["steps"] if "--shard" in str(s.get("run", "")))
    upload = next(s for s in audit["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    commands = []
    for i in range(1, shards + 1):
        lines = [ln for ln in run.splitlines() if ln.strip().startswith("detaudit")]
        commands += _commands(lines, {"${{ matrix.shard }}": str(i), "$SHARDS": str(shards), "$DURATIONS": ""})
        assert upload["with"]["path"].replace("${{ matrix.shard }}", str(i)) == f"shard-{i}.json"
    (merge_command,) = _commands(next(s["run"] for s in merge["steps"] if "detaudit merge" in str(s.get("run", "")))
                                 .splitlines(), {})
    out = _run_shards_and_merge(tmp_path, monkeypatch, capsys, commands, merge_command)
    assert "::error file=configs/d_syntax.py" in out.out
    assert (tmp_path / "detaudit.sarif").is_file() and (tmp_path / "detaudit-junit.xml").is_file()


def test_gitlab_parallel_shards_and_merge_job(tmp_path, monkeypatch, capsys):
    pipeline = yaml.safe_load(GITLAB.read_text())
    shard_job, merge_job = pipeline["detaudit-shard"], pipeline["detaudit-merge"]
    total = shard_job["parallel"]
    assert merge_job["needs"] == ["detaudit-shard"]
    assert merge_job["artifacts"]["reports"]["codequality"] == "gl-code-quality.json"
    commands = []
    for i in range(1, total + 1):
        commands += _commands(shard_job["script"], {"$CI_NODE_INDEX": str(i), "$CI_NODE_TOTAL": str(total),
                                                    "$DURATIONS": ""})
    assert len(commands) == total
    (merge_command,) = _commands(merge_job["script"], {})
    _run_shards_and_merge(tmp_path, monkeypatch, capsys, commands, merge_command)
    quality = json.loads((tmp_path / "gl-code-quality.json").read_text())
    assert any(issue["check_name"] == "DA001" for issue in quality)


@pytest.mark.parametrize("path", [GITHUB, GITLAB])
def test_examples_install_the_pinned_stack(path):
    text = path.read_text()
    assert "torch==2.13.0" in text and "mmcv==2.1.0" in text and "mmdet==3.3.0" in text
