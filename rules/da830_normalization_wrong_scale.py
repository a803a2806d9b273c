from detaudit.rule import Violation, rule
from detaudit.rule.config import is_mapping, walk_dicts
from detaudit.rule.merge import where


def _numbers(v) -> list[float] | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return [float(v)]
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return [float(x) for x in v]
    return None


def _unit(values: list[float]) -> bool:
    """Values on the [0, 1] pixel scale (statistics of images divided by 255), not all zero."""
    return all(0.0 <= x <= 1.0 for x in values) and any(0.0 < x < 1.0 for x in values)


@rule(code="DA830", name="normalization-wrong-scale", severity="error", tier="static", needs=("source_map",))
def normalization_wrong_scale(ctx):
    """The data preprocessor's ``mean`` or ``std`` is on the [0, 1] scale while images arrive as 0-255 values.

    ## What it does
    Reads the ``mean`` and ``std`` of every ``data_preprocessor`` of the model config and reports
    statistics written on the [0, 1] pixel scale (every value between 0 and 1, such as ImageNet's
    ``0.485, 0.456, 0.406`` / ``0.229, 0.224, 0.225`` or a dataset's own statistics computed
    after ``ToTensor``): ``LoadImageFromFile`` gives the preprocessor 0-255 values, which it
    normalizes as ``(x - mean) / std``. The finding gives the range the inputs then span.

    ## Why is this bad?
    With a unit-scale ``std`` the normalized inputs reach the hundreds or thousands instead of
    a few units: the pretrained backbone sees nothing like its training data, the first
    iterations blow up and the losses turn NaN (or the model trains far worse than it should).
    A unit-scale ``mean`` with a 0-255 ``std`` leaves the inputs uncentered. Nothing fails, so
    the mistake shows only as a bad or diverging training.

    ## Example
    ```python
    model = dict(data_preprocessor=dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]))
    ```

    ## Use instead
    ```python
    model = dict(data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]))
    ```
    """
    model = ctx.cfg.get("model", None)
    if not is_mapping(model):
        return
    sm = ctx.source_map
    for path, d in walk_dicts(model, "model"):
        if not path.endswith("data_preprocessor"):
            continue
        mean, std = _numbers(d.get("mean", None)), _numbers(d.get("std", None))
        if mean is None and std is None:
            continue
        mean_unit, std_unit = mean is not None and _unit(mean), std is not None and _unit(std)
        if not (mean_unit or std_unit):
            continue
        lo_mean, hi_mean = (min(mean), max(mean)) if mean else (0.0, 0.0)
        small = min(std) if std else 1.0
        low, high = (0.0 - hi_mean) / small, (255.0 - lo_mean) / small
        which = "mean" if mean_unit else "std"
        key = f"{path}.{which}"
        scaled = {"mean": [round(x * 255, 3) for x in mean or []] if mean_unit else mean,
                  "std": [round(x * 255, 3) for x in std or []] if std_unit else std}
        written = " and ".join(f"{k}={v}" for k, v in (("mean", mean), ("std", std))
                               if v is not None and (k == "mean" and mean_unit or k == "std" and std_unit))
        yield Violation(
            message=(f"{path} has {written} ({where(sm.locate(key))}), values on the [0, 1] scale, but images "
                     f"reach it as 0-255 pixels: normalized, the inputs span about {low:.0f} to {high:.0f} "
                     f"instead of a few units" + ("" if std_unit else " and are not centered")),
            key_path=key, evidence={"mean": mean, "std": std, "input_range": [round(low, 1), round(high, 1)]},
            fix="multiply by 255: " + ", ".join(f"{k}={v}" for k, v in scaled.items() if v is not None))
