"""Results kept across runs: an unchanged config audited the same way is answered from disk.

A config's result is stored under a key that covers everything the audit reads:

- the content (sha256) of the config and of every file it inherits from (the source map's
  files: ``_base_`` files, ``read_base()`` imports), and the bases it names that are missing;
- the source files of every ``custom_imports`` module: their top-level package's ``*.py``
  files by content when they live in the project, by version (else size and mtime) when they
  are installed packages;
- size and mtime of every file or folder the config's strings name (``load_from``,
  ``data_root``, annotation files, local pretrained weights, each also under every
  ``data_root``), plus their parent folders, and of the torch and mmengine checkpoint caches
  (``torchvision://`` and ``open-mmlab://`` weights are looked up there);
- the options (rule selection, severities, tier, expected-frozen modules and their source,
  ``--cfg-options``, input size, ``--no-exec``, ``--data``), the working directory, the environment
  variables the config substitutes (``{{$NAME:default}}``) and those naming model caches;
- the versions of Python, torch, torchvision, mmengine, mmcv, mmdet and numpy, detaudit's
  version and the size and mtime of every source file of detaudit and of each rule pack.

The cache lives in the user's cache folder (``$DETAUDIT_CACHE_DIR``, else
``$XDG_CACHE_HOME/detaudit``, else ``~/.cache/detaudit``), never next to the config: one JSON
file per config, working directory and options, replaced when the key changes, written
atomically. Results that depend on the run rather than the config (an internal error, a
timeout, a memory limit, a dead worker) are never stored. ``--no-cache`` (or
``DETAUDIT_NO_CACHE=1``) neither reads nor writes it; ``detaudit cache clean`` empties it.
A result read from the cache says so (``cached``).
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

FORMAT_VERSION = 1
ENV_DIR, ENV_OFF = "DETAUDIT_CACHE_DIR", "DETAUDIT_NO_CACHE"
PACKAGES = ("torch", "torchvision", "mmengine", "mmcv", "mmdet", "numpy")
ENVIRONMENT = ("TORCH_HOME", "MMENGINE_HOME", "XDG_CACHE_HOME", "PYTHONPATH")
NOT_STORED = ("DA091", "DA092", "DA093")   # about this run, not about the config
PATH_SUFFIXES = (".pth", ".pt", ".pkl", ".ckpt", ".safetensors", ".bin", ".json", ".txt", ".yaml", ".yml",
                 ".csv", ".xml", ".npy", ".npz", ".jpg", ".jpeg", ".png", ".lmdb", ".tar", ".zip")
MAX_FILE_BYTES = 64 * 1024 * 1024    # larger "source" files are stamped by size and mtime, not read
MAX_PATH_STRINGS = 2000


def default_dir(environ=None) -> Path:
    """Where results are kept, resolved from the environment as it was when detaudit started."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_DIR):
        return Path(environ[ENV_DIR]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "detaudit"


def disabled_by_environment(environ=None) -> bool:
    environ = os.environ if environ is None else environ
    return environ.get(ENV_OFF, "").strip().lower() not in ("", "0", "false", "no")


class ResultCache:
    def __init__(self, folder: str | os.PathLike, environ: dict | None = None):
        self.folder = Path(folder)
        # the environment as the user set it (the CLI moves library caches while it audits)
        self.environ = dict(os.environ if environ is None else environ)
        self._run_stamp: str | None = None

    # ------------------------------------------------------------------ keys
    def key(self, config: str, options) -> tuple[str, str] | None:
        """(entry name, key digest) for one config audited under ``options`` (an AuditOptions;
        its limits and ``debug`` do not change a stored result), or None when it cannot be keyed."""
        try:
            cwd = os.getcwd()
            path = Path(config).resolve()
            if not path.is_file():
                return None
            chosen = {k: v for k, v in asdict(options).items()
                      if k not in ("cfg_options", "input_size", "timeout", "max_memory", "debug")}
            what = {"config": str(path), "shown": str(config), "cwd": cwd, "options": chosen,
                    "cfg_options": repr(sorted((options.cfg_options or {}).items())),
                    "input_size": list(options.input_size) if options.input_size else None}
            entry = _digest(what)
            inputs = self._inputs(path, options.cfg_options or {}, Path(cwd))
            return entry, _digest({"what": what, "run": self.run_stamp(), "inputs": inputs})
        except Exception:  # noqa: BLE001 - a config the cache cannot key is simply audited
            return None

    def run_stamp(self) -> str:
        """What is the same for every config of this run: versions and detaudit's own code."""
        if self._run_stamp is None:
            from importlib import metadata

            from .._version import __version__
            from ..load.paths import package_root
            from ..registry import rule_packs

            versions = {}
            for name in PACKAGES:
                try:
                    versions[name] = metadata.version(name)
                except metadata.PackageNotFoundError:
                    versions[name] = None
            code = [_tree_stamp(Path(__file__).resolve().parents[1])]
            packs = []
            for package, version, _ in rule_packs():
                packs.append((package, version))
                root = package_root(package)
                if root is not None:
                    code.append(_tree_stamp(root))
            self._run_stamp = _digest({"python": sys.version, "detaudit": __version__, "packages": versions,
                                       "packs": packs, "code": code})
        return self._run_stamp

    def _inputs(self, path: Path, cfg_options: dict, cwd: Path) -> dict:
        from ..load.sourcemap import SourceMap

        sm = SourceMap.from_file(path)
        files = list(dict.fromkeys([path, *sm.files]))
        texts = {f: _read(f) for f in files}
        strings = set()
        env_names = set()
        for f, data in texts.items():
            if data is None:
                continue
            strings |= _string_constants(data)
            env_names |= set(_env_names(data.decode("utf-8", "replace")))
        strings |= {v for v in _flat_values(cfg_options) if isinstance(v, str)}
        return {
            "files": {str(f): (hashlib.sha256(d).hexdigest() if d is not None else _stat(f)) for f, d in texts.items()},
            "missing_bases": sorted(str(b) for b, _, _ in sm.unresolved),
            "custom_imports": self._custom_imports(sm, cfg_options),
            "paths": _path_stamps(sorted(strings)[:MAX_PATH_STRINGS], cwd),
            "model_caches": self._model_cache_stamps(),
            "environment": {k: self.environ.get(k) for k in sorted(set(ENVIRONMENT) | env_names)},
        }

    def _custom_imports(self, sm, cfg_options: dict) -> dict:
        from ..load.paths import top_level_source

        value = cfg_options.get("custom_imports") or sm.literal("custom_imports", None)
        imports = value.get("imports", []) if isinstance(value, dict) else []
        imports = [imports] if isinstance(imports, str) else imports
        stamps = {}
        for module in imports if isinstance(imports, (list, tuple)) else []:
            if not isinstance(module, str) or not module:
                continue
            top = module.split(".")[0]
            source = top_level_source(top)
            if source is None:
                stamps[module] = None
            elif {"site-packages", "dist-packages"} & set(source.parts):
                stamps[module] = _installed_stamp(top, source)
            else:
                stamps[module] = _tree_hash(source) if source.is_dir() else _file_hash(source)
        return stamps

    def _model_cache_stamps(self) -> dict:
        cache = self.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        torch_home = self.environ.get("TORCH_HOME") or os.path.join(cache, "torch")
        mmengine_home = self.environ.get("MMENGINE_HOME") or os.path.join(cache, "mmengine")
        folders = [Path(torch_home) / "hub" / "checkpoints", Path(mmengine_home) / "hub" / "checkpoints"]
        return {str(f): _stat(f) for f in folders}

    # ------------------------------------------------------------------ entries
    def _entry_path(self, entry: str) -> Path:
        return self.folder / "results" / entry[:2] / f"{entry}.json"

    def get(self, entry: str, digest: str):
        """The stored result for this key, marked cached, or None."""
        from .result import AuditResult

        try:
            doc = json.loads(self._entry_path(entry).read_text(encoding="utf-8"))
            if doc.get("detaudit_cache") != FORMAT_VERSION or doc.get("key") != digest:
                return None
            result = AuditResult.from_json(doc["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None   # absent, from another version, damaged: audit again
        result.cached = True
        return result

    def put(self, entry: str, digest: str, result) -> bool:
        if not storable(result):
            return False
        from ..atomic import write_atomic

        try:
            doc = {"detaudit_cache": FORMAT_VERSION, "key": digest, "config": result.config,
                   "result": result.to_json()}
            path = self._entry_path(entry)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(str(path), json.dumps(doc))
        except (OSError, TypeError, ValueError):
            return False   # a read-only or full cache folder only costs the next run its speed
        return True

    def clean(self) -> int:
        """Remove every stored result; returns how many there were."""
        import shutil

        results = self.folder / "results"
        count = sum(1 for _ in results.rglob("*.json")) if results.is_dir() else 0
        shutil.rmtree(results, ignore_errors=True)
        return count


def storable(result) -> bool:
    return (not result.internal_errors and not getattr(result, "cached", False)
            and not any(f.code in NOT_STORED for f in result.findings)
            and not any("--timeout" in str(s.get("reason", "")) for s in result.skipped))


# ---------------------------------------------------------------------- stamps
def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _stat(path: Path):
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, path.is_dir()]


def _file_hash(path: Path | None):
    data = _read(path) if path is not None else None
    return hashlib.sha256(data).hexdigest() if data is not None else (_stat(path) if path else None)


def _py_files(folder: Path):
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(dirpath) / name


def _tree_hash(folder: Path) -> str:
    """The content of every .py file under a project's own package."""
    h = hashlib.sha256()
    for f in _py_files(folder):
        h.update(f"{f.relative_to(folder)}\0{_file_hash(f)}\n".encode())
    return h.hexdigest()


def _tree_stamp(folder: Path) -> str:
    """Size and mtime of every .py file under an installed or editable package (cheap)."""
    h = hashlib.sha256(str(folder).encode())
    for f in _py_files(folder):
        h.update(f"{f.relative_to(folder)}\0{_stat(f)}\n".encode())
    return h.hexdigest()


def _installed_stamp(top: str, source: Path):
    from importlib import metadata

    try:
        dists = metadata.packages_distributions().get(top, [])
        versions = {d: metadata.version(d) for d in dists}
    except Exception:  # noqa: BLE001 - odd metadata: fall back to the files
        versions = {}
    return versions or (_tree_stamp(source) if source.is_dir() else _stat(source))


def _string_constants(data: bytes) -> set[str]:
    """Strings of a config file that may name a file or folder."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _path_like(node.value):
            out.add(node.value)
    return out


def _path_like(text: str) -> bool:
    if not text or len(text) > 4096 or "\n" in text or "{{" in text:
        return False
    if "://" in text:
        return False
    return "/" in text or os.sep in text or text.lower().endswith(PATH_SUFFIXES)


def _flat_values(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _flat_values(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _flat_values(v)
    else:
        yield value


def _path_stamps(strings: list[str], cwd: Path) -> dict:
    """Each path-like string relative to the working directory (absolute ones as they are),
    also below each string that is an existing folder (``data_root`` + ``ann_file``), with
    its parent folder: a file appearing in a folder changes the folder's mtime."""
    stamps = {}
    candidates = [cwd / os.path.expanduser(s) for s in strings]
    roots = [c for c in candidates if c.is_dir()][:20]
    # the working directory and the folders above it change with every file saved there
    # (an editor's swap file, `sed -i`): their mtimes would void the cache for nothing
    busy = {cwd, *cwd.parents}
    for c in candidates + [r / s for r in roots for s in strings if not os.path.isabs(s)]:
        stamps[str(c)] = _stat(c)
        if c.parent not in busy:
            stamps[str(c.parent)] = _stat(c.parent)
    return stamps


def _env_names(text: str) -> list[str]:
    """Environment variables a config substitutes with mmengine's ``{{$NAME:default}}``."""
    import re

    return re.findall(r"\{\{\s*['\"]?\s*\$(\w+)", text)
