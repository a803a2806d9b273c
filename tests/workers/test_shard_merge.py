"""Shards (``--shard I/N``, ``--durations``) and ``detaudit merge``: the split is deterministic,
disjoint and complete, durations balance it, and the merged report of the shards equals the
report of one run, config by config, in JSON, SARIF, JUnit and GitLab."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest

from detaudit.cli import main
from detaudit.workers import shard

ROOT = Path(__file__).resolve().parents[2]
ZOO_RUN = ROOT / "docs" / "zoo-report-run.json"
REPORT_SCHEMA = ROOT / "detaudit" / "schema" / "report.schema.json"
FIXTURES = ROOT / "tests" / "fixtures"
# configs of every kind: clean, with findings, failing to load, hostile (a syntax error, a circular base)
CONFIGS = ["rules/DA201/fires.py", "rules/DA201/quiet.py", "rules/DA001/fires_syntax_error.py", "rules/DA003/fires.py",
           "rules/DA001/fires_missing_base.py", "hostile/empty.py", "hostile/syntax_error.py", "hostile/base_missing.py",
           "hostile/circular_a.py", "hostile/circular_b.py", "hostile/bad_load_from.py", "rules/DA205/fires.py",
           "rules/DA007/fires_unknown_code.py"]
SUPPORT = ["hostile/not_a_checkpoint.pth"]


# ----------------------------------------------------------------------------- the split
def test_parse_shard_takes_i_of_n_counted_from_one():
    assert shard.parse_shard("2/3") == (2, 3)
    assert shard.parse_shard(" 1 / 1 ") == (1, 1)
    for bad, words in (("0/3", "between 1 and 3"), ("4/3", "between 1 and 3"), ("3", "I/N"), ("a/b", "I/N"),
                       ("1/0", "number of shards")):
        with pytest.raises(shard.ShardError, match=words):
            shard.parse_shard(bad)


def test_round_robin_over_the_sorted_keys_is_disjoint_complete_and_order_free():
    keys = [f"configs/{name}.py" for name in "qwertyuiopasdfghjklzxcvbnm"]
    shards = shard.split(keys, 4)
    flat = sorted(i for s in shards for i in s)
    assert flat == list(range(len(keys)))
    assert [len(s) for s in shards] == [7, 7, 6, 6]
    by_key = sorted(keys)
    assert [keys[i] for i in shards[0]] == sorted(by_key[0::4], key=keys.index)
    # the same configs listed in another order (another machine's folder listing) split the same way
    reordered = list(reversed(keys))
    again = shard.split(reordered, 4)
    assert [sorted(reordered[i] for i in s) for s in again] == [sorted(keys[i] for i in s) for s in shards]


def test_more_shards_than_configs_leaves_some_empty():
    assert shard.split(["b.py", "a.py"], 3) == [[1], [0], []]


def test_config_keys_are_relative_posix_paths(tmp_path):
    (tmp_path / "configs").mkdir()
    assert shard.config_key(tmp_path / "configs" / "x.py", tmp_path) == "configs/x.py"
    assert shard.config_key("./configs/x.py", tmp_path) == "configs/x.py"


def test_durations_balance_the_zoo_run_report():
    """Balancing measured on the zoo's run-tier report (823 configs, 4 h of audits): longest
    processing time first keeps the slowest shard within 1.3x of the mean; round-robin does not
    come as close."""
    durations = shard.load_durations(ZOO_RUN)
    keys = sorted(durations)
    seconds = [durations[k] for k in keys]
    assert len(keys) > 800
    for count in (2, 3, 4, 8):
        balanced = shard.shard_loads(shard.split(keys, count, seconds), seconds)
        plain = shard.shard_loads(shard.split(keys, count), seconds)
        mean = sum(seconds) / count
        assert max(balanced) <= 1.3 * mean, (count, balanced)
        assert max(balanced) <= max(plain)
    eight_plain = shard.shard_loads(shard.split(keys, 8), seconds)
    assert max(eight_plain) > 1.1 * sum(seconds) / 8   # the imbalance durations remove


def test_durations_match_by_path_tail_and_fill_unknown_configs(tmp_path):
    report = tmp_path / "earlier.json"
    report.write_text(json.dumps({"audits": [
        {"config": "faster_rcnn/a.py", "timings_s": {"total": 100.0}},
        {"config": "./b.py", "timings_s": {"build": 1.0, "forward": 2.0}},
        {"config": "c.py", "timings_s": {"total": 4.0}}]}))
    durations = shard.load_durations(report)
    assert durations == {"faster_rcnn/a.py": 100.0, "b.py": 3.0, "c.py": 4.0}
    keys = ["zoo/faster_rcnn/a.py", "b.py", "new.py", "c.py"]
    assert shard.match_durations(keys, durations) == [100.0, 3.0, None, 4.0]
    # the slow config alone on one shard, the rest (the unknown one counted as the median, 4 s) on the other
    assert shard.split(keys, 2, shard.match_durations(keys, durations)) == [[0], [1, 2, 3]]


@pytest.mark.parametrize("body, words", [("{", "not a JSON report"), ('{"x": 1}', "no 'audits' list"),
                                         ('{"audits": [{"config": "a.py"}]}', "no audit with timings")])
def test_bad_durations_files_are_one_line_errors(tmp_path, capsys, body, words):
    bad = tmp_path / "durations.json"
    bad.write_text(body)
    assert main(["--shard", "1/2", "--durations", str(bad), "--tier", "static", "--no-cache",
                 str(FIXTURES / CONFIGS[0])]) == 2
    err = capsys.readouterr().err
    assert words in err and str(bad) in err and "Traceback" not in err


def test_durations_without_shard_is_misuse(capsys):
    assert main(["--durations", str(ZOO_RUN), "--tier", "static", str(FIXTURES / CONFIGS[0])]) == 2
    assert "--durations balances --shard" in capsys.readouterr().err


# ----------------------------------------------------------------------------- shards merged
def _strip_times(value):
    """Timings differ from run to run; everything else must be equal."""
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items() if k not in ("timings_s", "cached")}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return value


def _junit_without_times(text: str) -> str:
    return re.sub(r' time="[0-9.]+"', "", text)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The configs copied into one project folder; the audits run from there (relative paths)."""
    root = tmp_path_factory.mktemp("shards")
    for rel in CONFIGS + SUPPORT:
        target = root / "configs" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / rel, target)
    for base in ("rules/_base_",):
        shutil.copytree(FIXTURES / base, root / "configs" / base)
    return root


