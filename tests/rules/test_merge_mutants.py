"""Robustness of the config readers and the merge rules: real zoo configs, mutated.

Hypothesis writes child configs over mmdet's own zoo configs that swap a dict's type, drop
keys (``_delete_=True`` with part of them), replace a list, change a value's type, put
``_delete_`` where it does not belong, or override with ``--cfg-options``; each mutant is
audited at the static tier (executed and ``--no-exec``) and at the build tier. Whatever the
mutant, the audit must end with a report for it: no exception out of the audit, no rule
crashing (an internal error), no supervisor finding.

The default run is small (``DETAUDIT_MUTANTS``, 40 examples, under a minute here), and
derandomized so that CI sees the same mutants; ``DETAUDIT_MUTANTS_RANDOM=1`` draws new ones and
``DETAUDIT_MUTANTS_SHOW=1`` prints each. The number of mutants audited, and how their audits
ended per tier, is printed at the end of the run.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from detaudit.load.paths import mmdet_config_root  # noqa: E402

ZOO_CONFIGS = (
    "retinanet/retinanet_r18_fpn_1x_coco.py",
    "cascade_rcnn/cascade-mask-rcnn_r50_fpn_1x_coco.py",
    "pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py",
    "mask_rcnn/mask-rcnn_r50_fpn_ms-poly-3x_coco.py",
    "yolox/yolox_tiny_8xb8-300e_coco.py",
    "rtmdet/rtmdet_tiny_8xb32-300e_coco.py",
)
EXAMPLES = int(os.environ.get("DETAUDIT_MUTANTS", "40"))
RANDOM = os.environ.get("DETAUDIT_MUTANTS_RANDOM") == "1"
TOP_KEYS = ("model", "train_dataloader", "val_dataloader", "test_dataloader", "val_evaluator", "optim_wrapper",
            "param_scheduler", "default_hooks", "custom_hooks", "train_cfg", "visualizer")
TYPES = ("Adam", "SGD", "RepeatDataset", "VOCMetric", "CocoMetric", "EMAHook", "ResNeXt", "Shared2FCBBoxHead",
         "InfiniteSampler", "PolyLR", "NoSuchType", "mmdet.CocoDataset")
ODD_VALUES = (None, 0, -1, 1.5, "", "x", "classes.txt", [], {}, [1, 2], (1, ), {"type": "Nope"}, True,
              [{"type": "Collect"}], [None], {"_delete_": True}, {"_delete_": "yes", "type": "SGD"})


def _plain(value):
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@functools.lru_cache(maxsize=None)
def _loaded(rel: str) -> dict:
    from mmengine.config import Config

    return _plain(Config.fromfile(str(mmdet_config_root() / rel)).to_dict())


def _sites(cfg: dict) -> list[tuple[str, ...]]:
    """Paths of the values a mutation may touch (lists addressed whole, as a child can)."""
    out = []

    def walk(node, path, depth):
        if depth > 6:
            return
        out.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + (k,), depth + 1)

    for key in TOP_KEYS:
        if key in cfg:
            walk(cfg[key], (key,), 0)
    return out


def _get(cfg, path):
    for p in path:
        cfg = cfg[p]
    return cfg


def _child_text(base: Path, path: tuple[str, ...], value) -> str:
    """A child config that merges ``value`` in at ``path`` (a nest of dicts, as a user writes it)."""
    expr = repr(value)
    for key in reversed(path[1:]):
        expr = f"dict({key}={expr})" if key.isidentifier() else f"{{{key!r}: {expr}}}"
    return f"_base_ = {str(base)!r}\n{path[0]} = {expr}\n"


@st.composite
def mutants(draw):
    rel = draw(st.sampled_from(ZOO_CONFIGS))
    cfg = _loaded(rel)
    path = draw(st.sampled_from(_sites(cfg)))
    current = _get(cfg, path)
    kind = draw(st.sampled_from(("swap-type", "drop-keys", "replace-list", "value-type", "odd-delete", "cfg-options")))
    options = {}
    if kind == "swap-type" and isinstance(current, dict):
        value = {"type": draw(st.sampled_from(TYPES))}
    elif kind == "drop-keys" and isinstance(current, dict) and current:
        keep = draw(st.lists(st.sampled_from(sorted(current)), unique=True, max_size=len(current)))
        value = dict({k: current[k] for k in keep}, _delete_=True)
    elif kind == "replace-list" and isinstance(current, list):
        value = draw(st.sampled_from(([], [{"type": draw(st.sampled_from(TYPES))}] * 3,
                                      [dict(e, _delete_=True) if isinstance(e, dict) else e for e in current][:1],
                                      current[::-1], [{"num_classes": 3}] * max(len(current), 1))))
    elif kind == "odd-delete" and isinstance(current, dict):
        value = {"_delete_": draw(st.sampled_from((True, False, "yes", 1, None)))}
        if draw(st.booleans()):
            value["type"] = draw(st.sampled_from(TYPES))
    elif kind == "cfg-options":
        value = None
        options = {".".join(path): draw(st.sampled_from(ODD_VALUES[:12]))}
    else:
        value = draw(st.sampled_from(ODD_VALUES))
    return rel, path, value, options


@pytest.fixture(scope="module", autouse=True)
def _zoo_configs_loaded():
    """Load the zoo configs before Hypothesis draws: loading uses temporary files (and so the
    ``random`` module), which a strategy should not."""
    if mmdet_config_root() is None:
        pytest.skip("mmdet's configs are not installed")
    for rel in ZOO_CONFIGS:
        _loaded(rel)


def _check(result, label: str) -> None:
    assert not result.internal_errors, f"{label}: {result.internal_errors}"
    assert not [f for f in result.findings if f.code in ("DA091", "DA092", "DA093")], label
    assert result.status in ("completed", "partial", "failed"), label


def test_mutated_zoo_configs_always_get_a_report(tmp_path_factory, capsys):
    from detaudit.faces.api import audit

    audited = {"mutants": 0, "audits": 0}
    outcomes: dict[str, int] = {}  # "<tier>: <status>" -> count

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutant=mutants())
    def audit_mutant(mutant):
        rel, path, value, options = mutant
        base = mmdet_config_root() / rel
        child = tmp_path_factory.mktemp("mutant") / "mutant.py"
        child.write_text(_child_text(base, path, value) if value is not None or not options
                         else f"_base_ = {str(base)!r}\n")
        label = f"{rel} {'.'.join(path)} <- {value!r} {options}"
        if os.environ.get("DETAUDIT_MUTANTS_SHOW"):
            print("mutant:", label[:200])
        audited["mutants"] += 1
        for tier, no_exec in (("static", False), ("static", True), ("build", False)):
            report = audit(str(child), tier=tier, no_exec=no_exec, cfg_options=options or None)
            how = f"{tier}{' --no-exec' if no_exec else ''}"
            assert len(report.audits) == 1, label
            _check(report.audits[0], f"{label} at {how}")
            audited["audits"] += 1
            key = f"{how}: {report.audits[0].status}"
            outcomes[key] = outcomes.get(key, 0) + 1

    audit_mutant()
    with capsys.disabled():
        print(f"\n{audited['mutants']} mutated zoo configs audited ({audited['audits']} audits: static, "
              f"static --no-exec, build): " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    assert audited["mutants"] >= min(EXAMPLES, 10)
    assert audited["audits"] == 3 * audited["mutants"]
