"""Blaming a failing pass on the config's own edits to its recipe (facts/blame.py): which edits
there are, how one is put back, which files are the recipe, and the search on real configs."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from detaudit.facts.blame import MISSING, Blame, Edit, edits, recipe_files, reverted


def _paths(found):
    return {e.key_path: (e.mine, e.recipe) for e in found}


def test_edits_are_the_leaves_that_differ_and_whole_dicts_of_another_type():
    recipe = {"model": {"type": "A", "head": {"type": "H", "num_classes": 80, "loss": {"type": "CE", "w": 1.0}},
                        "neck": {"type": "FPN", "in_channels": [1, 2]}},
              "pipeline": [{"type": "Load"}, {"type": "Resize", "scale": (1, 1)}], "gone": 1}
    mine = copy.deepcopy(recipe)
    mine["model"]["head"]["num_classes"] = 3                      # a leaf
    mine["model"]["head"]["loss"] = {"type": "Focal", "gamma": 2}  # another type: one edit, whole
    mine["model"]["neck"]["extra"] = True                         # added
    del mine["gone"]                                              # removed
    mine["pipeline"][1]["scale"] = (2, 2)                         # inside a list of the same length
    found = _paths(edits(mine, recipe))
    assert found == {"model.head.num_classes": (3, 80),
                     "model.head.loss": ({"type": "Focal", "gamma": 2}, {"type": "CE", "w": 1.0}),
                     "model.neck.extra": (True, MISSING), "gone": (MISSING, 1), "pipeline.1.scale": ((2, 2), (1, 1))}
    mine["pipeline"].append({"type": "Pack"})                     # another length: the list is one edit
    assert "pipeline" in _paths(edits(mine, recipe)) and "pipeline.1.scale" not in _paths(edits(mine, recipe))
    assert edits(recipe, copy.deepcopy(recipe)) == []


def test_putting_edits_back_changes_only_the_copy():
    from mmengine.config import Config

    recipe = {"model": {"type": "A", "n": 80}, "keep": 1}
    cfg = Config({"model": {"type": "A", "n": 3, "extra": 5}, "keep": 1})
    found = edits(cfg, recipe)
    back = reverted(cfg, found)
    assert back.to_dict() == recipe
    assert cfg.model.n == 3 and cfg.model.extra == 5  # the audited config is untouched
    only_n = reverted(cfg, [e for e in found if e.key_path == "model.n"])
    assert only_n.model.n == 80 and only_n.model.extra == 5


def test_the_recipe_is_the_package_configs_the_users_files_inherit(tmp_path):
    from detaudit.load.paths import mmdet_config_root

    root = mmdet_config_root()
    (tmp_path / "base.py").write_text("_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'\n")
    (tmp_path / "child.py").write_text("_base_ = ['./base.py', 'mmdet::_base_/default_runtime.py']\n")
    assert recipe_files(tmp_path / "child.py") == [root / "retinanet/retinanet_r50_fpn_1x_coco.py",
                                                   root / "_base_/default_runtime.py"]
    (tmp_path / "flat.py").write_text("model = dict(type='RetinaNet')\n")
    assert recipe_files(tmp_path / "flat.py") == []
    assert recipe_files(root / "retinanet/retinanet_r50_fpn_1x_coco.py") == []  # a zoo config has no edits
    assert recipe_files(None) == []


def _ctx(path: Path, tier: str = "build"):
    from detaudit.facts.context import AuditContext

    return AuditContext(str(path), tier=tier, base_dir=path.parent)


RETINA_EDITS = ("_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'\n"
                "model = dict(bbox_head=dict(num_classes=3, stacked_convs=2, feat_channels=128,\n"
                "                            anchor_generator=dict({anchor})),\n"
                "             neck=dict(add_extra_convs='on_output'),\n"
                "             test_cfg=dict(max_per_img=50))\n")


@pytest.mark.slow
def test_a_build_failure_is_blamed_on_the_one_edit_that_causes_it(tmp_path):
    """Six edits to RetinaNet, one of which breaks the build (an anchor centre offset outside
    [0, 1]); the search names that one and leaves the others."""
    cfg = tmp_path / "retina.py"
    cfg.write_text(RETINA_EDITS.format(anchor="center_offset=2"))
    ctx = _ctx(cfg)
    with pytest.raises(Exception):
        ctx.model
    blame = ctx.crash_blame
    chosen = blame.for_pass("build")
    assert [e.key_path for e in chosen] == ["model.bbox_head.anchor_generator.center_offset"]
    assert chosen[0].mine == 2 and chosen[0].recipe is MISSING
    assert 2 <= blame.trials <= 10


@pytest.mark.slow
def test_a_loss_failure_is_blamed_on_the_edit_whose_numbers_no_message_shows(tmp_path):
    """No octave scales: the head's classifier has no output channels, and the convolution fails
    with a message that names no number of the config; the search finds the edit."""
    cfg = tmp_path / "retina.py"
    cfg.write_text(RETINA_EDITS.format(anchor="scales_per_octave=0"))
    ctx = _ctx(cfg, tier="forward")
    with pytest.raises(Exception):
        ctx.loss_result
    chosen = ctx.crash_blame.for_pass("loss")
    assert [e.key_path for e in chosen] == ["model.bbox_head.anchor_generator.scales_per_octave"]
    assert (chosen[0].mine, chosen[0].recipe) == (0, 3)


class _Rigged(Blame):
    """The search alone: the pass succeeds when every edit of ``culprits`` is put back."""

    def __init__(self, culprits, fails_anyway=False):
        self.trials, self.reason, self.recipe, self.ctx = 0, {}, [], type("Ctx", (), {"cancelled": None})()
        self.culprits, self.fails_anyway = set(culprits), fails_anyway

    def _passes(self, name, chosen):
        self.trials += 1
        return not self.fails_anyway and self.culprits <= {e.key_path for e in chosen}


EDITS = [Edit(f"model.k{i}", i, MISSING) for i in range(16)]


@pytest.mark.parametrize("culprits", [["model.k0"], ["model.k11"], ["model.k3", "model.k12"], ["model.k6", "model.k7"]])
def test_the_search_finds_exactly_the_edits_needed_in_few_passes(culprits):
    blame = _Rigged(culprits)
    assert sorted(e.key_path for e in blame.search("build", EDITS)) == sorted(culprits)
    assert blame.trials <= 1 + 2 * 4 * len(culprits)  # about two passes per halving, per culprit


def test_the_search_blames_nothing_when_the_recipe_fails_too_or_too_many_edits_are_needed():
    blame = _Rigged(["model.k0"], fails_anyway=True)
    assert blame.search("build", EDITS) is None and "recipe" in blame.reason["build"]
    blame = _Rigged([f"model.k{i}" for i in range(5)])
    assert blame.search("build", EDITS) is None and "none stands out" in blame.reason["build"]


@pytest.mark.slow
def test_a_pass_that_did_not_fail_blames_nothing(tmp_path):
    cfg = tmp_path / "ok.py"
    cfg.write_text("_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'\n"
                   "model = dict(bbox_head=dict(num_classes=3))\n")
    ctx = _ctx(cfg)
    ctx.model  # builds
    blame = ctx.crash_blame
    assert blame.for_pass("build") is None and blame.trials == 0
