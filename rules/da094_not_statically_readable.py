from detaudit.rule import Violation, rule


@rule(code="DA094", name="not-statically-readable", severity="warning", tier="static", needs=("static_issues",))
def not_statically_readable(ctx):
    """With ``--no-exec``, a part of the config that cannot be read without running code.

    ## What it does
    ``--no-exec`` reads a config and its ``_base_`` files as syntax trees and evaluates only
    data: literals, ``dict()``/``list()``/``tuple()`` calls, names assigned earlier,
    arithmetic and string concatenation, ``{{_base_.x}}`` and ``_base_.x`` references,
    ``x.update(...)`` on known values, simple comprehensions. Each statement outside that
    subset (a function call, a loop, an ``if``, a class or function definition, an
    environment-variable substitution) is reported here with its file and line, and the
    value it would have produced is left out of what the static rules see. So are the
    ``_base_`` files of a package that is not installed where the audit runs
    (``mmdet::...`` bases in the light pre-commit hook, which installs detaudit alone): one
    finding names them. Without ``--no-exec`` this rule has nothing to report.

    ## Why is this bad?
    The static rules judge the config as read: a key set by code that was not run is seen
    at its base value or not at all, so a finding may be missing (or reported) only because
    of the unread part. Configs that are pure data are also easier to review.

    ## Example
    ```python
    import os
    data_root = os.environ.get('DATA', '/data/coco/')
    num_layers = compute_layers(depth=50)
    ```

    ## Use instead
    ```python
    data_root = '/data/coco/'       # override per machine with --cfg-options data_root=...
    num_layers = 6
    ```

    ## References
    - ``docs/untrusted-configs.md`` (auditing configs from pull requests with ``--no-exec``)
    """
    for issue in ctx.static_issues:
        key = f" ({issue.key})" if issue.key else ""
        yield Violation(
            message=f"not read under --no-exec{key}: {issue.message}",
            key_path=issue.key,
            evidence={"construct": issue.message},
            fix="write this value as plain data, or audit the config with its code executed (without --no-exec)",
            file=issue.file, line=issue.line,
        )
