from detaudit.rule import SAFE, Autofix, FactUnavailable, Violation, rule
from detaudit.rule.fixes import rename_key, set_key
from detaudit.rule.config import (DATALOADERS, datasets_under, is_mapping, is_prompt_detector, node_type,
                                  walk_dicts)
from detaudit.rule.merge import where

LEGACY_META_KEYS = {"CLASSES": "classes", "PALETTE": "palette"}
FILE_SUFFIXES = (".txt", ".json", ".yaml", ".yml", ".csv")


def _looks_like_file(value: str) -> bool:
    """mmengine reads a string metainfo value that names a file as that file's lines."""
    return value.lower().endswith(FILE_SUFFIXES) or "/" in value or "\\" in value


def _metainfos(cfg):
    """(key path, metainfo dict) of every dataset's metainfo under the dataloaders, once per
    (path) — test_dataloader = val_dataloader gives the same dict twice, under two paths."""
    for loader in DATALOADERS:
        dl = cfg.get(loader, None)
        if not is_mapping(dl):
            continue
        for path, d in walk_dicts(dl.get("dataset", None), f"{loader}.dataset"):
            meta = d.get("metainfo", None)
            if is_mapping(meta) and ".pipeline" not in path:
                yield f"{path}.metainfo", meta


def _classes_of(ds, constructors, path):
    """The class names a dataset ends up with: its metainfo's, else its type's defaults (read
    from the class when executing is allowed), else None."""
    meta = ds.get("metainfo", None)
    classes = meta.get("classes", None) if is_mapping(meta) else None
    if isinstance(classes, (list, tuple)):
        return tuple(classes), "metainfo"
    if classes is not None or constructors is None or ds.get("type", None) is None:
        return None, None
    sig = constructors.signature(ds.get("type"), path, ds)
    defaults = sig.attrs.get("METAINFO", {}).get("classes") if sig is not None else None
    return (tuple(defaults), f"{node_type(ds)}'s default") if isinstance(defaults, (list, tuple)) else (None, None)


@rule(code="DA804", name="class-names-not-a-sequence", severity="error", tier="static",
      needs=("source_map", "constructors"))
