"""Fixtures of the detector tests (helpers live in ``det_helpers``)."""
import os.path as osp
import sys
import warnings

import pytest

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

warnings.filterwarnings('ignore', message='.*pkg_resources is deprecated.*')

pytest.importorskip('torch')
pytest.importorskip('mmdet')
pytest.importorskip('mmcv.ops')

import detector  # noqa: E402,F401  (registers the modules)
from mmdet.utils import register_all_modules  # noqa: E402

register_all_modules(init_default_scope=False)

SMALL_LLVIP = dict(train=4, test=2)
SMALL_KAIST = dict(train=4, val=2, test=2)


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic LLVIP + KAIST tree (128x160 images), shared read-only by the tests."""
    from detector.make_synthetic_data import generate
    root = tmp_path_factory.mktemp('synthetic')
    generate(str(root), seed=0, llvip=SMALL_LLVIP, kaist=SMALL_KAIST)
    return root


@pytest.fixture
def fresh_synthetic(tmp_path):
    """A private synthetic tree that a test may damage."""
    from detector.make_synthetic_data import generate
    generate(str(tmp_path), seed=1, llvip=dict(train=2, test=1), kaist=dict(train=2, val=1, test=1))
    return tmp_path


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Build with mmdet's registries (as configs with ``default_scope='mmdet'`` do), only for the
    duration of each detector test."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield
