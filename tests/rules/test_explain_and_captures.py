"""The crash explainer (detaudit.rule.explain) and the base-variable reader (detaudit.rule.captured),
on configs and errors written here: each strategy names the key it should, and stays silent on
errors it cannot trace."""
from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import pytest

from detaudit.errors import ErrorInfo
from detaudit.rule.captured import assignment_snippet, captures
from detaudit.rule.explain import explain

TINY = Path(__file__).parents[1] / "fixtures" / "rules" / "_base_" / "tiny_run.py"


@pytest.fixture(scope="module")
def cfg():
    from mmengine import Config

    return Config.fromfile(str(TINY))


def _keys(cfg, err, phase="loss"):
    return [e.key_path for e in explain(cfg, err, phase)]


def test_conv_channels_traced_to_the_neck(cfg):
    cfg = cfg.copy()
    cfg.model.neck.in_channels = [32, 128, 256, 512]
    err = ErrorInfo("RuntimeError", "Given groups=1, weight of size [64, 32, 1, 1], expected input[2, 64, 24, 40] to "
                    "have 32 channels, but got 64 channels instead", module="neck.lateral_convs.0.conv")
    assert _keys(cfg, err) == ["model.neck.in_channels"]


def test_linear_features_traced_to_both_sizes(cfg):
    cfg = cfg.copy()
    cfg.model.roi_head.bbox_roi_extractor.roi_layer.output_size = 14
    err = ErrorInfo("RuntimeError", "mat1 and mat2 shapes cannot be multiplied (128x12544 and 3136x128)",
                    module="roi_head.bbox_head.shared_fcs.0")
    found = explain(cfg, err, "loss")
    assert [e.key_path for e in found] == ["model.roi_head.bbox_roi_extractor.roi_layer.output_size"]
    assert "roi_feat_size = 7" in found[0].message


def test_class_weight_length(cfg):
    cfg = cfg.copy()
    cfg.model.roi_head.bbox_head.loss_cls.class_weight = [1.0]
    err = ErrorInfo("RuntimeError", "weight tensor should be defined either for all 2 classes or no classes but got "
                    "weight tensor of shape: [1]", module="roi_head.bbox_head")
    found = explain(cfg, err, "loss")
    assert [e.key_path for e in found] == ["model.roi_head.bbox_head.loss_cls.class_weight"]
    assert "scores 2 classes" in found[0].message


def test_missing_masks_traced_to_the_loading_step(cfg):
    err = ErrorInfo("AttributeError", "'InstanceData' object has no attribute 'masks'", module="roi_head.mask_head")
    assert _keys(cfg, err, "loss") == ["train_dataloader.dataset.pipeline.1.with_mask"]


def test_one_channel_images_traced_to_loading(cfg):
    cfg = cfg.copy()
    cfg.train_dataloader.dataset.pipeline[0]["color_type"] = "grayscale"
    err = ErrorInfo("IndexError", "index 2 is out of bounds for dimension 0 with size 1", module="data_preprocessor")
    assert _keys(cfg, err) == ["train_dataloader.dataset.pipeline.0.color_type"]


def test_assert_without_message_read_from_its_source(cfg):
    tb = textwrap.dedent('''\
        Traceback (most recent call last):
          File "/x/site-packages/mmdet/models/task_modules/prior_generators/anchor_generator.py", line 269, in grid_priors
            assert self.num_levels == len(featmap_sizes)
        AssertionError
        ''')
    err = ErrorInfo("AssertionError", "AssertionError", module="rpn_head", traceback=tb)
    found = explain(cfg, err, "loss")
    assert found and found[0].key_path == "model.rpn_head.anchor_generator.strides"


def test_unrelated_errors_are_not_explained(cfg):
    for err in (ErrorInfo("RuntimeError", "CUDA error: no kernel image is available"),
                ErrorInfo("KeyError", "'img_id'"), ErrorInfo("AssertionError", "AssertionError")):
        assert explain(cfg, err, "loss") == []


def test_captures_follow_variables_into_dicts(tmp_path):
    base = tmp_path / "base.py"
    base.write_text(textwrap.dedent('''\
        data_root = 'data/coco/'
        img_scale = (640, 640)
        train_pipeline = [dict(type='Resize', scale=img_scale)]
        train_dataset = dict(type='CocoDataset', data_root=data_root, pipeline=train_pipeline)
        train_dataloader = dict(batch_size=2, dataset=train_dataset)
        val_evaluator = dict(ann_file=data_root + 'val.json')
        '''))
    found = {(c.key_path, c.variable, c.direct) for c in captures(base)}
    assert ("train_dataloader.dataset", "train_dataset", True) in found
    assert ("train_dataloader.dataset.data_root", "data_root", True) in found
    assert ("train_dataloader.dataset.pipeline", "train_pipeline", True) in found
    assert ("train_dataloader.dataset.pipeline.0.scale", "img_scale", True) in found
    assert ("val_evaluator.ann_file", "data_root", False) in found
    assert not any(k.startswith("train_dataset") for k, _, _ in found)  # not a key the Runner reads


def test_assignment_snippet():
    assert assignment_snippet("train_dataloader.dataset.data_root", "data_root", True) == \
        "train_dataloader = dict(dataset=dict(data_root=data_root))"
    assert assignment_snippet("val_dataloader.dataset.pipeline.1.scale", "img_scale", True) == \
        "val_dataloader = dict(dataset=dict(pipeline=<the list, rewritten with img_scale>))"


def _resize_traceback() -> str:
    import inspect

    import mmdet.datasets.transforms.transforms as transforms

    line = inspect.getsourcelines(transforms.Resize)[1] + 5  # inside the class
    return (f'Traceback (most recent call last):\n  File "{transforms.__file__}", line {line}, in transform\n'
            f"    results['scale_factor']\nKeyError: 'scale_factor'\n")


def test_a_pipeline_without_image_loading_is_traced_to_its_first_step(cfg):
    cfg = copy.deepcopy(cfg)  # the module's config stays as it was
    cfg.train_dataloader.dataset.pipeline = [s for s in cfg.train_dataloader.dataset.pipeline
                                             if s["type"] != "LoadImageFromFile"]
    at = next(i for i, s in enumerate(cfg.train_dataloader.dataset.pipeline) if s["type"] == "Resize")
    found = explain(cfg, ErrorInfo("KeyError", "'scale_factor'", traceback=_resize_traceback()), "loss")
    assert [e.key_path for e in found] == ["train_dataloader.dataset.pipeline.0"]
    assert f"loads no image before step {at} (Resize)" in found[0].message


def test_a_step_before_the_image_loading_is_out_of_order(cfg):
    cfg = copy.deepcopy(cfg)  # the module's config stays as it was
    steps = list(cfg.train_dataloader.dataset.pipeline)
    steps.append(steps.pop(0))  # LoadImageFromFile moved to the end
    cfg.train_dataloader.dataset.pipeline = steps
    resize = next(i for i, s in enumerate(steps) if s["type"] == "Resize")
    found = explain(cfg, ErrorInfo("KeyError", "'scale_factor'", traceback=_resize_traceback()), "loss")
    assert [e.key_path for e in found] == [f"train_dataloader.dataset.pipeline.{resize}"]
    assert f"before the image is loaded (step {len(steps) - 1}, LoadImageFromFile)" in found[0].message


def test_a_pipeline_that_loads_its_image_is_not_blamed(cfg):
    err = ErrorInfo("KeyError", "'scale_factor'", traceback=_resize_traceback())
    assert explain(cfg, err, "loss") == []


