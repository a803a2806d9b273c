"""The pytest plugin, exercised the way a user's suite uses it (pytester scratch projects)."""
from __future__ import annotations

import re
import shutil

import pytest

from integ_helpers import ROOT, make_project, write
from integ_helpers import tiny_checkpoint  # noqa: F401 - a fixture

pytest_plugins = ["pytester"]

EXAMPLE_TESTS = ROOT / "examples" / "pytest" / "test_configs.py"
INI = """\
[tool.pytest.ini_options]
detaudit_configs = "configs/*.py"
detaudit_input_size = "64x96"
"""


@pytest.fixture(autouse=True)
def _heavy_modules_loaded_here():
    """Inline pytester runs drop the modules they imported when they end; numpy (under torch and
    mmdet) cannot be imported twice in one process, so import the stack and every rule pack here."""
    import mmdet  # noqa: F401
    import torch  # noqa: F401

    from detaudit.registry import all_rules

    all_rules()


def _outcomes(result) -> dict[str, str]:
    """nodeid -> PASSED/FAILED/... from the -rA short summary."""
    out = {}
    for line in result.outlines:
        m = re.match(r"^(PASSED|FAILED|ERROR|SKIPPED) (\S+)", line)
        if m:
            out[m.group(2)] = m.group(1)
    return out


@pytest.fixture
def project(pytester, tiny_checkpoint):
    """A user's project: configs/ (a broken stage-2 and the fixed one), the example tests."""
    make_project(pytester.path, tiny_checkpoint)
    pytester.makepyprojecttoml(INI)
    (pytester.path / "tests").mkdir()
    shutil.copy(EXAMPLE_TESTS, pytester.path / "tests" / "test_configs.py")
    return pytester


def test_plain_pytest_audits_each_config_and_xdist_agrees(project):
    inline = project.runpytest("-p", "no:cacheprovider", "-rA", "-v")
    inline.assert_outcomes(passed=5, failed=1)
    inline.stdout.fnmatch_lines(["*collected 6 items*",
                                 "detaudit::configs/stage2_broken.py FAILED*",
                                 "detaudit::configs/stage2_kaist_domain_ft_fixed.py PASSED*"])
    text = inline.stdout.str()
    failure = text[text.index("_ detaudit configs/stage2_broken.py _"):text.index("short test summary")]
    assert "detaudit: configs/stage2_broken.py: 3 finding(s) at or above 'error'" in failure
    for expected in ("configs/stage2_broken.py:4:1: DA201 load-from-missing [error]",
                     "configs/stage2_broken.py:5:71: DA101 lr-mult-zero-freeze [error] backbone:",
                     "configs/stage2_broken.py:5:71: DA102 expected-frozen-but-trainable [error] backbone: "
                     "11,019,008 of 11,176,512 parameters are trainable",
                     "fix: set model.backbone.frozen_stages=4 and norm_eval=True"):
        assert expected in failure
    assert "Traceback" not in failure and "pytest_plugin.py" not in failure
    outcomes = _outcomes(inline)
    assert outcomes["detaudit::configs/stage2_broken.py"] == "FAILED"
    assert sum(v == "PASSED" for v in outcomes.values()) == 5

    # pytest-xdist: the config items spread over two workers give the same outcomes (the
    # example tests are ordinary tests; leaving them out keeps this run short)
    spread = project.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "-n", "2", "-m", "detaudit_config")
    spread.assert_outcomes(passed=1, failed=1)
    assert _outcomes(spread) == {k: v for k, v in outcomes.items() if k.startswith("detaudit::")}
    assert "2 workers [2 items]" in spread.stdout.str()


