import re

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataset_leaves, is_mapping, metainfo_classes, node_type

PIECE = re.compile(r"\w+|[^\w\s]")  # BERT's basic tokenizer: words, and each punctuation mark alone
DEFAULT_MAX_TOKENS = 256  # mmdet's BertModel


def prompt_tokens_at_least(classes) -> int:
    """The fewest tokens the class-name prompt can take: mmdet joins the names with ' . ' and a
    word-piece tokenizer gives each word and each punctuation mark at least one token, plus the
    two special tokens."""
    return sum(len(PIECE.findall(str(name))) + 1 for name in classes) + 2


@rule(code="DA873", name="class-prompt-beyond-token-limit", severity="error", tier="static", needs=())
def class_prompt_beyond_token_limit(ctx):
    """A grounding detector's class names make a text prompt longer than its language model reads.

    ## What it does
    For a model with a ``language_model`` (GLIP, Grounding DINO), counts the fewest tokens the
    prompt built from each dataset's ``metainfo.classes`` can take (every word and punctuation
    mark at least one word piece, a ``.`` between names, two special tokens) and reports a set
    whose prompt exceeds the language model's ``max_tokens`` (256 by default). A training
    pipeline that samples a subset of the names per image (``RandomSamplingNegPos``) and an
    evaluation with ``test_cfg.chunked_size`` (the prompt split into chunks) are left alone.

    ## Why is this bad?
    The tokenizer truncates at ``max_tokens``: the names past the cut get no tokens, so their
    classes are never matched to a box. Training runs, the losses look normal, and those classes
    score AP 0.

    ## Example
    ```python
    _base_ = 'mmdet::grounding_dino/grounding_dino_swin-t_finetune_16xb2_1x_coco.py'
    train_dataloader = dict(dataset=dict(metainfo=dict(classes=PART_NAMES)))  # 139 names
    ```

    ## Use instead
    ```python
    model = dict(test_cfg=dict(chunked_size=40))  # evaluation: the prompt in chunks
    # training: sample names per image (ODVGDataset with RandomSamplingNegPos), or fewer classes
    ```
    """
    model = ctx.cfg.get("model", None)
    lm = model.get("language_model", None) if is_mapping(model) else None
    if not is_mapping(lm):
        return
    limit = lm.get("max_tokens", DEFAULT_MAX_TOKENS)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        return
    test_cfg = model.get("test_cfg", None)
    chunked = is_mapping(test_cfg) and isinstance(test_cfg.get("chunked_size", -1), int) \
        and test_cfg.get("chunked_size", -1) > 0
    seen = set()
    for loader, path, ds in dataset_leaves(ctx.cfg):
        classes = metainfo_classes(ds)
        if not classes:
            continue
        if loader == "train_dataloader":
            pipeline = ds.get("pipeline", None) or []
            if any(is_mapping(s) and "RandomSampling" in (node_type(s) or "") for s in pipeline):
                continue
        elif chunked:
            continue
        need = prompt_tokens_at_least(classes)
        role = "train" if loader == "train_dataloader" else "evaluation"  # test_dataloader = val_dataloader: once
        if need <= limit or (role, tuple(classes)) in seen:
            continue
        seen.add((role, tuple(classes)))
        running, cut = 1, len(classes)  # [CLS]; a name is cut when its own pieces pass the last place
        for i, name in enumerate(classes):
            pieces = len(PIECE.findall(str(name)))
            if running + pieces > limit - 1:
                cut = i
                break
            running += pieces + 1
        yield Violation(
            message=(f"{path}.metainfo.classes: the prompt of its {len(classes)} class names takes at least {need} "
                     f"tokens, more than the language model's max_tokens={limit}; the tokenizer cuts it, so the "
                     f"names from {classes[cut]!r} (class {cut}) on get no tokens and are never detected"),
            key_path=f"{path}.metainfo.classes",
            evidence={"classes": len(classes), "tokens_at_least": need, "max_tokens": limit,
                      "first_cut": str(classes[cut])},
            fix=("split the prompt: model.test_cfg.chunked_size for evaluation; for training sample names per "
                 "image (ODVGDataset with RandomSamplingNegPos) or train on fewer classes"))
