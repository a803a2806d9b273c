"""The input-size ladder of the forward passes (issue 15, defects 2 and 3): a larger size is
tried only after an error a larger input can fix; memory, a missing GPU and plain bugs are
reported at the size they happened; GPU-only model code is a skip, not a config error."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from detaudit.errors import ErrorInfo, FactUnavailable, is_memory_error, is_size_error, needs_gpu, \
    not_the_models_fault
from detaudit.facts.forward import run_pass

ROOT = Path(__file__).resolve().parents[2]
SIZES = [(96, 160), (192, 320), (288, 480), (384, 640)]
ALLOCATOR = ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you "
             "tried to allocate 279347200 bytes. Error code 12 (Cannot allocate memory)")
NO_CUDA = "Torch not compiled with CUDA enabled"


def fake_ctx():
    import torch

    from detaudit.facts.forward import ForwardState

    errors = {}

    def record_error(phase, info):
        errors[phase] = info
        return info

    return SimpleNamespace(model=torch.nn.Linear(1, 1), module_names={}, input_sizes=list(SIZES),
                           forward_state=ForwardState(), errors=errors, record_error=record_error,
                           selected_codes={"DA403"})


def ladder(errors: dict):
    """run_pass over a model raising ``errors[size]`` (or returning at sizes not listed)."""
    ctx, tried = fake_ctx(), []

    def run(size):
        tried.append(size)
        if size in errors:
            raise errors[size]
        return "ran"

    try:
        outcome = run_pass(ctx, "loss", run)
    except FactUnavailable as exc:
        outcome = exc.reason
    return ctx, tried, outcome


def test_a_size_error_climbs_until_the_model_runs():
    ctx, tried, outcome = ladder({SIZES[0]: RuntimeError("selected index k out of range")})
    assert outcome == "ran" and tried == SIZES[:2]
    assert ctx.forward_state.size == SIZES[1] and ctx.forward_state.retries[0]["failed_at"] == [96, 160]


@pytest.mark.parametrize("error", [AssertionError(NO_CUDA), RuntimeError("Found no NVIDIA driver on your system."),
                                   RuntimeError(ALLOCATOR), RuntimeError("could not create a primitive"),
                                   TypeError("forward() got an unexpected keyword argument 'x'"),
                                   KeyError("gt_instances"), NotImplementedError(), ModuleNotFoundError("sklearn")])
def test_errors_a_larger_input_cannot_fix_stop_at_the_first_size(error):
    ctx, tried, outcome = ladder({size: error for size in SIZES})
    assert tried == SIZES[:1], "no larger size: it costs more memory and cannot help"
    assert ctx.errors["loss"].extra["sizes_tried"] == ["96x160"]


def test_gpu_only_model_code_is_a_skip_naming_the_cause():
    ctx, _, outcome = ladder({size: AssertionError(NO_CUDA) for size in SIZES})
    assert outcome.startswith("the loss forward could not run here: the model's code asks for CUDA")
    assert "it needs a GPU" in outcome and "DA403" not in outcome


def test_memory_at_a_larger_size_is_reported_with_that_size_and_the_first_error():
    ctx, tried, outcome = ladder({SIZES[0]: IndexError("index 3 is out of bounds for dimension 0 with size 3"),
                                  SIZES[1]: RuntimeError(ALLOCATOR), SIZES[2]: RuntimeError(ALLOCATOR)})
    assert tried == SIZES[:2], "running out of memory stops the ladder"
    err = ctx.errors["loss"]
    assert is_memory_error(err) and err.extra["input_size"] == [192, 320]
    assert err.extra["first_error"]["input_size"] == [96, 160]
    assert "out of memory" in outcome


def test_a_larger_size_failing_differently_reports_the_first_error():
    ctx, tried, outcome = ladder({SIZES[0]: RuntimeError("Kernel size can't be greater than actual input size"),
                                  SIZES[1]: KeyError("proposals")})
    err = ctx.errors["loss"]
    assert tried == SIZES[:2] and err.type == "RuntimeError" and err.extra["input_size"] == [96, 160]
    assert err.extra["larger_size_error"] == {"input_size": [192, 320], "error": "KeyError: 'proposals'"}
    assert outcome.startswith("loss forward failed (DA403): RuntimeError: Kernel size")


def test_a_larger_size_that_gets_past_the_first_error_reports_its_own():
    """The module that failed at the smallest size ran through at the larger one: the first
    error was the small input's (SSD's extra layers), the second is the model's."""
    from detaudit.facts.forward import reported_failure

    small = ErrorInfo("RuntimeError", "Kernel size can't be greater than actual input size",
                      module="neck.extra_layers.3", extra={"input_size": [160, 160]})
    large = ErrorInfo("AttributeError", "'SSDHead' object has no attribute 'loss_cls'", module="bbox_head",
                      extra={"input_size": [320, 320]})
    assert reported_failure([small, large], [set(), {"backbone", "neck.extra_layers.3"}]) is large
    assert large.extra["first_error"]["input_size"] == [160, 160]
    small.extra.clear()
    small.extra["input_size"] = [160, 160]
    assert reported_failure([small, large], [set(), {"backbone"}]) is small