def test_marker_fixture_and_options(pytester):
    make_project(pytester.path)
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    pytester.makepyfile(test_marked="""
        import pytest

        @pytest.mark.detaudit(config="configs/stage2_broken.py", select=["DA201"], tier="static")
        def test_fails_on_findings():
            raise AssertionError("the body must not run")

        @pytest.mark.detaudit("configs/stage2_broken.py", select=["DA201"], tier="static",
                              severity={"DA201": "warning"})
        def test_below_the_fail_level_passes(detaudit_report):
            assert [f.code for f in detaudit_report.findings] == ["DA201"]

        @pytest.mark.detaudit(config="configs/stage2_broken.py", select=["DA201"], tier="static", fail_on="bogus")
        def test_bad_option():
            pass

        @pytest.mark.detaudit(config="configs/nope.py")
        def test_missing_config():
            pass

        @pytest.mark.detaudit(conf="configs/stage2_broken.py")
        def test_unknown_marker_option():
            pass

        @pytest.mark.detaudit(config="configs/stage2_broken.py", select=["DA99"])
        def test_unknown_code():
            pass

        @pytest.mark.detaudit(config="configs/stage2_broken.py", expect_frozen=["neck"], select=["DA102"],
                              tier="build", input_size="64x96")
        def test_expect_frozen_names_the_marker():
            pass

        def test_report_needs_the_marker(detaudit_report):
            pass

        def test_fixture_is_cached(detaudit_audit):
            one = detaudit_audit("configs/stage2_broken.py", select=["DA201"], tier="static")
            two = detaudit_audit("configs/stage2_broken.py", select=["DA201"], tier="static")
            three = detaudit_audit("configs/stage2_broken.py", select=["DA201", "DA007"], tier="static")
            assert one is two and one is not three
            assert [f.code for f in one.findings] == ["DA201"] and not one.ok
            with pytest.raises(TypeError, match="unknown option"):
                detaudit_audit("configs/stage2_broken.py", colour=True)
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA", "--strict-markers")
    outcomes = {k.split("::")[-1]: v for k, v in _outcomes(result).items()}
    assert outcomes == {"test_fails_on_findings": "FAILED", "test_below_the_fail_level_passes": "PASSED",
                        "test_bad_option": "FAILED", "test_missing_config": "FAILED",
                        "test_unknown_marker_option": "FAILED", "test_unknown_code": "FAILED",
                        "test_expect_frozen_names_the_marker": "FAILED",
                        "test_report_needs_the_marker": "ERROR",
                        "test_fixture_is_cached": "PASSED"}
    text = result.stdout.str()
    assert "the body must not run" not in text
    assert "detaudit: configs/stage2_broken.py: 1 finding(s) at or above 'error'" in text
    assert "fail_on must be one of error, warning, info, got 'bogus'" in text
    assert "detaudit: config not found: configs/nope.py" in text
    assert "detaudit marker: unknown option(s) conf" in text
    assert "detaudit: unknown rule code or prefix: DA99" in text
    assert "neck: 209,408 of 209,408 parameters are trainable although @pytest.mark.detaudit(expect_frozen=...) " \
           "says it is frozen" in text
    assert "detaudit_report needs a @pytest.mark.detaudit(config=...) marker" in text


def test_settings_and_selection(pytester):
    make_project(pytester.path)
    write(pytester.path / "configs" / "legacy_one.py", "_base_ = ['./_base_/tiny_frcnn.py']\nload_from = 'x.pth'\n")
    write(pytester.path / "tests" / "test_plain.py", "def test_plain():\n    pass\n")
    pytester.makepyprojecttoml(INI + """
[tool.detaudit]
select = ["DA201"]
per-file-ignores = {"configs/legacy_*.py" = ["DA201"]}
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    assert _outcomes(result) == {"tests/test_plain.py::test_plain": "PASSED",
                                 "detaudit::configs/legacy_one.py": "PASSED",
                                 "detaudit::configs/stage2_broken.py": "FAILED"}
    assert "1 finding(s) at or above 'error'" in result.stdout.str()  # DA201 only: [tool.detaudit] select
    # explicit paths: only the configs inside them; -k and -m select items as usual
    assert list(_outcomes(pytester.runpytest("-p", "no:cacheprovider", "-rA", "tests"))) == ["tests/test_plain.py::test_plain"]
    listed = pytester.runpytest("-p", "no:cacheprovider", "--co", "-q", "configs", "-k", "legacy")
    assert "detaudit::configs/legacy_one.py" in listed.stdout.str() and "stage2_broken" not in listed.stdout.str()
    only = pytester.runpytest("-p", "no:cacheprovider", "--co", "-q", "-m", "detaudit_config")
    assert "test_plain" not in only.stdout.str() and "2/3 tests collected (1 deselected)" in only.stdout.str()
    # the command-line option wins over the settings
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA", "--detaudit-select", "DA0", "-k", "stage2")
    assert _outcomes(result) == {"detaudit::configs/stage2_broken.py": "PASSED"}
    # an invalid settings file fails the items with one clear line
    pytester.makepyprojecttoml(INI + "\n[tool.detaudit]\ncolour = true\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "stage2")
    result.assert_outcomes(failed=1)
    assert "detaudit settings: " in result.stdout.str() and "unknown key 'colour'" in result.stdout.str()


def test_disabled_plugin_and_help(pytester):
    make_project(pytester.path)
    pytester.makepyprojecttoml(INI)
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    off = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:detaudit", "-rA")
    assert list(_outcomes(off)) == ["test_one.py::test_one"]
    helptext = pytester.runpytest("--help").stdout.str()
    for option in ("--detaudit-fail-on", "--detaudit-select", "--detaudit-ignore", "--detaudit-tier",
                   "--detaudit-input-size", "--no-detaudit-configs", "detaudit_configs"):
        assert option in helptext
    assert re.search(r"^detaudit: audit MMDetection", helptext, re.M)
    markers = pytester.runpytest("--markers").stdout.str()
    assert "@pytest.mark.detaudit(config" in markers


def test_loading_the_plugin_imports_no_heavy_package(pytester):
    """Collection (config items included) must not import torch, mmengine, mmcv or mmdet."""
    make_project(pytester.path)
    pytester.makepyprojecttoml(INI)
    pytester.makeconftest("""
        import sys

        def pytest_collection_finish(session):
            heavy = sorted(m for m in ("torch", "mmengine", "mmcv", "mmdet") if m in sys.modules)
            print("HEAVY-MODULES:", heavy, "PLUGIN:", session.config.pluginmanager.has_plugin("detaudit"))
    """)
    result = pytester.runpytest_subprocess("--co", "-q", "-s", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["detaudit::configs/stage2_broken.py", "HEAVY-MODULES: [] PLUGIN: True"])
