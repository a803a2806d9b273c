"""pytest plugin (entry point ``pytest11``, name ``detaudit``; ``-p no:detaudit`` turns it off).

* ``detaudit_configs`` (ini option, globs relative to the rootdir, e.g. ``configs/*.py``): each
  matching config is collected as one test item ``detaudit::configs/stage2.py`` that fails, listing
  its findings, when the audit has findings at or above the fail level. Items are added when
  pytest runs without explicit paths (testpaths or the current folder), or for the configs
  inside the paths given on the command line. ``_base_`` folders and ``__init__.py`` are skipped.
* fixture ``detaudit_audit``: ``detaudit_audit("configs/stage2.py", expect_frozen=["backbone"])``
  returns a :class:`detaudit.Report`, cached for the session by its arguments.
* marker ``@pytest.mark.detaudit(config=..., expect_frozen=[...], select=[...])``: the test fails
  before its body runs when the audit has findings at or above the fail level; the fixture
  ``detaudit_report`` gives the test that audit's report.
* the tier: ``train`` unless ``--detaudit-tier``, the ini option ``detaudit_tier`` or a marker asks
  for another. A test suite asserts frozen backbones and built models many times over; the train
  tier answers those (built model, synthetic forward, one training step) in about half the time of
  the command line's default ``run`` tier, whose Runner dry run belongs before a long training.
* options in the ``detaudit`` group (``--detaudit-fail-on``, ``--detaudit-select``, ...) and ini
  defaults; ``[tool.detaudit]`` of the nearest pyproject.toml above the rootdir applies as it does
  for the command line, explicit arguments winning.

The plugin imports neither torch nor mmdet (nor mmengine) until an audit actually runs.
"""
from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

from ..findings import WORST_FIRST as SEVERITIES
from ..rule.facts import CLI_TIERS

TIERS = tuple(CLI_TIERS)
MARKER_OPTIONS = ("config", "expect_frozen", "select", "ignore", "extend_select", "severity", "tier", "fail_on",
                  "cfg_options", "input_size")
_CACHE = pytest.StashKey[dict]()
_FILE_SETTINGS = pytest.StashKey[object]()
_MARKER_REPORT = pytest.StashKey[object]()


# --------------------------------------------------------------------------- options and markers
def pytest_addoption(parser):
    group = parser.getgroup("detaudit", "detaudit: audit MMDetection / mmengine configs")
    group.addoption("--detaudit-fail-on", choices=SEVERITIES, default=None,
                    help="lowest severity that fails a config item or marked test (default: ini "
                         "detaudit_fail_on, then [tool.detaudit] fail-on, then error)")
    group.addoption("--detaudit-select", default=None, metavar="CODES",
                    help="comma-separated codes or prefixes to run (default: [tool.detaudit] select, then ALL)")
    group.addoption("--detaudit-ignore", default=None, metavar="CODES", help="comma-separated codes or prefixes to skip")
    group.addoption("--detaudit-tier", choices=TIERS, default=None,
                    help="deepest tier to run (default: ini detaudit_tier, then train, the quick tier for test suites)")
    group.addoption("--detaudit-input-size", default=None, metavar="HxW",
                    help="synthetic image size (default: ini detaudit_input_size, then derived from the config)")
    group.addoption("--no-detaudit-configs", action="store_true", default=False,
                    help="do not collect the configs named by the detaudit_configs ini option")
    parser.addini("detaudit_configs", type="args", default=[],
                  help="globs (relative to the rootdir) of configs to collect as detaudit test items")
    parser.addini("detaudit_fail_on", default="", help="default fail level for detaudit items and markers")
    parser.addini("detaudit_tier", default="", help="default deepest tier for detaudit audits")
    parser.addini("detaudit_input_size", default="", help="default synthetic image size HxW for detaudit audits")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "detaudit(config, expect_frozen=[], select=None, ignore=None, fail_on=None, tier=None): "
        "audit the config first; the test fails if the audit has findings at or above the fail level")
    config.addinivalue_line("markers", "detaudit_config: a config collected through the detaudit_configs ini option")
    config.stash[_CACHE] = {}


# --------------------------------------------------------------------------- the shared audit runner
def _codes(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip().upper() for v in value if str(v).strip()]


def _size(value):
    if value in (None, ""):
        return None
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    try:
        h, w = (int(x) for x in str(value).lower().split("x"))
    except ValueError:
        raise pytest.UsageError(f"detaudit: input size must look like 128x160, got {value!r}")
    return h, w