def class_names_not_a_sequence(ctx):
    """A dataset's class names are not a sequence of names, or the datasets of one loader disagree.

    ## What it does
    Reads the ``metainfo`` of every dataset under the dataloaders and reports: ``classes``
    given as a string (``('person')`` without the comma is the string ``'person'``: code
    that counts or indexes the classes sees one "class" per letter) or holding an entry that
    is not a string (``classes = ('person', ),`` is a tuple inside a tuple); the upper-case
    ``CLASSES``/``PALETTE`` keys of MMDetection 2.x, which 3.x datasets ignore; a
    ``palette`` with fewer colours than classes; and datasets of one dataloader (or of one
    ``ConcatDataset``) whose class lists differ (a dataset without ``metainfo.classes``
    counts with its type's default classes, read from the class when executing is allowed;
    text-prompted detectors such as GLIP and Grounding DINO, which take each dataset's own
    classes as prompts, are left out of that comparison).
    A string that names a file (``classes='classes.txt'``) is read by mmengine as that
    file's lines and is left alone.

    ## Why is this bad?
    Nothing fails at once. ``classes=('balloon')`` trains a dataset whose class count is 7;
    ``CLASSES=(...)`` leaves the dataset with its 80 COCO names, so custom categories match
    nothing and images are filtered out as empty; a short palette fails when results are
    drawn; two datasets with different class lists in one loader give the same label index
    two meanings.

    ## Example
    ```python
    metainfo = dict(classes=('person'), PALETTE=[(220, 20, 60)])
    ```

    ## Use instead
    ```python
    metainfo = dict(classes=('person', ), palette=[(220, 20, 60)])
    ```

    ## Fix
    Safe: a string of class names becomes a one-name tuple (``('person')`` -> ``('person', )``), a
    tuple wrapped in another by a trailing comma becomes the inner tuple,
    and ``CLASSES``/``PALETTE`` are renamed to ``classes``/``palette`` (not when the lower-case
    key is also there: which one the user meant is theirs to say). The merged config then
    differs at that key only, and says what the user wrote. A short palette and disagreeing
    datasets have no fix: the missing colours and the right class list are the user's choice.
    """
    try:
        constructors = ctx.constructors
    except FactUnavailable:
        constructors = None
    sm = ctx.source_map
    cfg = ctx.cfg
    reported = {}  # where a value is written -> the paths it reaches (one finding per line)
    for path, meta in _metainfos(cfg):
        classes = meta.get("classes", None)
        if isinstance(classes, str) and classes and not _looks_like_file(classes):
            reported.setdefault(("string", where(sm.locate(f"{path}.classes"))), []).append((path, classes))
        elif isinstance(classes, (list, tuple)) and any(not isinstance(c, str) for c in classes):
            reported.setdefault(("nested", where(sm.locate(f"{path}.classes"))), []).append((path, classes))
        for legacy, modern in LEGACY_META_KEYS.items():
            if legacy in meta:
                reported.setdefault((legacy, where(sm.locate(f"{path}.{legacy}"))), []).append((path, modern))
        palette = meta.get("palette", None)
        if isinstance(palette, (list, tuple)) and isinstance(classes, (list, tuple)) and len(palette) < len(classes):
            reported.setdefault(("palette", where(sm.locate(f"{path}.palette"))), []).append(
                (path, (len(palette), len(classes))))
    for (kind, at), hits in reported.items():
        path, value = hits[0]
        leaf = {"string": ".classes", "nested": ".classes", "palette": ".palette"}.get(kind, f".{kind}")
        also = f" (also {', '.join(p + leaf for p, _ in hits[1:])})" if len(hits) > 1 else ""
        if kind == "string":
            letters = ", ".join(repr(c) for c in value[:6]) + (", ..." if len(value) > 6 else "")
            yield Violation(
                message=(f"{path}.classes is the string {value!r}, not a sequence of class names{also}: "
                         f"parentheses without a comma make a string, and code that counts or indexes the "
                         f"classes sees {len(value)} \"classes\" ({letters})"),
                key_path=f"{path}.classes", evidence={"classes": value, "count_as_string": len(value)},
                fix=f"write classes=({value!r}, ) with the comma (or a list: [{value!r}])",
                autofix=Autofix(SAFE, f"classes=({value!r}, ): a one-name tuple",
                                [set_key(f"{path}.classes", (value,))]))
        elif kind == "nested":
            odd = next(c for c in value if not isinstance(c, str))
            names = [n for c in value for n in (c if isinstance(c, (list, tuple)) else [c]) if isinstance(n, str)]
            yield Violation(
                message=(f"{path}.classes holds {odd!r}, which is not a class name{also}: a trailing comma "
                         f"after the tuple (`classes = ('a', ),`) wraps it in another tuple, so no category of "
                         f"the annotations matches and every image is filtered out as empty"),
                key_path=f"{path}.classes", evidence={"classes": repr(value)[:200], "names": names[:20]},
                fix=f"write classes={tuple(names)!r}: the names themselves, one string each",
                autofix=Autofix(SAFE, f"classes={tuple(names)!r}: the tuple the comma wrapped",
                                [set_key(f"{path}.classes", tuple(names))])
                if len(value) == 1 and isinstance(value[0], (list, tuple)) and names == list(value[0]) else None)
        elif kind == "palette":
            n_pal, n_cls = value
            yield Violation(
                message=(f"{path}.palette has {n_pal} colour(s) for {n_cls} classes{also}: drawing results "
                         f"(visualization hooks, --show) fails"),
                key_path=f"{path}.palette", evidence={"palette": n_pal, "classes": n_cls},
                fix="give one colour per class", severity="warning")
        else:
            yield Violation(
                message=(f"{path} has the MMDetection 2.x key '{kind}'{also}; 3.x datasets read '{value}' and "
                         f"ignore '{kind}', so the dataset keeps its default {value}"),
                key_path=f"{path}.{kind}", evidence={"key": kind, "read_instead": value},
                fix=f"rename {kind} to {value}",
                autofix=Autofix(SAFE, f"rename {kind} to {value}", [rename_key(f"{path}.{kind}", value)])
                if value not in meta else None)
    if not is_prompt_detector(cfg.get("model", None)):  # text-prompted models take each dataset's classes
        yield from _disagreeing_datasets(cfg, constructors)


def _disagreeing_datasets(cfg, constructors):
    for loader in DATALOADERS:
        dl = cfg.get(loader, None)
        if not is_mapping(dl) or not is_mapping(dl.get("dataset", None)):
            continue
        leaves = list(datasets_under(dl["dataset"], f"{loader}.dataset"))
        if len(leaves) < 2:
            continue
        known = [(p, *_classes_of(ds, constructors, p)) for p, ds in leaves]
        known = [(p, c, src) for p, c, src in known if c is not None]
        lists = {c for _, c, _ in known}
        if len(lists) < 2:
            continue
        first_path, first, first_src = known[0]
        odd = [(p, c, src) for p, c, src in known if c != first]
        shown = "; ".join(f"{p}: {len(c)} classes ({src})" for p, c, src in odd[:3])
        yield Violation(
            message=(f"the datasets of {loader} disagree on their classes: {first_path} has {len(first)} "
                     f"({first_src}), but {shown}; the same label index means different classes"),
            key_path=f"{odd[0][0]}.metainfo",
            evidence={"datasets": {p: list(c)[:10] for p, c, _ in known}},
            fix="give every dataset of the loader the same metainfo=dict(classes=...)")
