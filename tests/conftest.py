import os

import pytest

from audit_helpers import run_cli


@pytest.fixture(autouse=True, scope="session")
def _isolated_caches(tmp_path_factory):
    """Empty torch/mmengine caches, so 'is it cached?' answers the same on every machine; and
    no result cache: every test audits (tests/report/test_cache.py turns it on where it tests it)."""
    cache = tmp_path_factory.mktemp("cache")
    old = {k: os.environ.get(k) for k in ("TORCH_HOME", "MMENGINE_HOME", "DETAUDIT_CACHE_DIR", "DETAUDIT_NO_CACHE")}
    os.environ["TORCH_HOME"] = str(cache / "torch")
    os.environ["MMENGINE_HOME"] = str(cache / "mmengine")
    os.environ["DETAUDIT_CACHE_DIR"] = str(cache / "detaudit")
    os.environ["DETAUDIT_NO_CACHE"] = "1"
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def generated_files(tmp_path_factory):
    """Files written at test time, by name: checkpoints of the tiny fixture model (see
    tests/tiny_checkpoints.py). Rule fixtures refer to them as ``{generated:NAME}``."""
    from tiny_checkpoints import GeneratedFiles

    return GeneratedFiles(tmp_path_factory.mktemp("generated"))
