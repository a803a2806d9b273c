"""DA095 findings from the blocking calls intercepted while the audit ran the config's code
(:mod:`detaudit.facts.blocking`): one per call and site, at the config key that asked for it."""
from __future__ import annotations

from ..rule import Violation
from .result import to_finding

BLOCKING_CODE = "DA095"
STATIC_SHOW_CODE = "DA715"   # a visualization hook with show=True, found without running anything

_WHY = {
    "show": "it would show an image and wait until its window is closed",
    "window": "it would open a window",
    "key wait": "it would wait for a key press",
    "pause": "it would wait in a window's event loop",
    "input": "it would wait for a line typed on a terminal",
    "stdin": "it would wait for standard input",
    "barrier": "the barrier's other parties never arrive in one process",
    "process group": "it would wait for the other processes of the group",
    "sleep": "it kept sleeping, waiting for something that did not come",
}
_FIX = {
    "show": "set show=False (the visualizer's backends store the drawn images), or a wait_time in seconds",
    "window": "store images with the visualizer's backends instead of opening windows",
    "key wait": "store images with the visualizer's backends instead of waiting for a key",
    "pause": "store figures (savefig) instead of showing them",
    "input": "decide in the config, not at run time: training has no terminal",
    "stdin": "read what the code needs from a file named in the config: training has no standard input",
    "barrier": "use mmengine.dist.barrier(), which returns at once in a single process",
    "process group": "let the launcher start the process group (tools/dist_train.sh, Runner(launcher=...))",
    "sleep": "check the condition once and fail with a message instead of waiting in a loop",
}


def add_blocking_findings(ctx, result, rules, severity_overrides: dict, calls) -> None:
    """One DA095 finding per blocking call the audit intercepted (if DA095 is selected), except
    a visualizer's show already reported at its key by DA715."""
    selected = {r.code: r for r in rules}
    if BLOCKING_CODE not in selected or not calls:
        return
    static_keys = {f.key_path for f in result.findings if f.code == STATIC_SHOW_CODE and f.key_path}
    for call in calls:
        if call.kind in ("show", "window", "key wait", "pause") and call.key and \
                any(k == call.key or k.startswith(call.key + ".") for k in static_keys):
            continue
        result.findings.append(to_finding(ctx, selected[BLOCKING_CODE], violation(call), severity_overrides))


def violation(call) -> Violation:
    from ..errors import is_environment_code

    project = next((f for f in call.frames if not is_environment_code("", f[0])), None)
    site = project or (call.frames[0] if call.frames else None)
    who = call.key or (f"{site[2]} ({_short(site[0])}:{site[1]})" if site else "the config's code")
    if call.key and call.detail.get("hook"):
        who += f" ({call.detail['hook']})"
    elif call.key and call.detail.get("transform"):
        who += f" ({call.detail['transform']})"
    elif call.detail.get("module"):
        who += f" (module {call.detail['module']})"
    at = f" at {call.detail['stage']}" if call.detail.get("stage") else (f" in {call.stage}" if call.stage else "")
    times = f" ({call.count} times)" if call.count > 1 else ""
    why = _WHY.get(call.kind, "it would block")
    finite = call.kind == "show" and not call.detail.get("waits_forever", True)
    message = (f"{who} calls {call.call}{at}{times}: {why}; training would "
               f"{'stop at every image' if finite else 'hang'} on a machine without "
               f"{'a display' if call.kind in ('show', 'window', 'key wait', 'pause') else 'a person at it'}"
               if call.kind not in ("barrier", "process group", "sleep") else
               f"{who} calls {call.call}{at}{times}: {why}; training would hang there")
    evidence = {"kind": call.kind, "call": call.call, "count": call.count,
                "site": [f"{_short(f)}:{line} in {fn}" for f, line, fn in call.frames[:8]]}
    if call.component:
        evidence["component"] = call.component
    evidence.update({k: v for k, v in call.detail.items() if isinstance(v, (str, int, float, bool, type(None)))})
    return Violation(message=message, key_path=call.key, evidence=evidence, fix=_FIX.get(call.kind),
                     severity="warning" if finite else None,
                     file=None if call.key else (site[0] if site else None),
                     line=None if call.key else (site[1] if site else None))


def _short(path: str) -> str:
    """``mmdet/engine/hooks/visualization_hook.py`` for installed code, relative to the working
    directory when under it, the path as given otherwise."""
    import os

    from ..errors import environment

    for candidate in dict.fromkeys((path, os.path.realpath(path))):
        for folder in sorted(environment()[1], key=len, reverse=True):
            if candidate.startswith(folder + os.sep):
                return candidate[len(folder) + 1:]
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
