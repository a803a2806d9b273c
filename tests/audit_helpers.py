"""Helpers shared by the test modules. Import them as ``from audit_helpers import ...``:
conftest modules have no stable import name once several folders have one."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def run_cli(*args, cwd=ROOT, env=None, timeout=600):
    """Run the installed ``detaudit`` command as a user would; returns CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([PY, "-m", "detaudit", *map(str, args)], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def validate_report(data: dict) -> None:
    """Validate a JSON report against the schema shipped in the package."""
    import json
    from importlib.resources import files

    import jsonschema

    schema = json.loads(files("detaudit").joinpath("schema/report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)
