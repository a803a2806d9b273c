"""Audit every config mmdet ships (its config zoo) and write docs/zoo-report.md and .json.

    python scripts/zoo_sweep.py [--tier build] [--jobs 2] [--timeout 300] [--max-memory 4G]
                                [--limit N] [--sample] [--out docs/zoo-report]
    python scripts/zoo_sweep.py --projects /path/to/mmdetection [--jobs 1]     # docs/zoo-report-projects

The zoo is ``mmdet/.mim/configs`` inside the installed package: every ``*.py`` outside the
``_base_`` folders (those hold partial configs meant to be inherited, not trained; 823 files
with mmdet 3.3.0). Each config is audited in supervised worker processes exactly as
``detaudit --jobs N`` does. The report records per config the status (completed, partial,
failed to load, failed to build, with the reason), per-rule counts, the time per config,
the machine's load average while the sweep ran, and a triage of every error-level finding:
each is matched against the explanations in ``TRIAGE`` below, and anything unexplained is
listed as such, so that a new false positive cannot hide in the totals.

``--sample`` audits only the representative sample used by tests/test_zoo_sample.py.

``--projects CHECKOUT`` audits instead the ``projects/`` folder of an mmdetection source checkout
(the pip package does not ship it): the configs a folder audit selects there (model code,
scripts and partial configs are skipped, and listed in the report), run from the checkout's root
with it on ``PYTHONPATH`` as the projects' own instructions say, so that their ``custom_imports``
(``projects.CO-DETR.codetr``...) import.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The representative sample (also audited by tests/test_zoo_sample.py): two-stage, one-stage,
# DETR family, Swin, SyncBN, and configs needing packages that are not installed.
SAMPLE = [
    "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",           # two-stage, the R50-FPN reference
    "mask_rcnn/mask-rcnn_r50-caffe_fpn_1x_coco.py",         # two-stage with masks, caffe-style BN frozen
    "retinanet/retinanet_r50_fpn_1x_coco.py",                # one-stage
    "fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py",           # one-stage, GroupNorm head
    "detr/detr_r50_8xb2-150e_coco.py",                       # DETR, backbone lr_mult=0.1
    "dino/dino-4scale_r50_8xb2-12e_coco.py",                 # DETR family, deformable attention
    "swin/retinanet_swin-t-p4-w7_fpn_1x_coco.py",            # Swin backbone
    "rtmdet/rtmdet_tiny_8xb32-300e_coco.py",                 # SyncBN everywhere
    "convnext/mask-rcnn_convnext-t-p4-w7_fpn_amp-ms-crop-3x_coco.py",  # needs mmpretrain (absent)
    "ocsort/ocsort_yolox_x_8xb4-amp-80e_crowdhuman-mot17halftrain_test-mot17halfval.py",  # needs lap
]

# Error-level findings that are true defects of the zoo config as shipped (or of this machine
# running it), with the explanation the report prints. A pattern is (code, regex on message).
TRIAGE: list[tuple] = [  # (code regex, message regex, explanation[, config regex])
    # mmdetection's projects/ (scripts/zoo_sweep.py --projects CHECKOUT): scoped to those configs, and
    # first, so that they win over the zoo's general explanations below.
    ("DA002", r"lvis_v1_clip_a\+cname\.npy|No such file or directory: 'data/metadata/",
     "True (setup): Detic's zero-shot classifier loads CLIP text embeddings of the class names from "
     "`data/metadata/*.npy` while the model is built; the project's README has them downloaded first. Training "
     "without them stops at the same line.", r"^projects/Detic"),
    ("DA201", r".",
     "True (setup): the config starts from a first-stage checkpoint (`load_from`) that the project's README has "
     "the user train or download first; it is not on this machine.", r"^projects/"),
    ("DA005", r"No module named 'transformers'",
     "True (environment): the project's model code imports Hugging Face `transformers`, which is not installed "
     "here.", r"^projects/XDecoder"),
    ("DA001", r"mmdet/configs/.* not found|mmdet\.configs",
     "True (environment): the config's `read_base()` imports `mmdet.configs...`, the pure-Python configs that "
     "only a source install of mmdet has (the pip wheel does not ship them); mmengine resolves them in the "
     "installed package and fails the same way.", r"^projects/example_largemodel"),
    ("DA601", r"num_classes=22047 but",
     "True defect: Detic's LVIS+COCO+ImageNet-21k config sizes its box and mask heads for 22,047 classes and "
     "keeps mmdet's COCO loaders (80 classes) unchanged; the one finding names the heads, the side to edit.",
     r"^projects/Detic/"),
    ("DA601", r"num_classes=80 but .* has 16 classes",
     "True defect: the iSAID project keeps Mask R-CNN's num_classes=80 for its 16-class iSAIDDataset (the config "
     "never sets num_classes); one finding for the box and mask heads.", r"^projects/iSAID"),
    ("DA001", r"mmpretrain",
     "True defect here: the config needs mmpretrain (an `mmpretrain::` base or custom import), which is not "
     "installed. Training would stop at the same line."),
    ("DA001", r"FileNotFoundError|does not exist|No such file",
     "True defect in the shipped zoo: a `_base_` the config names is not in the package (the sort/ configs "
     "name their base without the `.py` suffix; a bytetrack config names an `amp` variant that was never "
     "shipped). mmengine's own `Config.fromfile` fails the same way."),
    ("DA001", r"No module named|is not installed",
     "True defect here: the config (or a module it imports) needs an optional package that is not installed."),
    ("DA002", r"the config has no `model`",
     "True for this file, which is not a trainable config: a test-time-augmentation snippet (`*_tta.py`), a "
     "shared partial config under `common/` (dataset and schedule only) or a helper script shipped among the "
     "configs (`odinw/override_category.py`). Training it alone fails the same way."),
    ("DA002|DA405", r"No such file or directory: 'configs/",
     "True defect from an installed mmdet: the distillation teacher's config is given relative to the mmdet "
     "source tree (`configs/gfl/...`), which an installation does not have (DA405 names the key, "
     "`model.teacher_config`)."),
    ("DA002", r"URLError|blocks network access",
     "True defect offline: the model's constructor downloads its teacher checkpoint (`teacher_ckpt` is a URL). "
     "detaudit blocks downloads; an offline training run fails at the same place."),
    ("DA002", r"missing required argument\(s\): num_classes",
     "True defect in mmdet 3.3.0's zoo: `CascadeRPNHead` requires `num_classes`, which this config does not give "
     "(building it with mmengine directly fails the same way)."),
    ("DA002", r"does not take the argument 'force_grad_on_level'",
     "True defect: the config passes `force_grad_on_level` to `FPN`, which mmdet 3.3.0's FPN does not accept "
     "(the v3det configs target a later mmdet)."),
    ("DA002", r"is not in the .*registry|not registered|KeyError",
     "True defect here: the model type is registered by a package or project module that is not installed or "
     "not imported by the config."),
    ("DA002", r"No module named",
     "True defect here: building the model imports an optional package that is not installed."),
    ("DA006", r".",
     "True defect here: the config needs an optional package that is not installed (named in the finding)."),
    ("DA005", r".",
     "True defect here: custom_imports names a module that does not import in this environment."),
    ("DA106", r"roi_head: .* frozen parameters \(shared_head\)",
     "True defect in mmdet 3.x's C4 configs: the shared head (ResNet layer4 under the RoI head) has "
     "`norm_cfg.requires_grad=False` but no pretrained init (mmdet 2.x passed the backbone's checkpoint to it; "
     "the 3.x configs do not), so its BatchNorm weights stay at their initial 1/0 for the whole training."),
    # Forward tier (scripts/zoo_sweep.py --tier forward). "False positive" entries are limits of
    # the synthetic forward, not defects of the config: they are listed so that nothing hides.
    ("DA402", r"'(PISA)?SSDHead' object has no attribute 'loss_cls'",
     "True defect in mmdet 3.3.0: `BaseDenseHead._predict_by_feat_single` reads `self.loss_cls` (added for "
     "v3det), which `SSDHead` does not have, so SSD inference raises AttributeError with this mmdet version."),
    ("DA402", r"upper bound and lower bound inconsistent with step sign",
     "False positive (untrained weights), fixed after this sweep ran (commit 9e638d8: the predict's rules are "
     "skipped with this reason): with random weights QueryInst predicts degenerate boxes, on which mmdet's mask "
     "pasting (`torch.arange(y0, y1)`) fails; trained weights do not produce them."),
    ("DA40[23]", r"No module named 'torchvision'",
     "True defect here: the model's forward imports torchvision, which cannot be imported with this CPU torch."),
    ("DA403", r"sklearn",
     "True defect here: PAA's loss imports scikit-learn, which is not installed."),
    # Run tier (scripts/zoo_sweep.py --tier run): the config's own Runner, datasets, pipelines and evaluators.
    ("DA702", r"albumentations is not installed",
     "True defect here: the pipeline's `Albu` step needs albumentations, which is not installed; the Runner "
     "fails to build the training pipeline the same way."),
    ("DA703", r"cityscapesscripts",
     "True defect here: `CityScapesMetric` needs cityscapesscripts, which is not installed; the Runner fails to "
     "build the evaluator the same way."),
    ("DA70[23]", r"panopticapi is not installed",
     "True defect here: panoptic loading and evaluation (`LoadPanopticAnnotations`, `CocoPanopticMetric`) need "
     "panopticapi, which is not installed; the Runner fails to build them the same way."),
    ("DA702", r"instaboostfast",
     "True defect here: the pipeline's `InstaBoost` step needs instaboostfast, which is not installed; the Runner "
     "fails to build the training pipeline the same way."),
    ("DA710", r"'(PISA)?SSDHead' object has no attribute 'loss_cls'",
     "True defect in mmdet 3.3.0 (as DA402 at the forward tier): SSD's predict reads `self.loss_cls`, which "
     "`SSDHead` does not have, so the first validation raises AttributeError."),
    ("DA703", r"CocoMetric.__init__\(\) got an unexpected keyword argument 'eval_mode'",
     "True defect in mmdet 3.3.0's zoo (as DA801 at the static tier): the COCO-format VOC config turns the base's "
     "`VOCMetric` into a `CocoMetric` without `_delete_=True`, keeping `eval_mode`; the Runner fails to build it."),
    ("DA700", r"train_dataloader, train_cfg, and optim_wrapper should be either all None or not None",
     "True for this file, which is not a trainable config: QDTrack's `*_base.py` sets the model, schedule and "
     "optimizer and leaves the data to the configs that inherit it; mmengine's Runner refuses it the same way.",
     r"^qdtrack/qdtrack_faster-rcnn_r50_fpn_4e_base\.py$"),
    ("DA710", r"needs a package that is not installed: .*sklearn",
     "True defect here: PAA's loss imports scikit-learn, which is not installed (as DA403 at the forward tier)."),
    ("DA703", r"\(OpenImagesMetric\) fails during validation: KeyError: 'is_group_of'",
     "True defect in mmdet 3.3.0: `OpenImagesChallengeDataset` stores each box's flag as `is_group_ofs` "
     "(`mmdet/datasets/openimages.py`), while `OpenImagesMetric.process` reads `is_group_of`; the first "
     "validation of a challenge config raises KeyError."),
    ("DA706", r"Only one of `type` or `by_epoch` can exist in `loop_cfg`",
     "True defect in mmdet 3.3.0's zoo: the SOLOv2-light configs write `train_cfg = dict(by_epoch=True, ...)` over "
     "a base `train_cfg` with `type='EpochBasedTrainLoop'`; mmengine's Runner refuses a loop config holding both, "
     "so training stops before the first iteration."),
    ("DA710", r"needs a package that is not installed: ModuleNotFoundError: No module named 'torchvision'",
     "True defect here: the model's forward imports torchvision, which cannot be imported with this CPU torch "
     "(the forward tier reports the same as DA402/DA403)."),
    # Config-merge and consistency rules (DA8xx): every finding is listed, warnings too.
    ("DA801", r"val_evaluator .*type changed from VOCMetric .* to CocoMetric .*does not accept eval_mode",
     "True defect in mmdet 3.3.0's zoo: the COCO-format VOC config turns the base's `VOCMetric` into a "
     "`CocoMetric` without `_delete_=True`, so the merged metric keeps `eval_mode='11points'`; building it "
     "(`METRICS.build(cfg.val_evaluator)`) raises `TypeError: CocoMetric.__init__() got an unexpected keyword "
     "argument 'eval_mode'`, so training stops when the runner builds its validation loop."),
    ("DA808", r"pipeline still is the base's test_pipeline",
     "True defect in mmdet 3.3.0's zoo: the MOT20 test configs redefine `test_pipeline` (and `img_scale`, "
     "1600x896) but never give it to `val_dataloader`/`test_dataloader`, which keep the MOT17 base's pipeline "
     "built from its own `img_scale` (1440x800): MOT20 is evaluated at the MOT17 scale.", r"mot20"),
    ("DA808", r"train_cfg\.max_iters still is the base's max_iters = 270000",
     "True defect in mmdet 3.3.0's zoo: the 90k Simple Copy-Paste configs set `max_iters = 90000` and a schedule "
     "ending at 90000, but `train_cfg` was built by the 270k base from its own `max_iters`: training runs 270k "
     "iterations, the last 180k at the final learning rate."),
    ("DA814", r"starts from caffe \(Detectron\) weights",
     "True defect in mmdet 3.3.0's zoo: these configs switch the backbone to Detectron's caffe weights "
     "(`style='caffe'`, `open-mmlab://detectron2/resnet*_caffe`) over a base whose data preprocessor normalizes "
     "for torchvision weights (RGB, ImageNet std); the caffe weights were trained on BGR input with unit std, "
     "as every other `*-caffe` config of the zoo sets it.", r"faster-rcnn_r101-caffe_fpn_ms-3x|ga-fast-rcnn"),
    ("DA814", r"bgr_to_rgb = False, but the backbone starts from torchvision weights",
     "True (convention) in mmdet 3.3.0's zoo: CrowdDet lists the mean and std in BGR order and keeps the images "
     "BGR (`bgr_to_rgb=False`) for torchvision's ResNet-50, which was trained on RGB: the statistics follow the "
     "channels, the first convolution's filters do not.", r"crowddet"),
    ("DA816", r"starts from open-mmlab://regnetx_",
     "True defect in mmdet 3.3.0's zoo: the four multi-scale 3x RegNet Mask R-CNN configs replace the ResNet "
     "backbone of `_base_/models/mask-rcnn_r50_fpn.py` with a RegNet on pycls weights but keep that base's "
     "data preprocessor (RGB, RGB-ordered ImageNet std); pycls trained RegNets on BGR input, which every 1x "
     "RegNet config states (`# The mean and std are used in PyCls when training RegNets`, `bgr_to_rgb=False`).",
     r"regnet/mask-rcnn_regnetx-[\d.]+[GM]F_fpn_ms-poly-3x"),
    ("DA809", r"has no sampler: mmengine's Runner.build_dataloader requires 'sampler'",
     "True defect in mmdet 3.3.0's zoo: the DSDL configs inherit a model, a schedule and the runtime but no "
     "dataset base (`'../_base_/datasets/dsdl.py'` is commented out) and write their dataloaders without a "
     "`sampler` (and without `batch_size`/`num_workers`); mmengine's `Runner.build_dataloader` pops `sampler` "
     "without a default, so training stops with `KeyError: 'sampler'` before the first iteration.", r"^dsdl/"),
    ("DA848", r"test_evaluator.type = 'MOTChallengeMetrics' .* did you mean 'MOTChallengeMetric'",
     "True defect in mmdet 3.3.0's zoo: the two ByteTrack configs tested on MOT20 set "
     "`test_evaluator.type='MOTChallengeMetrics'`, but the metric is registered as `MOTChallengeMetric` "
     "(`mmdet/evaluation/metrics/mot_challenge_metric.py`); building the test evaluator raises KeyError.",
     r"^bytetrack/bytetrack_yolox_x_8xb4-(amp-)?80e_crowdhuman-mot20train_test-mot20test"),
    ("DA831", r"StageCascadeRPNHead's constructor does not take 'sampling'",
     "True defect in mmdet 3.3.0's zoo: the Cascade RPN configs keep the 2.x `sampling=False` in each "
     "`StageCascadeRPNHead` stage; it is passed through `RPNHead` to `AnchorHead.__init__`, which has no such "
     "parameter (`TypeError: AnchorHead.__init__() got an unexpected keyword argument 'sampling'`). The build "
     "tier stops earlier on the stages' missing `num_classes`.", r"^cascade_rpn/"),
    ("DA831", r"train_cfg\.by_epoch .*EpochBasedTrainLoop's constructor does not take 'by_epoch'",
     "True defect: the SOLOv2-light configs add `by_epoch=True` to a `train_cfg` whose base already sets "
     "`type='EpochBasedTrainLoop'`; mmengine's `Runner.build_train_loop` raises 'Only one of `type` or "
     "`by_epoch` can exist in `loop_cfg`' before the first iteration.", r"^solov2/"),
    ("DA831", r"FPN's constructor does not take 'force_grad_on_level'",
     "True defect in mmdet 3.3.0's zoo: the V3Det FCOS config sets `force_grad_on_level=True` on mmdet's `FPN`, "
     "which has no such parameter (the build tier reports the same TypeError as DA002).", r"^v3det/"),
    ("DA093", r".", "Worker died: must be zero (acceptance)."),
    ("DA091", r".", "Timed out: a config that does not finish within the sweep's --timeout."),
    ("DA092", r"while running the Runner",
     "Limit of this sweep, not the config: the run trains a Swin model with its optimizer state, writes a "
     "checkpoint of both (mmengine serializes it in memory first) and builds the model again to resume, which "
     "takes more than the sweep's 6 GiB --max-memory (where it stopped is in the finding).", r"swin"),
    ("DA878", r"train_dataloader\.batch_size changed from 32 .* to 16 ",
     "True by the rule: this P6 variant halves the images per GPU of its 4xb32 base (1280-pixel inputs) and keeps the "
     "base's lr=0.001, twice the base's rate per image, without auto_scale_lr; the zoo chose it, the rule says so.",
     r"^rtmdet/rtmdet_l_swin_b_p6_4xb16"),
    ("DA884", r"RandomCrop cuts the instance masks this pipeline loads but clips their boxes",
     "True defect: RandomCrop on a pipeline that loads masks, without recompute_bbox=True, clips the boxes of cut "
     "objects instead of bounding what is left of their masks (mmdetection pull request 10349 reports it for "
     "RTMDet-Ins tiny; the FPG crop-640 Mask R-CNNs share the pipeline).", r"^(rtmdet|fpg)/"),
    ("DA891", r"drops its warmup, LinearLR",
     "True defect: the DSDL VOC config inherits _base_/schedules/schedule_1x.py and lists a MultiStepLR of its own, "
     "which replaces the base's whole list and its 500-iteration LinearLR warmup. The 2.x VOC recipe it reproduces "
     "wrote `lr_config = dict(policy='step', step=[3])`, a dict merged into the base's, which kept the warmup.",
     r"^dsdl/voc0712"),
    ("DA886", r"the model predicts masks, but only its boxes are scored",
     "True defect: these cascade mask models inherit common/ms_3x_coco-instance.py, whose evaluator scores 'bbox' "
     "only, so no mask AP is computed (mmdetection pull request 9524 fixed the same line in "
     "common/ms-poly_3x_coco-instance.py, not in this base).", r"^(cascade_rcnn|regnet)/"),
    ("DA871", r"reads data_samples\.text, which \w+ sets only with return_classes=True",
     "True defect for training (these configs are published for zero-shot evaluation): the training set they inherit "
     "is a plain COCO-style set without return_classes=True, so the first training step fails with "
     "\"'DetDataSample' object has no attribute 'text'\" (mmdetection issue 10979 reports it); the fine-tuning "
     "configs set it and stay quiet.", r"^(glip|grounding_dino)/"),
    ("DA101", r"custom key '(language_model|backbone)' sets lr_mult=0, but the config does not freeze it",
     "True by the rule, harmless to the weights: these Grounding DINO fine-tunes hold the language model (and one "
     "the Swin backbone) still with lr_mult=0; gradients are still computed through them, but they hold LayerNorm "
     "only (no running statistics) and AdamW's decoupled decay is scaled by the lr (0), so nothing changes but the "
     "cost of the backward (read at the static tier; these configs need transformers to build).",
     r"grounding_dino/"),
    ("DA092", r"while running predict",
     "Limit of this sweep, not the config: with LVIS's 1,203 classes these cascade mask heads output a 28x28 map "
     "per class for every RoI, and their predict exceeds the sweep's 6 GiB --max-memory even at 96x160 px.",
     r"^seesaw_loss/.*lvis"),
    ("DA092", r".",
     "Limit of this sweep, not the config: the audit exceeded the sweep's 6 GiB --max-memory (V3Det's 13,204 "
     "classes; where it stopped is in the finding)."),
]


def needs_triage(finding: dict) -> bool:
    """Errors, and every finding of the config-merge rules (which must be quiet on the zoo
    unless the zoo config has the defect)."""
    return finding["severity"] == "error" or finding["code"].startswith("DA8")


def zoo_root() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("mmdet")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mmdet is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / ".mim" / "configs"


def zoo_configs(root: Path) -> list[Path]:
    """Every config outside the ``_base_`` folders (partial configs meant to be inherited)."""
    return sorted(p for p in root.rglob("*.py") if "_base_" not in p.relative_to(root).parts)


def projects_configs(checkout: Path) -> tuple[Path, list[Path], list[tuple[str, str]], str | None]:
    """(root, configs, [(skipped file, why)], commit) of an mmdetection checkout's projects/
    folder, selected as a folder audit selects them; the checkout goes on sys.path and
    PYTHONPATH (for the workers), as the projects' instructions have it."""
    import subprocess

    from detaudit.load.discover import select_configs

    checkout = checkout.resolve()
    folder = checkout / "projects"
    if not folder.is_dir():
        raise SystemExit(f"{checkout} has no projects/ folder")
    files = sorted(q for q in folder.rglob("*.py")
                   if "_base_" not in q.relative_to(folder).parts and q.name != "__init__.py")
    configs, skipped = select_configs(files)
    sys.path.insert(0, str(checkout))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(checkout)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    try:
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return checkout, configs, [(str(p.relative_to(checkout)), why) for p, why in skipped], commit