def _audit(workspace, monkeypatch, *extra, name):
    monkeypatch.chdir(workspace)
    out = workspace / "out" / name
    out.mkdir(parents=True, exist_ok=True)
    # the configs named one by one, in an order that is not sorted: the merge keeps the run's order
    code = main(["--tier", "static", "--no-cache", "--exit-zero", *(f"configs/{c}" for c in CONFIGS),
                 "--format", f"json:{out}/report.json", "--format", f"sarif:{out}/report.sarif",
                 "--format", f"junit:{out}/report.xml", "--format", f"gitlab:{out}/gitlab.json", *extra])
    assert code == 0, name
    return out


def _formats(folder: Path) -> dict:
    return {"json": _strip_times(json.loads((folder / "report.json").read_text())),
            "sarif": json.loads((folder / "report.sarif").read_text()),
            "junit": _junit_without_times((folder / "report.xml").read_text()),
            "gitlab": json.loads((folder / "gitlab.json").read_text())}


@pytest.mark.parametrize("balanced", [False, True], ids=["round-robin", "durations"])
def test_three_shards_merged_equal_one_run(workspace, monkeypatch, capsys, balanced):
    single = _audit(workspace, monkeypatch, name="single")
    durations = ["--durations", str(single / "report.json")] if balanced else []
    shards = [_audit(workspace, monkeypatch, "--shard", f"{i}/3", *durations, name=f"shard{i}-{balanced}")
              for i in (1, 2, 3)]
    schema = json.loads(REPORT_SCHEMA.read_text())
    sizes = []
    for folder in shards:
        data = json.loads((folder / "report.json").read_text())
        jsonschema.validate(data, schema)
        assert data["shard"]["balanced_by"] == ("durations" if balanced else "round-robin")
        sizes.append(len(data["audits"]))
    assert sum(sizes) == len(CONFIGS) and all(sizes)
    merged = workspace / "out" / f"merged-{balanced}"
    merged.mkdir()
    # the shards in any order
    reports = [str(shards[i] / "report.json") for i in (2, 0, 1)]
    for fmt, name in (("json", "report.json"), ("sarif", "report.sarif"), ("junit", "report.xml"),
                      ("gitlab", "gitlab.json")):
        assert main(["merge", *reports, "--format", f"{fmt}:{merged / name}", "--exit-zero"]) == 0
    got, want = _formats(merged), _formats(single)
    jsonschema.validate(json.loads((merged / "report.json").read_text()), schema)
    assert "shard" not in got["json"]
    assert [a["config"] for a in got["json"]["audits"]] == [a["config"] for a in want["json"]["audits"]]
    for got_audit, want_audit in zip(got["json"]["audits"], want["json"]["audits"]):
        assert got_audit == want_audit, got_audit["config"]
    assert got == want
    assert f"merged 3 report(s): {len(CONFIGS)} config(s)" in capsys.readouterr().err