def test_a_failure_nothing_traces_is_said_plainly_with_its_component(cfg):
    """No strategy traces an index error inside the box head: one info finding says that no key
    explains it, why, and the component that raised it; a traced failure gets no such finding."""
    from rules.da405_crash_traced_to_key import explained

    err = ErrorInfo("IndexError", "list index out of range", module="roi_head.bbox_head.loss_cls")
    assert explain(cfg, err, "loss") == []
    [v] = explained(cfg, err, "loss", "the loss")
    assert v.severity == "info" and v.key_path is None
    assert v.message.startswith("no config key explains this failure: IndexError")
    assert "model.roi_head.bbox_head" in v.message and v.evidence["component"].startswith("model.roi_head.bbox_head")
    traced = ErrorInfo("RuntimeError", "weight tensor should be defined either for all 2 classes or no classes but "
                       "got weight tensor of shape: [1]", module="roi_head.bbox_head")
    cfg = copy.deepcopy(cfg)
    cfg.model.roi_head.bbox_head.loss_cls.class_weight = [1.0]
    assert [v.severity for v in explained(cfg, traced, "loss", "the loss")] == [None]


def test_a_machine_limit_gets_no_statement_about_keys(cfg):
    from detaudit.rule.explain import unexplained

    err = ErrorInfo("RuntimeError", "nms_impl: implementation for device cpu not found.", module="rpn_head")
    assert unexplained(cfg, err) is None


def test_a_missing_package_or_the_blocked_network_gets_no_statement_about_keys(cfg):
    from detaudit.rule.explain import unexplained

    for err in (ErrorInfo("RuntimeError", "transformers is not installed, please install it by: pip install "
                          "transformers", module="backbone"),
                ErrorInfo("URLError", "<urlopen error detaudit blocks network access while auditing (a download "
                          "was attempted)>", module="backbone")):
        assert unexplained(cfg, err) is None, err.message


def test_a_failure_quoting_a_value_the_config_holds_names_its_key(cfg):
    cfg = copy.deepcopy(cfg)
    cfg.model.teacher_config = "configs/gfl/teacher.py"
    err = ErrorInfo("FileNotFoundError", "[Errno 2] No such file or directory: 'configs/gfl/teacher.py'")
    assert [e.key_path for e in explain(cfg, err, "build")] == ["model.teacher_config"]
    other = ErrorInfo("FileNotFoundError", "[Errno 2] No such file or directory: 'elsewhere/teacher.py'")
    assert explain(cfg, other, "build") == []


def _raised(call):
    try:
        call()
    except AssertionError as exc:
        return ErrorInfo.from_exception(exc)
    raise AssertionError("it did not assert")


def test_an_assertion_on_a_dict_the_config_wrote_names_its_key(cfg):
    """mmcv's norm builder asserts on a local copy; the dict it was handed is the config's."""
    from mmcv.cnn import build_norm_layer

    cfg = copy.deepcopy(cfg)
    cfg.model.neck.norm_cfg = dict(type="GN", requires_grad=True)
    err = _raised(lambda: build_norm_layer(dict(cfg.model.neck.norm_cfg), 64))
    assert err.extra["asserted"]["values"]["cfg"] == {"type": "GN", "requires_grad": True}
    found = explain(cfg, err, "build")
    assert [e.key_path for e in found] == ["model.neck.norm_cfg"]
    assert "has no 'num_groups'" in found[0].message


def test_an_assertion_on_a_dict_the_config_does_not_hold_names_nothing(cfg):
    from mmcv.cnn import build_norm_layer

    err = _raised(lambda: build_norm_layer(dict(type="GN", eps=0.25), 64))  # written nowhere in the config
    assert explain(cfg, err, "build") == []


def test_an_assert_testing_an_argument_dict_by_name_names_that_key(cfg):
    from mmdet.models.backbones.resnet import BasicBlock

    cfg = copy.deepcopy(cfg)
    dcn = dict(type="DCN", deform_groups=1, fallback_on_stride=False)
    cfg.model.backbone.dcn = dcn
    err = _raised(lambda: BasicBlock(64, 64, dcn=dcn))
    err.module = "backbone"
    assert _keys(cfg, err, "build") == ["model.backbone.dcn"]