def triage(code: str, message: str, config: str = "") -> str | None:
    for entry in TRIAGE:
        c, pattern, text = entry[:3]
        where = entry[3] if len(entry) > 3 else None
        if re.fullmatch(c, code) and re.search(pattern, message) and (where is None or re.search(where, config)):
            return text
    return None


def classify(audit: dict) -> tuple[str, str]:
    """(status for the report, reason)."""
    tiers = audit["tiers"]
    codes = {f["code"]: f for f in audit["findings"]}
    for code in ("DA093", "DA091", "DA092"):
        if code in codes and audit["status"] == "failed":
            return {"DA093": "crashed", "DA091": "timed-out", "DA092": "out-of-memory"}[code], codes[code]["message"]
    if tiers.get("static") == "failed":
        f = codes.get("DA001") or codes.get("DA006") or codes.get("DA005")
        return "failed-to-load", f["message"] if f else "config did not load"
    if tiers.get("build") == "failed":
        f = codes.get("DA006") or codes.get("DA002")
        return "failed-to-build", f["message"] if f else "model did not build"
    return audit["status"], ""


def short_reason(reason: str) -> str:
    reason = re.sub(r"/\S+/", "…/", reason)
    reason = re.sub(r"\s+", " ", reason)
    return reason[:160]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tier", default="build", choices=("static", "build", "forward", "train", "run"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--max-memory", default="4G")
    ap.add_argument("--select", default=None,
                    help="codes or prefixes to run (default ALL); e.g. DA0,DA7 for the run tier's own rules")
    ap.add_argument("--limit", type=int, help="audit only the first N configs (for trying the script)")
    ap.add_argument("--sample", action="store_true", help="audit the representative sample only")
    ap.add_argument("--projects", metavar="CHECKOUT",
                    help="audit the projects/ folder of this mmdetection source checkout instead of the zoo "
                         "(default --out docs/zoo-report-projects)")
    ap.add_argument("--out", default=None,
                    help="path without extension (default docs/zoo-report, docs/zoo-report-forward for --tier "
                         "forward)")
    ap.add_argument("--render-only", action="store_true",
                    help="re-triage and re-render the markdown from the existing JSON (after editing TRIAGE)")
    ap.add_argument("--resume", action="store_true",
                    help="keep the audits an interrupted sweep already journalled (OUT.partial.jsonl) and audit "
                         "only the rest")
    args = ap.parse_args()
    default = {"forward": "zoo-report-forward", "train": "zoo-report-forward", "run": "zoo-report-run"}.get(
        args.tier, "zoo-report")
    if args.projects:
        default = "zoo-report-projects" + ("-forward" if args.tier in ("forward", "train") else "")
    out = Path(args.out).resolve() if args.out else ROOT / "docs" / default  # the sweep runs from the zoo
    if args.render_only:
        data = json.loads(out.with_suffix(".json").read_text())
        return write_outputs(data, out, write_json=False)

    from detaudit.report.report import Report, audit_to_dict
    from detaudit.options import AuditOptions, parse_size
    from detaudit.workers.supervisor import audit_many

    skipped_files: list[tuple[str, str]] = []
    commit = None
    if args.projects:
        root, configs, skipped_files, commit = projects_configs(Path(args.projects))
    else:
        root = zoo_root()
        configs = [root / s for s in SAMPLE] if args.sample else zoo_configs(root)
    if args.limit:
        configs = configs[:args.limit]
    settings = AuditOptions(tier=args.tier, select=args.select.split(",") if args.select else ["ALL"],
                            timeout=args.timeout, max_memory=parse_size(args.max_memory))
    loads: list[tuple[float, float]] = []
    start = time.monotonic()
    last_sample = [0.0]

    def progress(done, total, running, result):
        now = time.monotonic() - start
        if now - last_sample[0] >= 10 or done == total:
            loads.append((round(now, 1), os.getloadavg()[0]))
            last_sample[0] = now
            print(f"[{done}/{total}] {now:6.0f} s  load {os.getloadavg()[0]:.2f}  last: {result.config}",
                  file=sys.stderr, flush=True)

    # Every finished audit is journalled at once: a sweep of the run tier takes hours, and one that is
    # interrupted resumes (--resume) instead of starting over.
    journal = out.with_suffix(".partial.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    done: dict[str, dict] = {}
    if args.resume and journal.exists():
        for line in journal.read_text().splitlines():
            d = json.loads(line)
            done[d["config"]] = d
    else:
        journal.write_text("")
    load_before = os.getloadavg()
    items = [(str(p), settings) for p in configs if str(p.relative_to(root)) not in done]
    print(f"{len(done)} audits resumed from {journal}, {len(items)} to run", file=sys.stderr)
    cwd = os.getcwd()
    os.chdir(root)  # display paths relative to the zoo; nothing is written there
    try:
        with journal.open("a") as log:
            for a in audit_many(items, jobs=args.jobs, progress=progress):
                d = audit_to_dict(a)
                d["internal_errors"] = list(a.internal_errors)
                done[d["config"]] = d
                log.write(json.dumps(d, default=str) + "\n")
                log.flush()
    finally:
        os.chdir(cwd)
    wall = time.monotonic() - start
    load_after = os.getloadavg()

    report = Report(audits=[], settings=settings)
    data = {
        "tool": report.to_dict()["tool"],
        "zoo": str(root),
        "configs": len(configs),
        "settings": {"tier": args.tier, "jobs": args.jobs, "timeout_s": args.timeout, "max_memory": args.max_memory,
                     "sample": args.sample, "select": settings.select, "projects": bool(args.projects),
                     "commit": commit},
        "skipped_files": skipped_files,
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": load_after,
                    "load_samples": loads},
        "wall_s": round(wall, 1),
        "engine": engine_commit(),
        "resumed": len(configs) - len(items),
        "audits": [done[str(p.relative_to(root))] for p in configs],
    }
    status = write_outputs(data, out)
    journal.unlink()
    return status


