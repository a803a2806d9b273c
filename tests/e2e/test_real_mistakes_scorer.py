"""scripts/real_mistakes_catch.py on small hand-made reports: which findings count as naming the
key to edit, with and without --below, and the tier each fixture is scored on."""
from __future__ import annotations

import importlib.util
import json

from audit_helpers import ROOT


def _script():
    spec = importlib.util.spec_from_file_location("real_mistakes_catch", ROOT / "scripts" / "real_mistakes_catch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finding(code, key, message="something is off", severity="error"):
    return {"code": code, "key_path": key, "message": message, "severity": severity}


ENTRY = {"file": "sched.py", "key_path": "param_scheduler", "category": "schedule", "tier": "static", "terms": []}


def test_a_key_inside_the_manifests_counts_only_with_below():
    catch = _script()
    inside = [_finding("DA604", "param_scheduler.1.end")]
    assert catch.caught(ENTRY, inside, strict=True) == []
    assert catch.caught(ENTRY, inside, strict=True, below=True) == inside


def test_keys_at_or_above_count_either_way_and_siblings_never():
    catch = _script()
    entry = dict(ENTRY, key_path="model.roi_head.bbox_head.num_classes")
    at = _finding("DA827", "model.roi_head.bbox_head.num_classes")
    above = _finding("DA801", "model.roi_head.bbox_head")
    sibling = _finding("DA827", "model.roi_head.bbox_head.num_convs")
    top = _finding("DA002", "model")  # a whole top-level key is a generic crash under --strict
    for below in (False, True):
        assert catch.caught(entry, [at, above, sibling, top], strict=True, below=below) == [at, above]
    # a key that merely starts with the same characters is not inside
    assert catch.caught(ENTRY, [_finding("DA604", "param_schedulers.0")], strict=True, below=True) == []
    # machine findings and infos never count
    assert catch.caught(ENTRY, [_finding("DA603", "param_scheduler"),
                                _finding("DA604", "param_scheduler", severity="info")], strict=True, below=True) == []


def test_main_scores_each_fixture_on_its_tier_and_below_changes_the_total(tmp_path, capsys):
    catch = _script()
    manifest = [ENTRY, dict(ENTRY, file="heads.py", key_path="model.bbox_head.num_classes", tier="train")]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))

    def report(name, findings):
        path = tmp_path / name
        path.write_text(json.dumps({"audits": [{"config": f"/x/{f}", "findings": found}
                                               for f, found in findings.items()]}))
        return str(path)

    static = report("r-static.json", {"sched.py": [_finding("DA604", "param_scheduler.0.end")],
                                      "heads.py": [_finding("DA827", "model.bbox_head.num_classes")]})
    train = report("r-train.json", {"heads.py": []})  # the train tier's report is the one heads.py is scored on
    args = ["--manifest", str(tmp_path / "manifest.json"), static, train]
    catch.main(args)
    assert "caught 0 of 2" in capsys.readouterr().out
    catch.main(args + ["--below"])
    out = capsys.readouterr().out
    assert "caught 1 of 2" in out and "caught  sched.py" in out
