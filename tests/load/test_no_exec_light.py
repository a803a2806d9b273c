"""--no-exec needs neither mmengine nor torch: the light pre-commit hook runs it in an
environment that has only detaudit's own dependencies.

Here the heavy packages are made unimportable in a child process (a meta-path finder that
refuses them, as an environment without them would), and the same audits run there and in
this full environment must agree. tests/faces/test_precommit.py runs the real thing: the
hook in pre-commit's own virtualenv.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

from audit_helpers import ROOT
from detaudit.load.data_config import DataConfig, merge_options, parse_option_value

HEAVY = ("torch", "torchvision", "mmengine", "mmcv", "mmdet", "numpy", "cv2", "yapf", "matplotlib", "scipy")

LIGHT_RUNNER = textwrap.dedent(f"""
    import importlib.abc, json, sys

    class RefuseHeavy(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in {HEAVY!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}")
            return None

    sys.meta_path.insert(0, RefuseHeavy())
    from detaudit.faces.cli import main
    code = main(sys.argv[1:])
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
    print(json.dumps({{"exit": code, "heavy_modules": loaded}}), file=sys.stderr)
""")


def run_light(*args, cwd=ROOT):
    proc = subprocess.run([sys.executable, "-c", LIGHT_RUNNER, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    status = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-3000:]
    assert status["heavy_modules"] == [], status
    return proc, status["exit"]


def findings_by_config(report: dict) -> dict[str, list[tuple]]:
    return {a["config"]: sorted((f["code"], f["key_path"] or "", f["location"]["line"] or 0, f["message"])
                                for f in a["findings"]) for a in report["audits"]}


def test_every_rule_fixture_reads_the_same_without_the_heavy_packages(tmp_path, cli):
    """Every rule fixture (local bases only), audited with --no-exec with and without
    mmengine/torch/mmdet importable: the same findings, no crash, nothing heavy imported."""
    light_out, full_out = tmp_path / "light.json", tmp_path / "full.json"
    args = ["--no-exec", "--exit-zero", "--isolated", "tests/fixtures/rules"]
    proc, code = run_light(*args, "--format", f"json:{light_out}")
    assert code == 0, proc.stderr[-2000:]
    full = cli(*args, "--format", f"json:{full_out}")
    assert full.returncode == 0, full.stderr[-2000:]
    light, heavy = json.loads(light_out.read_text()), json.loads(full_out.read_text())
    assert len(light["audits"]) > 100
    # fixtures based on mmdet's own configs cannot read them without mmdet: compare the others, and
    # check that exactly those are the ones that name a package's scope:: base (a repository's name as the
    # scope, mmdetection::, is no package on any machine: DA001 alike)
    scoped = {a["config"] for a in light["audits"]
              if any(f["code"] == "DA094" and "is not installed" in f["message"] for f in a["findings"])}
    assert scoped == {a["config"] for a in light["audits"]
                      if re.search(r"\b(mmdet|mmrotate)::", (ROOT / a["config"]).read_text())}
    local = lambda report: {k: v for k, v in findings_by_config(report).items() if k not in scoped}  # noqa: E731
    assert local(light) == local(heavy)
    assert light["summary"]["by_code"].get("DA101") and light["summary"]["by_code"].get("DA201")


def test_seed_stage2_without_mmdet_reports_da101_from_its_own_text(tmp_path):
    """The seed's stage-2 config inherits mmdet:: bases. Without mmdet they cannot be read: one
    DA094 warning names them, and the rest of the config is still judged (DA101, DA201)."""
    out = tmp_path / "report.json"
    proc, code = run_light("--no-exec", "--isolated", "--format", f"json:{out}",
                           "examples/configs/stage2_kaist_domain_ft.py")
    assert code == 1
    (audit,) = json.loads(out.read_text())["audits"]
    codes = {f["code"]: f for f in audit["findings"]}
    assert {"DA101", "DA201", "DA094"} <= set(codes)
    assert codes["DA101"]["location"]["line"] == 106
    unread = codes["DA094"]
    assert unread["severity"] == "warning" and "package 'mmdet' is not installed" in unread["message"]
    assert "mmdet::_base_/models/faster-rcnn_r50_fpn.py" in unread["message"]
    assert unread["location"]["line"] == 11   # the _base_ statement


def test_fixed_stage2_without_mmdet_has_no_freezing_error(tmp_path):
    out = tmp_path / "report.json"
    run_light("--no-exec", "--isolated", "--format", f"json:{out}", "examples/configs/stage2_kaist_domain_ft_fixed.py")
    (audit,) = json.loads(out.read_text())["audits"]
    errors = {f["code"] for f in audit["findings"] if f["severity"] == "error"}
    assert errors == {"DA201"}  # only the stage-1 checkpoint, which this checkout does not have


def test_cfg_options_under_no_exec_need_no_mmengine(tmp_path):
    out = tmp_path / "report.json"
    _, code = run_light("--no-exec", "--isolated", "--format", f"json:{out}", "--select", "DA201",
                        "examples/configs/stage2_kaist_domain_ft.py", "--cfg-options", "load_from=other/ckpt.pth")
    assert code == 1
    (finding,) = json.loads(out.read_text())["audits"][0]["findings"]
    assert "other/ckpt.pth" in finding["message"]


# ---------------------------------------------------------------- the same rules as mmengine
OPTION_VALUES = ["1", "-3", "0.5", "1e-4", "true", "False", "None", "none", "abc", "'quoted'", "a,b", "[1,2]",
                 "(1,2)", "[(1,2),(3,4)]", "[1,[2,3],(4,)]", "( 160 , 128 )", "[]", "()", "./work_dirs/x.pth",
                 "[a,b,c]", "(a)", "1,2,3"]


@pytest.mark.parametrize("text", OPTION_VALUES)
def test_option_values_parse_as_mmengine_parses_them(text):
    from mmengine.config import DictAction

    assert parse_option_value(text) == DictAction._parse_iterable(text)
    assert type(parse_option_value(text)) is type(DictAction._parse_iterable(text))


def test_imbalanced_brackets_are_a_value_error():
    with pytest.raises(ValueError, match="imbalanced"):
        parse_option_value("[1,2")


MERGE_CASES = [
    {"model.backbone.depth": 101},
    {"model.backbone": {"_delete_": True, "type": "Swin"}},
    {"pipeline.1.scale": (160, 128)},
    {"new_key.sub": 3, "lr": 0.1},
    {"model.neck": {"n": 5}},
]


@pytest.mark.parametrize("options", MERGE_CASES)
def test_cfg_options_merge_as_mmengine_merges_them(options):
    import copy

    from mmengine.config import Config

    data = {"model": {"type": "A", "backbone": {"depth": 50, "frozen_stages": 1}, "neck": {"n": 1}},
            "pipeline": [{"type": "Load"}, {"type": "Resize", "scale": (640, 512)}], "lr": 0.02}
    reference = Config(copy.deepcopy(data))
    reference.merge_from_dict(copy.deepcopy(options))
    ours = DataConfig(copy.deepcopy(data))
    ours.merge_from_dict(copy.deepcopy(options))
    assert ours.to_dict() == reference.to_dict()


@pytest.mark.parametrize("options", [{"lr.x": 1}, {"pipeline.5.scale": 1}])
def test_impossible_cfg_options_raise_as_in_mmengine(options):
    from mmengine.config import Config

    data = {"lr": 0.02, "pipeline": [{"type": "Load"}]}
    with pytest.raises((TypeError, KeyError)):
        Config(dict(data)).merge_from_dict(dict(options))
    with pytest.raises((TypeError, KeyError)):
        merge_options(options, data)


def test_data_config_reads_like_a_config_dict():
    cfg = DataConfig({"model": {"backbone": {"depth": 50}}, "pipeline": [{"type": "Load"}]}, filename="x.py")
    assert cfg.model.backbone.depth == 50 and cfg.pipeline[0].type == "Load"
    assert cfg.get("missing") is None and "model" in cfg and isinstance(cfg.model, dict)
    assert cfg.filename == "x.py"
    with pytest.raises(AttributeError):
        cfg.missing