def engine_commit() -> str | None:
    """The commit of the detaudit checkout the sweep ran (a resumed sweep's earlier part may differ)."""
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip() or None
    except (OSError, subprocess.CalledProcessError):
        return None


def write_outputs(data: dict, out: Path, write_json: bool = True) -> int:
    """Classify and triage every audit (TRIAGE may have changed since the sweep), then write."""
    from detaudit.registry import all_rules

    for d in data["audits"]:
        d["report_status"], d["reason"] = classify(d)
        for f in d["findings"]:
            f["triage"] = triage(f["code"], f["message"], d["config"]) if needs_triage(f) else None
    out.parent.mkdir(parents=True, exist_ok=True)
    data["json_name"] = out.with_suffix(".json").name
    if write_json:
        data = dict(data, audits=[_slim(d) for d in data["audits"]])
        # one audit per line: small enough to keep in the repository, still easy to diff
        body = ",\n".join(json.dumps(d, default=str) for d in data["audits"])
        head = json.dumps({k: v for k, v in data.items() if k != "audits"}, default=str)[:-1]
        out.with_suffix(".json").write_text(f'{head}, "audits": [\n{body}\n]}}\n')
    forward = None
    sibling = out.with_name(out.name + "-forward").with_suffix(".json")
    if data["settings"]["tier"] == "build" and sibling.exists():
        forward = json.loads(sibling.read_text())
        for d in forward["audits"]:
            d["report_status"], d["reason"] = classify(d)
            for f in d["findings"]:
                f["triage"] = triage(f["code"], f["message"], d["config"]) if needs_triage(f) else None
    text = render_markdown(data, all_rules())
    if forward is not None:
        text += render_forward_summary(forward, sibling)
    out.with_suffix(".md").write_text(text)
    bad = sum(1 for d in data["audits"] if d["internal_errors"] or d["report_status"] == "crashed")
    untriaged = sum(1 for d in data["audits"] for f in d["findings"] if needs_triage(f) and not f["triage"])
    print(f"{len(data['audits'])} configs in {data['wall_s']:.0f} s; internal errors/crashes: {bad}; "
          f"untriaged errors: {untriaged}", file=sys.stderr)
    print(f"wrote {out.with_suffix('.md')}" + (f" and {out.with_suffix('.json')}" if write_json else ""),
          file=sys.stderr)
    return 0