def _file_settings(config):
    """[tool.detaudit] of the nearest pyproject.toml above the rootdir (read once per session)."""
    if _FILE_SETTINGS not in config.stash:
        from ..settings import SettingsError, check_codes, load_settings

        try:
            fs = load_settings(start=config.rootpath)
            check_codes(fs)
        except SettingsError as exc:
            fs = exc
        config.stash[_FILE_SETTINGS] = fs
    fs = config.stash[_FILE_SETTINGS]
    if isinstance(fs, Exception):
        pytest.fail(f"detaudit settings: {fs}", pytrace=False)
    return fs


def _option(config, name: str, ini: str):
    value = config.getoption(name)
    if value is None or value == "":
        value = config.getini(ini) or None
    return value


def resolve_config(config, path, *extra_dirs) -> Path:
    """A config path as given, else relative to the current directory, the rootdir or ``extra_dirs``."""
    p = Path(os.fspath(path))
    if p.is_absolute():
        candidates = [p]
    else:
        candidates = [Path.cwd() / p, config.rootpath / p] + [Path(d) / p for d in extra_dirs]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    looked = ", ".join(str(c.parent) for c in candidates)
    pytest.fail(f"detaudit: config not found: {path} (looked in {looked})", pytrace=False)


def run_audit(config, path, *, select=None, ignore=None, extend_select=None, expect_frozen=None,
              severity=None, tier=None, fail_on=None, cfg_options=None, input_size=None,
              intent_source="detaudit_audit(expect_frozen=...)"):
    """Audit one config with the plugin's defaults under the given options; cached per session."""
    from ..settings import for_config, merge

    fs = _file_settings(config)
    path = Path(path).resolve()
    fail_on = fail_on or _option(config, "detaudit_fail_on", "detaudit_fail_on")
    if fail_on is not None and fail_on not in SEVERITIES:
        pytest.fail(f"detaudit: fail_on must be one of {', '.join(SEVERITIES)}, got {fail_on!r}", pytrace=False)
    tier = tier or _option(config, "detaudit_tier", "detaudit_tier") or "train"
    if tier not in TIERS:
        pytest.fail(f"detaudit: tier must be one of {', '.join(TIERS)}, got {tier!r}", pytrace=False)
    size = _size(input_size or _option(config, "detaudit_input_size", "detaudit_input_size"))
    explicit_frozen = [expect_frozen] if isinstance(expect_frozen, str) else list(expect_frozen or [])
    settings = merge(fs, select=_codes(select) or _codes(config.getoption("detaudit_select")),
                     ignore=_codes(ignore) if ignore is not None else _codes(config.getoption("detaudit_ignore")),
                     extend_select=_codes(extend_select), fail_on=fail_on,
                     severity={k.upper(): v for k, v in (severity or {}).items()},
                     expect_frozen=explicit_frozen, tier=tier)
    from ..registry import unknown_selectors

    bad = unknown_selectors(settings.select + settings.ignore + settings.extend_select + list(settings.severity))
    if bad:
        pytest.fail(f"detaudit: unknown rule code or prefix: {', '.join(bad)} (see 'detaudit rules')", pytrace=False)
    settings, source = for_config(fs, settings, path, cli_expect_frozen=bool(explicit_frozen),
                                  default_source=intent_source)
    key = (str(path), str(Path.cwd()), tuple(settings.select), tuple(settings.ignore),
           tuple(settings.extend_select), tuple(sorted(settings.severity.items())), settings.tier,
           settings.fail_on, tuple(settings.expect_frozen), source, repr(sorted((cfg_options or {}).items())), size)
    cache = config.stash.setdefault(_CACHE, {})
    if key not in cache:
        from ..driver import ConfigFile, audit
        from ..report.report import Report

        result = audit(ConfigFile(str(path)), settings.replace(cfg_options=dict(cfg_options or {}), input_size=size))
        cache[key] = Report(audits=[result], settings=settings)
    return cache[key]