def test_merge_exit_code_follows_fail_on(workspace, monkeypatch, capsys):
    shards = [_audit(workspace, monkeypatch, "--shard", f"{i}/2", name=f"fail{i}") for i in (1, 2)]
    reports = [str(s / "report.json") for s in shards]
    assert main(["merge", *reports, "-o", str(workspace / "out" / "m.json")]) == 1  # the fixtures have errors
    assert main(["merge", *reports, "--exit-zero", "--format", "text"]) == 0
    assert "DA001" in capsys.readouterr().out


def test_bad_merges_name_the_file(workspace, monkeypatch, capsys, tmp_path):
    shards = [_audit(workspace, monkeypatch, "--shard", f"{i}/3", name=f"bad{i}") for i in (1, 2, 3)]
    one, two, three = (str(s / "report.json") for s in shards)
    plain = _audit(workspace, monkeypatch, name="plain") / "report.json"
    old = tmp_path / "old.json"
    data = json.loads(Path(one).read_text())
    data["schema_version"] = "0.9"
    old.write_text(json.dumps(data))
    other = tmp_path / "other.json"
    data = json.loads(Path(two).read_text())
    data["settings"]["tier"] = "build"
    other.write_text(json.dumps(data))
    notjson = tmp_path / "notes.txt"
    notjson.write_text("hello")
    cases = [([one, two], "shard(s) 3/3 missing"),
             ([one, two, three, one], "is given twice"),
             ([one, two, str(old)], f"{old}: report schema version 0.9"),
             ([one, str(other), three], f"{other}: its settings"),
             ([one, two, str(plain)], f"{plain}: not a shard report"),
             ([str(notjson)], f"{notjson}: not a JSON file"),
             ([str(tmp_path / "absent.json")], "absent.json: cannot read it")]
    for reports, words in cases:
        assert main(["merge", *reports, "-o", str(tmp_path / "merged.json")]) == 2, words
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (words, err)
    assert not (tmp_path / "merged.json").exists()


def test_plain_reports_of_disjoint_configs_are_joined_in_file_order(workspace, monkeypatch, tmp_path):
    monkeypatch.chdir(workspace)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["--tier", "static", "--no-cache", "--exit-zero", "configs/hostile", "-o", str(first),
                 "--format", "json"]) == 0
    assert main(["--tier", "static", "--no-cache", "--exit-zero", "configs/rules/DA201", "-o", str(second),
                 "--format", "json"]) == 0
    merged = tmp_path / "m.json"
    assert main(["merge", str(first), str(second), "-o", str(merged), "--exit-zero"]) == 0
    configs = [a["config"] for a in json.loads(merged.read_text())["audits"]]
    want = [a["config"] for f in (first, second) for a in json.loads(f.read_text())["audits"]]
    assert configs == want
    assert main(["merge", str(first), str(first), "-o", str(merged)]) == 2


def test_merge_needs_neither_torch_nor_mmengine(workspace, monkeypatch):
    """The merge job of a CI pipeline installs detaudit alone."""
    import subprocess
    import sys

    shards = [_audit(workspace, monkeypatch, "--shard", f"{i}/2", name=f"light{i}") for i in (1, 2)]
    code = ("import sys\nfrom detaudit.cli import main\n"
            f"rc = main(['merge', {str(shards[0] / 'report.json')!r}, {str(shards[1] / 'report.json')!r}, "
            f"'--format', 'sarif:' + {str(workspace / 'out' / 'light.sarif')!r}, '--exit-zero'])\n"
            "heavy = [m for m in ('torch', 'mmengine', 'mmdet', 'mmcv', 'ray') if m in sys.modules]\n"
            "print(rc, heavy)")
    r = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, timeout=120,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert r.stdout.strip().splitlines()[-1] == "0 []", r.stdout + r.stderr
