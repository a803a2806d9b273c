import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


@pytest.fixture(autouse=True, scope="session")
def _isolated_caches(tmp_path_factory):
    """Empty torch/mmengine caches, so 'is it cached?' answers the same on every machine."""
    cache = tmp_path_factory.mktemp("cache")
    old = {k: os.environ.get(k) for k in ("TORCH_HOME", "MMENGINE_HOME")}
    os.environ["TORCH_HOME"] = str(cache / "torch")
    os.environ["MMENGINE_HOME"] = str(cache / "mmengine")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def run_cli(*args, cwd=ROOT, env=None, timeout=600):
    """Run the installed ``detaudit`` command as a user would; returns CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([PY, "-m", "detaudit", *map(str, args)], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


def validate_report(data: dict) -> None:
    """Validate a JSON report against the schema shipped in the package."""
    import json
    from importlib.resources import files

    import jsonschema

    schema = json.loads(files("detaudit").joinpath("schema/report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)


@pytest.fixture(scope="session")
def generated_files(tmp_path_factory):
    """Files written at test time, by name: checkpoints of the tiny fixture model (see
    tests/tiny_checkpoints.py). Rule fixtures refer to them as ``{generated:NAME}``."""
    from tiny_checkpoints import GeneratedFiles

    return GeneratedFiles(tmp_path_factory.mktemp("generated"))