def _slim(d: dict) -> dict:
    """What the report needs per audit (the full JSON report of one config is one command away)."""
    run = d.get("run")
    if run and "changes" in run:
        run = _run_brief(run)
        if isinstance(d["skipped_rules"], list):  # a stop that says nothing about the config: no finding
            run["stopped_by"] = next((s["reason"] for s in d["skipped_rules"] if s["code"].startswith("DA7")
                                      and s["reason"].startswith(RUN_STOPPED)), None)
    return {
        "config": d["config"], "status": d["status"], "report_status": d["report_status"], "reason": d["reason"],
        "tiers": d["tiers"], "timings_s": d["timings_s"], "internal_errors": d["internal_errors"],
        "skipped_rules": len(d["skipped_rules"]) if isinstance(d["skipped_rules"], list) else d["skipped_rules"],
        "run": run,
        "findings": [{k: f.get(k) for k in ("code", "severity", "message", "key_path", "module_path", "triage")}
                     | {"location": f.get("location")} for f in d["findings"]],
    }


RUN_STOPPED = "the run stopped because "  # how detaudit/rule/run.py words a stop that is not the config's


def _run_end(stages: dict) -> str:
    """"ok" when every stage of the run went through (a resume that needed TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD
    included: DA708 warns of it), else where it stopped."""
    if stages.get("run"):
        return stages["run"]
    stopped = [f"{k}: {v}" for k, v in stages.items() if not v.startswith("ok")]
    return ", ".join(stopped) or "ok"


