"""``[tool.detaudit]`` in the nearest ``pyproject.toml``: project defaults for every check option,
merged into the run's :class:`~detaudit.options.AuditOptions` (the command line wins).

Keys (kebab-case, as in the file)::

    [tool.detaudit]
    select = ["ALL"]                 # codes or prefixes
    ignore = ["DA202"]
    extend-select = []
    fail-on = "error"                # error | warning | info
    severity = {DA202 = "info"}      # per-rule severity
    per-file-ignores = {"configs/legacy/*.py" = ["DA003"]}
    expect-frozen = {"configs/stage2*.py" = ["backbone"]}

Globs are matched against a config's path relative to the folder that holds the
``pyproject.toml``; a glob without a ``/`` also matches the file name alone. An option given
on the command line replaces the file's value (``--severity`` merges per code, the command line
winning). The file is looked up from the current directory upwards and the nearest
``pyproject.toml`` is used, whether or not it has a ``[tool.detaudit]`` table.
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from .findings import WORST_FIRST
from .options import AuditOptions

KEYS = ("select", "ignore", "extend-select", "fail-on", "severity", "per-file-ignores", "expect-frozen")


# ``Settings`` is another name of :class:`~detaudit.options.AuditOptions` (every option of a run).
Settings = AuditOptions


class SettingsError(Exception):
    """The settings file cannot be used; the message is one line naming the file."""


@dataclass
class FileSettings:
    path: Path | None = None          # the pyproject.toml read, None when there is none
    select: list[str] | None = None
    ignore: list[str] | None = None
    extend_select: list[str] | None = None
    fail_on: str | None = None
    severity: dict[str, str] = field(default_factory=dict)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    expect_frozen: dict[str, list[str]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def _matches(self, pattern: str, config: str | os.PathLike) -> bool:
        absolute = Path(config).resolve()
        try:
            rel = absolute.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            rel = absolute.as_posix()
        if fnmatch.fnmatchcase(rel, pattern):
            return True
        return "/" not in pattern and fnmatch.fnmatchcase(absolute.name, pattern)

    def ignores_for(self, config) -> list[str]:
        return [code for pattern, codes in self.per_file_ignores.items() if self._matches(pattern, config)
                for code in codes]

    def expect_frozen_for(self, config) -> tuple[list[str], str | None]:
        """Modules the file expects frozen for this config, and the intent source to report."""
        modules: list[str] = []
        patterns = []
        for pattern, names in self.expect_frozen.items():
            if self._matches(pattern, config):
                patterns.append(pattern)
                modules += [m for m in names if m not in modules]
        if not modules:
            return [], None
        return modules, f"[tool.detaudit] expect-frozen {', '.join(repr(p) for p in patterns)}"

    def all_codes(self) -> list[str]:
        codes = list(self.select or []) + list(self.ignore or []) + list(self.extend_select or [])
        codes += list(self.severity)
        for values in self.per_file_ignores.values():
            codes += values
        return codes


def find_pyproject(start: str | os.PathLike | None = None) -> Path | None:
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: str | os.PathLike | None = None, *, start=None) -> FileSettings:
    """Read ``[tool.detaudit]`` from ``path``, or from the nearest pyproject.toml above ``start``
    (default: the current directory). No file, or no table, gives empty settings."""
    import tomllib

    explicit = path is not None
    pyproject = Path(path) if explicit else find_pyproject(start)
    if pyproject is None:
        return FileSettings()
    try:
        with open(pyproject, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"{pyproject}: settings file not found")
    except OSError as exc:
        raise SettingsError(f"{pyproject}: cannot read settings file: {exc.strerror or exc}")
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{pyproject}: invalid TOML: {exc}")
    table = data.get("tool", {}).get("detaudit") if isinstance(data.get("tool"), dict) else None
    if table is None:
        return FileSettings(path=pyproject)
    return parse_table(table, pyproject)


def parse_table(table, pyproject: Path) -> FileSettings:
    where = f"{pyproject}: [tool.detaudit]"
    if not isinstance(table, dict):
        raise SettingsError(f"{where} must be a table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise SettingsError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")

    def codes(key):
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise SettingsError(f"{where}: {key} must be a list of rule codes or prefixes")
        return [v.strip().upper() for v in value]

    def glob_table(key, item_kind):
        value = table.get(key, {})
        if not isinstance(value, dict):
            raise SettingsError(f'{where}: {key} must be a table of "glob" = [{item_kind}, ...]')
        out = {}
        for pattern, items in value.items():
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                raise SettingsError(f"{where}: {key} {pattern!r} must map to a list of {item_kind}s")
            out[pattern] = [i.strip() for i in items]
        return out

    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in WORST_FIRST:
        raise SettingsError(f"{where}: fail-on must be one of {', '.join(WORST_FIRST)}, got {fail_on!r}")
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise SettingsError(f'{where}: severity must be a table like {{DA202 = "info"}}')
    for code, level in severity.items():
        if level not in WORST_FIRST:
            raise SettingsError(f"{where}: severity {code} must be one of {', '.join(WORST_FIRST)}, "
                                f"got {level!r}")
    per_file = glob_table("per-file-ignores", "rule code")
    return FileSettings(
        path=pyproject, select=codes("select"), ignore=codes("ignore"), extend_select=codes("extend-select"),
        fail_on=fail_on, severity={k.strip().upper(): v for k, v in severity.items()},
        per_file_ignores={p: [c.upper() for c in v] for p, v in per_file.items()},
        expect_frozen=glob_table("expect-frozen", "module path"),
    )


def check_codes(file_settings: FileSettings) -> None:
    """Unknown codes in the file are a settings error, as they are on the command line."""
    from .registry import unknown_selectors

    bad = unknown_selectors(file_settings.all_codes())
    if bad:
        raise SettingsError(f"{file_settings.path}: [tool.detaudit]: unknown rule code or prefix: "
                            f"{', '.join(bad)} (see 'detaudit rules')")


def merge(file_settings: FileSettings, *, select=None, ignore=None, extend_select=None, fail_on=None,
          severity=None, expect_frozen=None, tier: str = "run", **options) -> AuditOptions:
    """The run's :class:`AuditOptions`: command-line values (not None / non-empty) replace the
    file's; severity merges per code with the command line winning. ``options``: the other
    options of the run (data, no_exec, cfg_options, limits...), as given."""
    return AuditOptions(
        select=list(select or file_settings.select or ["ALL"]),
        ignore=list(ignore if ignore is not None else (file_settings.ignore or [])),
        extend_select=list(extend_select if extend_select is not None else (file_settings.extend_select or [])),
        fail_on=fail_on or file_settings.fail_on or "error",
        tier=tier,
        expect_frozen=list(expect_frozen or []),
        severity={**file_settings.severity, **(severity or {})},
        **options,
    )


def for_config(file_settings: FileSettings, settings, config, *, cli_expect_frozen: bool,
               default_source: str = "--expect-frozen"):
    """Options for one config (per-file ignores added, the file's expect-frozen applied unless
    the face gave its own) and the intent source for its expect-frozen modules (also set as
    the options' ``expect_frozen_source``)."""
    extra_ignore = file_settings.ignores_for(config)
    out = settings.replace(ignore=list(settings.ignore) + [c for c in extra_ignore if c not in settings.ignore],
                           expect_frozen_source=default_source)
    if not cli_expect_frozen:
        modules, file_source = file_settings.expect_frozen_for(config)
        if modules:
            out.expect_frozen = modules
            out.expect_frozen_source = file_source
    return out, out.expect_frozen_source