def test_the_same_size_error_at_every_size_is_reported_once_with_every_size():
    errors = {s: IndexError(f"index {s[0]} is out of bounds for dimension 0 with size {s[0] - 1}") for s in SIZES}
    ctx, tried, _ = ladder(errors)
    err = ctx.errors["loss"]
    assert tried == SIZES and err.extra["sizes_tried"] == ["96x160", "192x320", "288x480", "384x640"]
    assert "larger_size_error" not in err.extra


def test_classifiers():
    def info(exc):
        return ErrorInfo.from_exception(exc)

    assert is_memory_error(info(RuntimeError("could not create a primitive")))
    assert not is_memory_error(info(RuntimeError("could not create a primitive descriptor for a convolution")))
    # torch.save into mmengine's in-memory buffer, which could not grow
    assert is_memory_error(info(RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 2045041408 "
                                             "vs 2045041300")))
    assert needs_gpu(info(AssertionError(NO_CUDA))) and not is_size_error(info(AssertionError(NO_CUDA)))
    assert is_size_error(info(IndexError("list index out of range")))
    assert not is_size_error(info(RuntimeError()))  # a bare error says nothing about sizes
    # a layer built for other channels fails the same at every size: no larger input is tried
    assert not is_size_error(info(RuntimeError("Given groups=1, weight of size [64, 256, 1, 1], expected input"
                                               "[2, 224, 20, 20] to have 256 channels, but got 224 channels instead")))
    # ... and so does a layer built with no output channels (an anchor generator with no scales)
    assert not is_size_error(info(RuntimeError("Given groups=1, expected weight to be at least 1 at dimension 0, "
                                               "but got weight of size [0, 256, 3, 3] instead")))
    assert is_size_error(info(RuntimeError("The size of tensor a (5) must match the size of tensor b (4)")))
    assert "no CPU kernel" in not_the_models_fault(info(RuntimeError("nms_rotated_impl: implementation for device "
                                                                      "cpu not found.")))



def test_failures_only_this_machine_or_an_untrained_model_cause_are_not_the_configs():
    """mmcv's CPU RoIAlign alone checks a box's size, and mmdet's mask pasting fails on a box no
    trained model predicts: neither is retried larger, and both say why they are excused. The same
    message raised elsewhere than the mask pasting is not excused."""
    roi = RuntimeError("roi_width >= 0 && roi_height >= 0 INTERNAL ASSERT FAILED at roi_align.cpp:138. "
                       "ROIs in ROIAlign cannot have non-negative size!")
    assert "CPU RoIAlign" in not_the_models_fault(ErrorInfo.from_exception(roi))
    assert not is_size_error(ErrorInfo.from_exception(roi))
    paste = ErrorInfo("RuntimeError", "upper bound and lower bound inconsistent with step sign",
                      traceback='File "mmdet/models/roi_heads/mask_heads/fcn_mask_head.py", line 451, in _do_paste_mask')
    assert "mask pasting" in not_the_models_fault(paste)
    elsewhere = ErrorInfo("RuntimeError", "upper bound and lower bound inconsistent with step sign",
                          traceback='File "my_project/anchors.py", line 9, in grid')
    assert not_the_models_fault(elsewhere) is None


def test_da092_names_the_size_that_ran_out_of_memory():
    from detaudit.registry import all_rules
    from detaudit.report.result import AuditResult
    from detaudit.report.supervision import add_supervision_findings

    ctx, _, _ = ladder({SIZES[0]: IndexError("index 3 is out of bounds for dimension 0 with size 3"),
                        SIZES[1]: RuntimeError(ALLOCATOR)})
    ctx.display_path, ctx.interruption = "c.py", None
    result = AuditResult(config="c.py")
    add_supervision_findings(ctx, result, [all_rules()["DA092"]], {}, 4 * 1024 ** 3)
    (finding,) = result.findings
    assert "running the loss forward at 192x320 px, after IndexError: index 3" in finding.message
    assert finding.evidence["input_size"] == [192, 320] and finding.evidence["sizes_tried"] == ["96x160", "192x320"]


def test_gpu_only_fixture_is_skipped_at_one_size():
    """The fixture's loss does `torch.randperm(n)[:k].cuda()` after a stride-8 affinity whose memory
    grows with the square of the area (modelled on CO-DETR's CoDINOHead)."""
    import os

    from detaudit.driver import audit as audit_one
    from detaudit.settings import Settings

    folder = ROOT / "tests" / "fixtures" / "projects" / "gpu_only_ladder"
    old = os.getcwd()
    import sys

    sys.path.insert(0, str(folder))
    os.chdir(folder)
    try:
        captured = {}
        result = audit_one("configs/cuda_in_loss.py", Settings(tier="forward"),
                           on_context=lambda ctx: captured.setdefault("ctx", ctx))
    finally:
        os.chdir(old)
        sys.path.remove(str(folder))
    assert not [f for f in result.findings if f.severity == "error"]
    skip = next(s["reason"] for s in result.skipped if s["code"] == "DA403")
    assert "asks for CUDA in module 'bbox_head' at cudahead/sampling_head.py:" in skip
    assert captured["ctx"].errors["loss"].extra["sizes_tried"] == ["96x160"]