def _run_brief(run: dict) -> dict:
    """The run tier's summary without the list of changes (the full report of one config has them)."""
    changes = run.get("changes", [])
    return {"stages": run.get("stages", {}), "skipped": run.get("skipped", {}),
            "retries": [c["now"] for c in changes if c["key"] == "images"],
            "fresh_model": any(c["key"] == "model" for c in changes)}


def render_forward_summary(forward: dict, path: Path) -> str:
    """A section of the build report: what the forward-tier sweep measured (details in its own report)."""
    audits = forward["audits"]
    status = Counter(d["report_status"] for d in audits)
    times = sorted(d["timings_s"].get("total", 0.0) for d in audits)
    fwd = sorted(d["timings_s"].get("forward", 0.0) for d in audits if d["tiers"].get("forward") == "ok")
    m = forward["machine"]
    loads = [load for _, load in m["load_samples"]] or [m["load_before"][0]]
    reached = sum(1 for d in audits if d["tiers"].get("forward") == "ok")
    failed = sum(1 for d in audits if d["tiers"].get("forward") == "failed")
    forward_errors = [f for d in audits for f in d["findings"]
                      if f["severity"] == "error" and f["code"] in ("DA402", "DA403", "DA404")]
    limits = sum(1 for f in forward_errors if (f.get("triage") or "").startswith(("False positive", "Limit")))
    lines = ["", "## Forward tier", "",
             f"The same configs audited with `--tier forward` (synthetic predict and loss forward): "
             f"**{forward['wall_s'] / 60:.1f} min** wall with `--jobs {forward['settings']['jobs']}`, load average "
             f"median {statistics.median(loads):.2f} (max {max(loads):.2f}). Details and the triage of its "
             f"findings: [`{path.with_suffix('.md').name}`]({path.with_suffix('.md').name}).", "",
             f"- forward ran and passed on {reached} configs, failed on {failed}; the others stopped earlier "
             "(did not load or build, as above)",
             f"- of its {len(forward_errors)} predict/loss findings (DA402-DA404), {limits} come from random "
             "weights (QueryInst's degenerate boxes), explained in the forward report; the rest are true "
             "defects (SSD inference broken in mmdet 3.3.0, packages missing here). Passes this machine or the "
             "synthetic batch cannot run (mmcv ops without a CPU kernel, the memory cap, video models) are not "
             "DA402/DA403 findings: the rules are skipped with the reason (the memory cap is DA092)",
             "- status: " + ", ".join(f"{k} {v}" for k, v in sorted(status.items())),
             f"- time per config: median {statistics.median(times):.2f} s, 95th percentile "
             f"{times[int(0.95 * (len(times) - 1))]:.2f} s, max {times[-1]:.2f} s; forward step alone median "
             f"{statistics.median(fwd) if fwd else 0:.2f} s",
             ""]
    return "\n".join(lines)