def failure_message(report, title: str) -> str | None:
    """None when the report passes; else a readable list of what fails it."""
    failing = report.failing()
    internal = [m for a in report.audits for m in a.internal_errors]
    if not failing and not internal:
        return None
    lines = [f"{title}: {len(failing)} finding(s) at or above '{report.settings.fail_on}'"]
    for f in failing:
        where = f.location or f.config or ""
        lines.append(f"  {where}: {f.code} {f.name} [{f.severity}] {f.message}")
        if f.key_path or f.module_path:
            lines.append("      " + "  ".join(x for x in (f.key_path and f"key: {f.key_path}",
                                                            f.module_path and f"module: {f.module_path}") if x))
        if f.fix:
            lines.append(f"      fix: {f.fix}")
    for msg in internal:
        lines.append(f"  internal error: {msg}")
    below = [f for f in report.findings if f not in failing]
    if below:
        lines.append(f"  ({len(below)} finding(s) below the fail level: "
                     f"{', '.join(sorted({f.code for f in below}))})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- fixtures and the marker
@pytest.fixture(scope="session")
def detaudit_audit(pytestconfig):
    """``detaudit_audit(config, **options) -> Report``; options as ``detaudit.audit`` takes them
    (select, ignore, extend_select, expect_frozen, severity, tier, fail_on, cfg_options, input_size).
    Reports are cached for the session by their arguments."""

    def audit(config, **options):
        unknown = sorted(set(options) - set(MARKER_OPTIONS))
        if unknown:
            raise TypeError(f"detaudit_audit() got unknown option(s): {', '.join(unknown)}")
        return run_audit(pytestconfig, resolve_config(pytestconfig, config), **options)

    return audit


def _marker_report(item):
    if _MARKER_REPORT in item.stash:
        return item.stash[_MARKER_REPORT]
    marker = item.get_closest_marker("detaudit")
    if marker is None:
        return None
    options = dict(marker.kwargs)
    if marker.args:
        if len(marker.args) > 1 or "config" in options:
            pytest.fail("detaudit marker: give one config, e.g. @pytest.mark.detaudit('configs/x.py')",
                        pytrace=False)
        options["config"] = marker.args[0]
    unknown = sorted(set(options) - set(MARKER_OPTIONS))
    if unknown:
        pytest.fail(f"detaudit marker: unknown option(s) {', '.join(unknown)} "
                    f"(known: {', '.join(MARKER_OPTIONS)})", pytrace=False)
    if not options.get("config"):
        pytest.fail("detaudit marker needs config=..., e.g. @pytest.mark.detaudit(config='configs/x.py')",
                    pytrace=False)
    path = resolve_config(item.config, options.pop("config"), item.path.parent)
    report = run_audit(item.config, path, intent_source="@pytest.mark.detaudit(expect_frozen=...)", **options)
    item.stash[_MARKER_REPORT] = report
    return report


@pytest.fixture
def detaudit_report(request):
    """The report of the test's ``@pytest.mark.detaudit`` audit."""
    report = _marker_report(request.node)
    if report is None:
        pytest.fail("detaudit_report needs a @pytest.mark.detaudit(config=...) marker on the test", pytrace=False)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    if item.get_closest_marker("detaudit") is None or isinstance(item, DetauditItem):
        return
    report = _marker_report(item)
    message = failure_message(report, f"detaudit: {report.audits[0].config}")
    if message:
        pytest.fail(message, pytrace=False)


# --------------------------------------------------------------------------- config items
class DetauditError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DetauditCollector(pytest.Collector):
    """Parent of the config items, so their node ids read ``detaudit::<config>``."""

    def collect(self):
        return []


class DetauditItem(pytest.Item):
    def __init__(self, *, config_path: Path, **kwargs):
        super().__init__(**kwargs)
        self.config_path = config_path
        self.add_marker("detaudit_config")

    def runtest(self):
        report = run_audit(self.config, self.config_path)
        message = failure_message(report, f"detaudit: {self.name}")
        if message:
            raise DetauditError(message)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, DetauditError):
            return excinfo.value.message
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.config_path, None, f"detaudit {self.name}"


def _within(path: Path, scopes: list[Path]) -> bool:
    return any(path == s or s in path.parents for s in scopes)


def _config_paths(config) -> list[Path]:
    patterns = config.getini("detaudit_configs") or []
    root = config.rootpath
    found: dict[Path, None] = {}
    for pattern in patterns:
        for match in sorted(glob.glob(pattern, root_dir=root, recursive=True)):
            path = (root / match).resolve()
            if path.is_file() and path.name != "__init__.py" and "_base_" not in Path(match).parts:
                found.setdefault(path, None)
    paths = list(found)
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        scopes = []
        for arg in config.args:
            base = arg.split("::", 1)[0]
            if base and "::" not in arg:
                scopes.append((config.invocation_params.dir / base).resolve())
        paths = [p for p in paths if _within(p, scopes)]
    return paths


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    if config.getoption("no_detaudit_configs") or not config.getini("detaudit_configs"):
        return
    paths = _config_paths(config)
    if not paths:
        return
    parent = DetauditCollector.from_parent(session, name="detaudit", nodeid="detaudit")
    added = []
    for path in paths:
        try:
            name = path.relative_to(config.rootpath.resolve()).as_posix()
        except ValueError:
            name = path.as_posix()
        item = DetauditItem.from_parent(parent, name=name, path=path, config_path=path)
        config.hook.pytest_itemcollected(item=item)
        added.append(item)
    items.extend(added)
    # Tell the reporters, so that "collected N items" counts the configs too.
    config.hook.pytest_collectreport(report=pytest.CollectReport("detaudit", "passed", None, added))


def pytest_report_header(config):
    if config.getini("detaudit_configs") and not config.getoption("no_detaudit_configs"):
        return f"detaudit: configs {' '.join(config.getini('detaudit_configs'))}"
    return None
