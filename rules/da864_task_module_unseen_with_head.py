import re

from detaudit.rule import Violation, rule

from detaudit.rule.config import value_at
from detaudit.rule.source import source_of

from ._component_dicts import constructors_of

from ._task_module_pairs import family_pairs, flag_key, flags, pair_key, task_module_pairs, zoo_flags, zoo_table

# A head the zoo gives one role's modules this often is a settled pairing, not a sparse sample.
MIN_ZOO_CONFIGS = 10
WRAPPED_AS = re.compile(r"self\.(?:teacher|student|detector)\.(\w+)")


@rule(code="DA864", name="task-module-unseen-with-head", severity="warning", tier="static", needs=("constructors",))
def task_module_unseen_with_head(ctx):
    """An assigner or sampler is given to a head that no config of mmdet's zoo pairs it with.

    ## What it does
    Reads which head receives each ``assigner`` and ``sampler`` of ``model.train_cfg`` (a
    single-stage detector's ``bbox_head``; a two-stage detector's ``rpn_head`` for ``rpn`` and the
    RoI head's ``bbox_head`` for ``rcnn``, stage by stage) and compares the pair with the pairs of
    mmdet's zoo (``rules/zoo_task_module_pairs.json``, counted by
    ``scripts/zoo_task_module_pairs.py``). It reports a module type the zoo never gives that head
    type, when the zoo gives that head (or heads that subclass it, which share its calls) this role
    at least 10 times, and a switch of a usual pair (``add_gt_as_proposals``,
    ``match_low_quality``...) set the other way than every one of at least 10 zoo configs that
    write it (``add_gt_as_proposals=True`` on ``RPNHead``'s sampler).
    The detector a wrapper model holds (``model.detector`` of a ``SoftTeacher``) is checked against
    the wrapper's code: what it reads of the detector (``self.teacher.rpn_head``) must be
    something the detector's class defines or sets.

    ## Why is this bad?
    A head calls its assigner and sampler the way its own code was written for: ``RetinaHead``
    calls ``assign(pred_instances, gt_instances, gt_instances_ignore)``, while ``ATSSAssigner``
    takes the number of priors per level second (only ``ATSSHead`` passes it), and an
    ``OHEMSampler`` scores proposals with its context's ``bbox_head``, which ``RPNHead`` does
    not have. Such a pair fails at the first training step, far from the key to edit, or
    trains something else than the config says (all priors negative). ``RPNHead`` with
    ``add_gt_as_proposals=True`` trains without an error, on positives shifted away from the
    anchors they belong to: the head's targets are laid out per anchor, and the sampler puts the
    ground-truth boxes in front of them.

    ## Example
    ```python
    _base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
    model = dict(train_cfg=dict(assigner=dict(_delete_=True, type='ATSSAssigner', topk=9)))
    ```

    ## Use instead
    ```python
    _base_ = 'mmdet::atss/atss_r50_fpn_1x_coco.py'   # ATSSHead passes what ATSSAssigner needs
    ```
    """
    table = zoo_table()
    model = ctx.cfg.get("model", None)
    for key, module, role, head, head_path in task_module_pairs(model):
        seen = table.get(pair_key(head, role), {})
        if module in seen:
            yield from _flipped(value_at(model, key.split(".", 1)[1]), key, module, role, head, head_path)
        if role == "detector":
            if module not in seen:
                yield from _unseen_wrapped(ctx, key, module, head, seen)
            continue
        if module in seen:
            continue
        seen = family_pairs(table, head, role)  # with the zoo's subclasses of the head, which share its calls
        if sum(seen.values()) < MIN_ZOO_CONFIGS or module in seen:
            continue
        article = "an" if role[0] in "aeiou" else "a"
        usual = ", ".join(f"{t} ({n})" for t, n in sorted(seen.items(), key=lambda kv: -kv[1]))
        yield Violation(
            message=(f"{key}.type={module!r} is given to {head} ({head_path}), a pair no zoo config uses: the "
                     f"{sum(seen.values())} zoo configs with a {head} (or a subclass) give it {usual} as its {role}; a head calls its "
                     f"{role} with the arguments its own code passes, and {article} {role} written for another head fails "
                     "at the first training step or assigns other targets than the config intends"),
            key_path=f"{key}.type",
            evidence={role: module, "head": head, "zoo": dict(seen)},
            fix=f"give {head} one of the {role}s its zoo configs use ({', '.join(seen)}), or use the head "
                f"{module} was written for")


def _flipped(node, key, module, role, head, head_path):
    """A switch of the module set the other way than every zoo config that writes it for this head."""
    zoo = zoo_flags()
    for flag, value in flags(node).items():
        seen = zoo.get(flag_key(head, role, module, flag), {})
        other = "false" if value else "true"
        if seen.get(str(value).lower()) or seen.get(other, 0) < MIN_ZOO_CONFIGS:
            continue
        yield Violation(
            message=(f"{key}.{flag}={value} on the {module} given to {head} ({head_path}): all {seen[other]} zoo "
                     f"configs that give {head} a {module} and write {flag} set it to {not value}; the switch "
                     f"decides which {'targets' if role == 'assigner' else 'samples'} {head} trains on"),
            key_path=f"{key}.{flag}", evidence={"flag": flag, "value": value, "zoo": dict(seen)},
            fix=f"set {flag}={not value} as every zoo config does for {head}, unless {head}'s code was changed for it")


def _sources(cls) -> str:
    out = []
    for klass in getattr(cls, "__mro__", ()):
        if klass.__module__.split(".")[0] not in ("mmdet", "mmengine"):
            continue
        try:
            out.append(source_of(klass))
        except (OSError, TypeError):
            pass
    return "\n".join(out)


def _lacks(wrapper_cls, detector_cls) -> list[str]:
    """What the wrapper's code reads of the detector it wraps (``self.teacher.rpn_head``) that the
    detector's class neither defines nor sets in its constructors."""
    wanted = sorted(set(WRAPPED_AS.findall(_sources(wrapper_cls))))
    own = _sources(detector_cls)
    return [a for a in wanted if not hasattr(detector_cls, a) and not re.search(rf"self\.{a}\s*=", own)]


def _unseen_wrapped(ctx, key, detector, wrapper, seen):
    constructors = constructors_of(ctx)
    if constructors is None:
        return
    outer, inner = constructors.resolve(wrapper, "model"), constructors.resolve(detector, key)
    if outer is None or inner is None or not (isinstance(outer[0], type) and isinstance(inner[0], type)):
        return
    lacks = _lacks(outer[0], inner[0])
    if not lacks:
        return  # a tracker calls its detector's predict and loss: any detector will do
    usual = ", ".join(f"{t} ({n})" for t, n in sorted(seen.items(), key=lambda kv: -kv[1]))
    zoo = f"; the zoo's {sum(seen.values())} {wrapper} configs wrap {usual}" if seen else ""
    yield Violation(
        message=(f"{key}.type={detector!r} is wrapped by model.type={wrapper!r}, whose code reads "
                 f"{', '.join(lacks)} of the detector it wraps, which {detector} does not have{zoo}: the first "
                 "training step fails with AttributeError"),
        key_path=f"{key}.type", evidence={"detector": detector, "wrapper": wrapper, "lacks": lacks, "zoo": dict(seen)},
        fix=f"wrap a detector that has {', '.join(lacks)} ({', '.join(seen) or 'a two-stage detector'}), or use a "
            f"wrapper written for {detector}")
