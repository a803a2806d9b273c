from detaudit.rule import UNSAFE, Autofix, Violation, rule
from detaudit.rule.fixes import drop_suppression


@rule(code="DA007", name="unused-suppression", severity="warning", tier="static",
      needs=("suppressions", "source_map"))
def unused_suppression(ctx):
    """A ``# detaudit: ignore[...]`` comment that suppresses nothing, or cannot be read.

    ## What it does
    Reads the ``# detaudit: ignore[CODE, ...]`` comments of the audited config. A comment
    naming a code whose rule ran and reported nothing on that line (or, for a comment at the
    top of the file, in the whole audit) is reported as unused. A comment without a bracketed
    code list, or naming a code that no installed rule pack registers, is reported as
    malformed. Codes whose rule was not selected, or was skipped because a fact it needs
    failed, are not judged. The unused check runs after every other rule, since it needs their
    findings; the malformed check reads the file only.

    ## Why is this bad?
    A suppression outlives the problem it hid: once the config is fixed, the comment stays
    and silently hides the next, unrelated finding of the same rule on that key. A comment
    that cannot be read, or that names a mistyped code, suppresses nothing while its author
    believes the finding is handled.

    ## Example
    ```python
    load_from = 'work_dirs/stage1/epoch_12.pth'  # detaudit: ignore[DA201]  (the file exists now)
    model = dict(backbone=dict(frozen_stages=4))  # detaudit: ignore  (no codes)
    ```

    ## Use instead
    ```python
    load_from = 'work_dirs/stage1/epoch_12.pth'
    model = dict(backbone=dict(frozen_stages=4))
    ```

    ## Fix
    Safe for an unused code: it is removed from the comment, and the comment with it when no
    code is left; nothing in the merged config changes. Unsafe for an unknown code: it may be
    a mistyped real code the user meant, so removing it is theirs to review. A malformed
    comment has no fix: the codes it should name are not known.

    ## References
    The same idea as ruff's RUF100 (unused ``noqa``). Suppress this rule itself with
    ``# detaudit: ignore[DA007]`` at the top of the file.
    """
    if ctx.config_path is None:
        return
    shown = ctx.display_path
    for s in ctx.suppressions:
        if s.problem is not None:
            yield Violation(message=f"malformed suppression ({s.problem}): {s.comment}",
                            evidence={"comment": s.comment, "scope": s.scope},
                            fix="write '# detaudit: ignore[CODE, ...]' with rule codes from 'detaudit rules'",
                            file=shown, line=s.line)
            continue
        unknown = [c for c in s.codes if c not in ctx.known_codes]
        if unknown:
            yield Violation(message=f"suppression names unknown rule code {', '.join(unknown)}: {s.comment}",
                            key_path=ctx.source_map.outermost_key_at(shown, s.line) if s.scope == "line" else None,
                            evidence={"codes": unknown, "comment": s.comment, "scope": s.scope},
                            fix="use a code that 'detaudit rules' lists, or remove it", file=shown, line=s.line,
                            autofix=Autofix(UNSAFE, f"remove {', '.join(unknown)} from the comment (a mistyped "
                                            "code may have meant a real one: review)",
                                            [drop_suppression(shown, s.line, unknown)]))
