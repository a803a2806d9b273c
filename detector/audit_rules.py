"""detaudit rules for the MSP/MACL/DHN detector (codes DM0xx).

Registered through the ``detaudit.rules`` entry-point group exactly like detaudit's built-in
pack (``detector = "detector.audit_rules:RULES"`` in pyproject.toml). The rules read the
config only: they name the detector's parts by their config types and never import the
detector's modules, so they also run on configs whose custom imports fail.
"""
from __future__ import annotations

from detaudit.rule import FactUnavailable, Violation, rule
from detaudit.rule.config import DATALOADERS, datasets_under, dicts_with, find_typed, node_type

# The detector's datasets and the domain their samples carry unless `domain=` says otherwise.
DATASET_DOMAINS = {"LLVIPDataset": "llvip", "KAISTDataset": "kaist"}
# Loading transforms that read both images of a pair (``img_paths``) into one sample.
PAIR_LOADERS = ("LoadMultiSpectralImageFromFile", )
# Packers that keep ``domain`` in the metainfo when their meta_keys are left at the default.
DOMAIN_PACKERS = ("PackMultiSpectralDetInputs", )


def _datasets(ds, path: str):
    """(key path, dataset dict, pipeline) of the real datasets under a dataloader's ``dataset``."""
    return [(p, d, d.get("pipeline")) for p, d in datasets_under(ds, path)]


def _train_datasets(ctx):
    ds = ctx.config_value("train_dataloader.dataset", None)
    if not isinstance(ds, dict):
        raise FactUnavailable("cfg", "the config has no train_dataloader.dataset")
    return _datasets(ds, "train_dataloader.dataset")


def _describe(datasets) -> str:
    return "; ".join(f"{path}: {node_type(ds) or '?'}, return_modality_pair={bool(ds.get('return_modality_pair'))}"
                     for path, ds, _ in datasets[:4])


@rule(code="DM001", name="macl-without-pairs", severity="error", tier="static")
def macl_without_pairs(ctx):
    """MACL is set to cross-modal positives, but no training dataset returns modality pairs.

    ## What it does
    Finds every ``MACLHead`` in the model whose ``positive_mode`` is ``'modality'`` (the
    positive of a RoI is the same RoI in the other modality, which only a paired batch has)
    and checks the training dataloader's datasets, through ``ConcatDataset`` and wrappers,
    for one with ``return_modality_pair=True``. ``'auto'`` and ``'instance'`` work on
    single-modality batches and are not reported.

    ## Why is this bad?
    Without a paired batch the contrastive loss has no positives: ``MACLHead`` stops the
    first training iteration with ``PairedBatchError``, after the datasets were indexed and
    the job waited for its GPUs.

    ## Example
    ```python
    model = dict(roi_head=dict(macl_head=dict(type='MACLHead', positive_mode='modality')))
    train_dataloader = dict(dataset=dict(type='KAISTDataset', return_modality_pair=False))
    ```

    ## Use instead
    ```python
    model = dict(roi_head=dict(macl_head=dict(type='MACLHead', positive_mode='auto')))
    train_dataloader = dict(dataset=dict(type='KAISTDataset', return_modality_pair=True))
    ```
    """
    heads = [(p, h) for p, h in find_typed(ctx.config_value("model", None), "MACLHead", "model")
             if h.get("positive_mode", "auto") == "modality"]
    if not heads:
        return
    datasets = _train_datasets(ctx)
    if any(ds.get("return_modality_pair") for _, ds, _ in datasets):
        return
    for path, _ in heads:
        yield Violation(
            message=f"{path} has positive_mode='modality', which needs paired visible/infrared batches, but no "
                    f"training dataset returns pairs ({_describe(datasets)}): the MACL loss has no positives "
                    "and stops the first iteration",
            key_path=f"{path}.positive_mode", module_path=path[len("model."):],
            evidence={"positive_mode": "modality", "train_datasets": [p for p, _, _ in datasets]},
            fix="set return_modality_pair=True on the training dataset, or positive_mode='auto' "
                "(instance positives on single-modality batches)",
        )