def render_markdown(data: dict, rules: dict) -> str:
    audits = data["audits"]
    n = len(audits)
    status = Counter(d["report_status"] for d in audits)
    times = [d["timings_s"].get("total", 0.0) for d in audits]
    by_code = Counter(f["code"] for d in audits for f in d["findings"])
    by_code_configs = Counter(code for d in audits for code in {f["code"] for f in d["findings"]})
    m = data["machine"]
    loads = [load for _, load in m["load_samples"]] or [m["load_before"][0]]
    internal = [(d["config"], e) for d in audits for e in d["internal_errors"]]
    projects = data["settings"].get("projects")
    if projects:
        commit = data["settings"].get("commit") or "unknown commit"
        scope = (f"every config under `projects/` of an mmdetection checkout at {commit}, selected as "
                 f"`detaudit projects/` selects them; {len(data.get('skipped_files', []))} other .py files skipped, "
                 "listed at the end")
    elif data["settings"]["sample"]:
        scope = "the representative sample"
    else:
        scope = ("every *.py under mmdet/.mim/configs outside the _base_ folders, which hold partial configs meant "
                 "to be inherited")
    if data.get("unfinished_of"):  # rendered from the journal of a sweep still to resume
        scope = (f"**unfinished**: the first {n} of {data['unfinished_of']} in order, of {scope}; the rest is to be "
                 "audited with `--resume`")
    lines = [
        "# detaudit over mmdetection's projects/" if projects else "# detaudit over mmdet's config zoo",
        "",
        "Generated by `scripts/zoo_sweep.py`; do not edit by hand (the machine-readable data is "
        f"`{Path(data.get('json_name', 'zoo-report.json')).name}` beside this file).",
        "",
        f"- configs: **{n}** ({scope})",
        f"- tier: `{data['settings']['tier']}`, `--jobs {data['settings']['jobs']}`, "
        f"`--timeout {data['settings']['timeout_s']:g}`, `--max-memory {data['settings']['max_memory']}`",
        f"- detaudit {data['tool']['version']}, rule packs: "
        + ", ".join(f"{p['package']} {p['version']}" for p in data["tool"]["rule_packs"])
        + (f"; engine at commit {data['engine']}" if data.get("engine") else ""),
        f"- wall time: **{data['wall_s'] / 60:.1f} min** on {m['cpus']} CPUs; load average (1 min) "
        f"before {m['load_before'][0]:.2f}, during median {statistics.median(loads):.2f} "
        f"(max {max(loads):.2f}), after {m['load_after'][0]:.2f}: other work shared the machine"
        + (f"; {data['resumed']} audits were kept from an interrupted sweep (`--resume`) and are not in this "
           "wall time" if data.get("resumed") else ""),
        f"- tracebacks / internal errors: **{len(internal)}**; crashed workers: **{status.get('crashed', 0)}**",
        "",
        "## Status",
        "",
        "| status | configs |",
        "|---|---|",
    ]
    for s in ("completed", "partial", "failed-to-load", "failed-to-build", "timed-out", "out-of-memory", "crashed"):
        lines.append(f"| {s} | {status.get(s, 0)} |")
    lines += ["", "### Why configs failed", "", "| status | reason | configs | example |", "|---|---|---|---|"]
    reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
    for d in audits:
        if d["report_status"] not in ("completed", "partial"):
            reasons[(d["report_status"], _reason_key(d["reason"]))].append(d["config"])
    for (s, r), configs in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"| {s} | {_md(r)} | {len(configs)} | `{configs[0]}` |")
    partial = [d for d in audits if d["report_status"] == "partial"]
    if partial:
        lines += ["", "### Partial audits", "", "| config | failed tiers |", "|---|---|"]
        for d in partial:
            failed = ", ".join(t for t, v in d["tiers"].items() if v == "failed")
            lines.append(f"| `{d['config']}` | {failed} |")
    lines += render_run_summary(audits)
    lines += ["", "## Findings per rule", "", "| code | name | severity | findings | configs |",
              "|---|---|---|---|---|"]
    for code, count in sorted(by_code.items()):
        r = rules.get(code)
        sev = Counter(f["severity"] for d in audits for f in d["findings"] if f["code"] == code)
        lines.append(f"| {code} | {r.name if r else ''} | {', '.join(f'{k} {v}' for k, v in sorted(sev.items()))} "
                     f"| {count} | {by_code_configs[code]} |")
    lines += ["", "## Time per config", ""]
    if times:
        q = sorted(times)
        lines += [f"- mean {statistics.mean(q):.2f} s, median {statistics.median(q):.2f} s, "
                  f"95th percentile {q[int(0.95 * (len(q) - 1))]:.2f} s, max {q[-1]:.2f} s "
                  "(wall time inside the worker, the machine shared with other work)",
                  "", "| slowest configs | s | status |", "|---|---|---|"]
        for d in sorted(audits, key=lambda d: -d["timings_s"].get("total", 0.0))[:10]:
            lines.append(f"| `{d['config']}` | {d['timings_s'].get('total', 0.0):.1f} | {d['report_status']} |")
    lines += ["", "## Triage of error-level findings", "",
              "Every error-level finding, and every finding of the config-merge rules (DA8xx) whatever its "
              "severity, grouped by rule and explanation. One without an explanation is listed under "
              "*untriaged*: it is either a new true defect to explain here or a rule to fix.", ""]
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for d in audits:
        for f in d["findings"]:
            if needs_triage(f):
                groups[(f["code"], f["triage"] or "UNTRIAGED")].append(dict(f, config=d["config"]))
    if not groups:
        lines.append("No error-level findings.")
    for (code, text), items in sorted(groups.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        configs = sorted({i["config"] for i in items})
        lines += [f"### {code} — {len(items)} finding(s) in {len(configs)} config(s)", "",
                  f"{'**Untriaged.**' if text == 'UNTRIAGED' else text}", ""]
        examples = Counter(_reason_key(i["message"]) for i in items)
        for msg, count in examples.most_common(8):
            lines.append(f"- {count} × {_md(msg)}")
        lines.append(f"- e.g. `{configs[0]}`" + (f", `{configs[1]}`" if len(configs) > 1 else ""))
        lines.append("")
    if internal:
        lines += ["## Internal errors", ""] + [f"- `{c}`: {_md(e)}" for c, e in internal] + [""]
    skipped_files = data.get("skipped_files") or []
    if skipped_files:
        lines += ["## Files skipped as not configs", "",
                  "What `detaudit projects/` skips (with a note on stderr): model code, scripts and helpers that set "
                  "no config name, and partial configs another config inherits without a model.", "",
                  "| file | why |", "|---|---|"]
        lines += [f"| `{f}` | {_md(why)} |" for f, why in skipped_files] + [""]
    return "\n".join(lines) + "\n"


def render_run_summary(audits: list[dict]) -> list[str]:
    """What the run tier did per config (a sweep at ``--tier run``): how its Runner ended, which loaders
    it left out and why, and how often it was repeated at larger images or on a fresh build."""
    runs = [d["run"] for d in audits if d.get("run")]
    if not runs:
        return []
    ends = Counter(_reason_key(_run_end(r["stages"])) for r in runs)
    skipped = Counter(_reason_key(why) for r in runs for why in r["skipped"].values())
    retries = Counter(r["retries"][-1] for r in runs if r["retries"])
    lines = ["", "## The run tier", "",
             f"- {ends.get('ok', 0)} of {len(audits)} configs ran the Runner through training, validation, test, "
             f"checkpoint and resume; "
             f"{sum(r['fresh_model'] for r in runs)} on a fresh build of a model its forward had changed",
             "- repeated at larger images after a size error: "
             + (", ".join(f"{n} at {side}" for side, n in sorted(retries.items())) or "none"),
             "", "| how the run ended | configs |", "|---|---|"]
    lines += [f"| {_md(end)} | {n} |" for end, n in ends.most_common()]
    stops = Counter(_reason_key(r["stopped_by"][len(RUN_STOPPED):]) for r in runs if r.get("stopped_by"))
    if stops:
        lines += ["", "Runs stopped by what says nothing about the config: the run's rules are skipped with the "
                  "reason, and no finding is made.", "", "| the run stopped because | configs |", "|---|---|"]
        lines += [f"| {_md(why)} | {n} |" for why, n in stops.most_common()]
    if skipped:
        lines += ["", "| loader left out of the run (no data can be made for its dataset type) | configs |",
                  "|---|---|"]
        lines += [f"| {_md(why)} | {n} |" for why, n in skipped.most_common()]
    return lines


def _reason_key(reason: str) -> str:
    """Group messages that differ only by paths, numbers and names in quotes."""
    reason = short_reason(reason)
    reason = re.sub(r"\d[\d,.]*", "N", reason)
    return reason


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.exit(main())
