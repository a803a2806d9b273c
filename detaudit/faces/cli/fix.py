"""What ``detaudit --fix``, ``--unsafe-fixes`` and ``--diff`` do after the audit: fix each config,
say what was fixed and what was not (stderr), print diffs (stdout), and audit the fixed configs
again so that the report shows what is left."""
from __future__ import annotations

import sys

from ...fix.engine import fix_config, wanted


def add_arguments(parser) -> None:
    group = parser.add_argument_group("fixes")
    group.add_argument("--fix", action="store_true", help="apply the safe fixes findings carry ([*])")
    group.add_argument("--unsafe-fixes", action="store_true",
                       help="with --fix or --diff, also the unsafe ones ([-]: review them)")
    group.add_argument("--diff", action="store_true",
                       help="print the fixes as a unified diff and write nothing")


def requested(args) -> bool:
    return bool(args.fix or args.diff or args.unsafe_fixes)


def cli_tier(rule_tiers: list[str]) -> str | None:
    """The shallowest ``--tier`` that runs rules of all these tiers (None for none that it can)."""
    from ...rule.facts import CLI_TIERS, tier_rank

    need = max((tier_rank(t) for t in rule_tiers), default=0)
    for name, deepest in CLI_TIERS.items():
        if tier_rank(deepest) >= need:
            return name
    return None


def make_reaudit(options):
    """Run some rules again on a config, at their deepest tier (the cheapest that runs them all), in
    this process."""
    def reaudit(config: str, codes: list) -> list:
        from ...driver import ConfigFile, audit
        from ...registry import all_rules

        rules = all_rules()
        codes = [c for c in codes if c in rules]  # an unknown code of a suppression being removed
        tier = cli_tier([rules[c].tier for c in codes]) or options.tier
        one = options.replace(select=list(codes), ignore=[], extend_select=[], tier=tier, timeout=None,
                              max_memory=None)
        return audit(ConfigFile(config), one).findings
    return reaudit


def apply_fixes(report, items, args, rerun) -> int:
    """Fix the audited configs in place (or show the diff); ``rerun(items)`` audits configs again.
    Returns how many fixes were made (or, for --diff, would be)."""
    unsafe = bool(args.unsafe_fixes)
    write = bool(args.fix) and not args.diff
    fixed = []
    count = 0
    for index, (audit, item) in enumerate(zip(report.audits, items)):
        config, options = item
        if not any(wanted(f, unsafe) for f in audit.findings):
            continue
        outcome = fix_config(config, audit.findings, unsafe=unsafe, write=write,
                             reaudit=make_reaudit(options))
        if outcome.error:
            print(f"detaudit: {config}: {outcome.error}", file=sys.stderr)
        for o in outcome.outcomes:
            what = f"{o.code} {o.key_path or ''}".rstrip()
            if o.applied:
                count += 1
                verb = "fixed" if write and not outcome.error else "would fix"
                print(f"detaudit: {config}: {verb} {what} ({o.applicability}): {o.description}", file=sys.stderr)
            else:
                print(f"detaudit: {config}: not fixed {what}: {o.reason}", file=sys.stderr)
        if args.diff:
            for text in outcome.diffs.values():
                sys.stdout.write(text)
        if outcome.written:
            fixed.append(index)
    if fixed:
        for index, result in zip(fixed, rerun([items[i] for i in fixed])):
            report.audits[index] = result
    return count
