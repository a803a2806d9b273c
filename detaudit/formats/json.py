"""``--format json``: the versioned report contract (schema in detaudit/schema/)."""


def render(report, *, color: bool = False) -> str:
    return report.to_json(indent=2) + "\n"