@rule(code="DM002", name="domain-loss-single-domain", severity="warning", tier="static")
def domain_loss_single_domain(ctx):
    """The domain loss is on, but every training sample carries the same domain.

    ## What it does
    For a RoI head with a ``domain_classifier`` (and ``lambda3`` not 0), works out the domain
    label each training dataset gives its samples: the dataset's ``domain=``, else its type's
    own (``LLVIPDataset`` -> ``llvip``, ``KAISTDataset`` -> ``kaist``), else the classifier's
    ``default_domain``. A pipeline whose packer drops the ``domain`` metainfo (plain
    ``PackDetInputs``, or ``meta_keys`` without ``'domain'``) also gives every sample the
    default. Fires when all datasets end up with one domain.

    ## Why is this bad?
    A classifier trained on one class learns a constant: its loss goes to zero and the
    gradient reversal that should make features domain-invariant pushes against nothing.
    Stage 2 fine-tuned on KAIST alone pays for the module and gets no alignment.

    ## Example
    ```python
    model = dict(roi_head=dict(domain_classifier=dict(type='DomainClassifier'), lambda3=0.1))
    train_dataloader = dict(dataset=dict(type='KAISTDataset'))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type='ConcatDataset', datasets=[
        dict(type='LLVIPDataset', ...), dict(type='KAISTDataset', ...)]))
    ```
    """
    heads = [(p, h) for p, h in dicts_with(ctx.config_value("model", None), "domain_classifier", "model")
             if _weight(h.get("lambda3", 0.1)) != 0.0]
    if not heads:
        return
    datasets = _train_datasets(ctx)
    for path, head in heads:
        classifier = head["domain_classifier"]
        default = str(classifier.get("default_domain", "kaist")).lower()
        domains, unknown, dropped = {}, [], []
        for ds_path, ds, pipeline in datasets:
            if not _keeps_domain(pipeline):
                domains[ds_path] = default
                dropped.append(ds_path)
            elif ds.get("domain") is not None:
                domains[ds_path] = str(ds["domain"]).lower()
            elif node_type(ds) in DATASET_DOMAINS:
                domains[ds_path] = DATASET_DOMAINS[node_type(ds)]
            else:
                unknown.append(f"{ds_path} ({node_type(ds) or 'no type'})")
        if unknown:
            raise FactUnavailable("cfg", f"the domain of {', '.join(unknown)} is not known from the config")
        found = sorted(set(domains.values()))
        if len(found) != 1:
            continue
        why = (f"; the pipeline of {', '.join(dropped)} packs no 'domain' metainfo, so its samples fall back to "
               f"default_domain='{default}'" if dropped else "")
        yield Violation(
            message=f"the domain loss ({path}.domain_classifier, lambda3={head.get('lambda3', 0.1)}) is on, but every "
                    f"training sample has domain '{found[0]}' ({', '.join(f'{p}: {node_type(d)}' for p, d, _ in datasets[:4])})"
                    f"{why}: the classifier learns a constant and its reversed gradient aligns nothing",
            key_path=f"{path}.domain_classifier", module_path=f"{path[len('model.'):]}.domain_classifier",
            evidence={"domains": domains, "default_domain": default, "packer_drops_domain": dropped},
            fix="train on data of at least two domains (a ConcatDataset of LLVIPDataset and KAISTDataset), or "
                "remove domain_classifier for this stage",
        )


def _weight(value) -> float | None:
    """A loss weight as a number; None (treated as on) when the config holds something else."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _keeps_domain(pipeline) -> bool:
    """Does the pipeline's packer keep the ``domain`` metainfo? (No packer: nothing is packed
    from the pipeline, so the dataset's own sample goes through unchanged.)"""
    if not isinstance(pipeline, (list, tuple)):
        return True
    packers = [t for t in pipeline if isinstance(t, dict) and node_type(t).startswith("Pack")]
    if not packers:
        return True
    packer = packers[-1]
    meta_keys = packer.get("meta_keys", None)
    if meta_keys is None:
        return node_type(packer) in DOMAIN_PACKERS
    return "domain" in tuple(meta_keys)


@rule(code="DM003", name="pair-mode-bypasses-pipeline", severity="warning", tier="static")
def pair_mode_bypasses_pipeline(ctx):
    """A dataset returns modality pairs that do not go through the configured pipeline.

    ## What it does
    For every dataset of every dataloader with ``return_modality_pair=True``, checks that its
    pipeline loads the pair: a ``LoadMultiSpectralImageFromFile`` that reads both images
    (``img_paths``) into one sample, so that every later transform acts on both. Reports a
    pair-mode dataset with no pipeline, or whose pipeline loads with a single-image loader
    (``LoadImageFromFile`` reads ``img_path`` only) or loads no image at all.

    ## Why is this bad?
    The second modality never sees the pipeline: it is not resized, flipped or cropped with
    its partner (the boxes then match one image only), or it is silently dropped and the
    "paired" training is single-modality. Cross-modal positives are then wrong or missing.

    ## Example
    ```python
    train_dataloader = dict(dataset=dict(type='LLVIPDataset', return_modality_pair=True,
                                         pipeline=[dict(type='LoadImageFromFile'), ...]))
    ```

    ## Use instead
    ```python
    train_dataloader = dict(dataset=dict(type='LLVIPDataset', return_modality_pair=True,
                                         pipeline=[dict(type='LoadMultiSpectralImageFromFile'), ...]))
    ```
    """
    for loader in DATALOADERS:
        ds = ctx.config_value(f"{loader}.dataset", None)
        for path, dataset, pipeline in _datasets(ds, f"{loader}.dataset"):
            if not dataset.get("return_modality_pair"):
                continue
            steps = [t for t in pipeline or [] if isinstance(t, dict)]
            loaders = [node_type(t) for t in steps if node_type(t).startswith("Load") and "Image" in node_type(t)]
            if not steps:
                problem = "it has no pipeline, so the raw pair is returned untransformed"
            elif not loaders:
                problem = "no transform of its pipeline loads the images, so the pair arrives raw"
            elif loaders[0] not in PAIR_LOADERS:
                problem = (f"its pipeline loads with {loaders[0]}, which reads img_path only: the other modality "
                           "never goes through the pipeline")
            else:
                continue
            yield Violation(
                message=f"{path} ({node_type(dataset)}) returns modality pairs, but {problem}",
                key_path=f"{path}.pipeline" if pipeline is not None else f"{path}.return_modality_pair",
                evidence={"dataset": node_type(dataset), "loaders": loaders,
                          "pipeline_steps": [node_type(t) for t in steps]},
                fix="load pairs with dict(type='LoadMultiSpectralImageFromFile') as the first step of the pipeline",
            )


RULES = [macl_without_pairs, domain_loss_single_domain, pair_mode_bypasses_pipeline]
__all__ = ["RULES"]
