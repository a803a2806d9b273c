import re

from detaudit.rule import Violation, rule
from detaudit.rule.config import dataset_leaves, metainfo_classes

BACKGROUND = re.compile(r"^_*(background|bg|backgroud|back_ground)_*$", re.I)


@rule(code="DA812", name="background-listed-as-class", severity="warning", tier="static", needs=())
def background_listed_as_class(ctx):
    """A dataset's class list names a background class.

    ## What it does
    Reports every dataset whose ``metainfo.classes`` contains ``background``, ``_background_``,
    ``__background__`` or ``bg`` (any case), with its position.

    ## Why is this bad?
    MMDetection 3.x heads add the background themselves: ``num_classes`` counts object classes
    only, label 0 is the first object class, and a softmax classifier's extra output is the
    background. A ``'_background_'`` entry (the habit of MMDetection 1.x, of Detectron, or of a
    labelme/VOC export) shifts nothing in the annotations but makes a class no box carries: the
    head learns an empty class, the metrics average over it (AP 0 or -1), and every class id
    after it is the annotation file's id, not the one the name list suggests.

    ## Example
    ```python
    metainfo = dict(classes=('_background_', 'btle', 'mwm'))
    model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
    ```

    ## Use instead
    ```python
    metainfo = dict(classes=('btle', 'mwm'))
    model = dict(roi_head=dict(bbox_head=dict(num_classes=2)))
    ```
    """
    seen = set()
    for loader, path, ds in dataset_leaves(ctx.cfg):
        classes = metainfo_classes(ds)
        if not classes or isinstance(classes, str):
            continue
        hits = [(i, c) for i, c in enumerate(classes) if isinstance(c, str) and BACKGROUND.match(c.strip())]
        if not hits or tuple(classes) in seen:
            continue
        seen.add(tuple(classes))
        i, name = hits[0]
        yield Violation(
            message=(f"{path}.metainfo.classes lists {name!r} as class {i} of {len(classes)}: MMDetection 3.x heads "
                     "add the background themselves, so this is a class no annotation carries (num_classes counts "
                     "object classes only)"),
            key_path=f"{path}.metainfo.classes", evidence={"class": name, "index": i, "classes": len(classes)},
            fix=f"drop {name!r} from the classes (of every dataset) and lower num_classes by one")
