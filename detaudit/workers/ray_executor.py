"""``--executor ray``: each config audited as a task of a Ray cluster.

A task runs its config the way ``--jobs`` does on one machine: through the supervisor
(:func:`~detaudit.workers.supervisor.audit_many`) with one worker process, forked from the
preloaded fork server that the Ray worker keeps between tasks. So ``--timeout``, ``--max-memory``
and the findings DA091, DA092 and DA093 mean the same on a cluster, and a config that hangs,
exhausts memory or kills its process never takes the Ray worker with it.

Each task declares what it needs, so Ray packs tasks as the nodes allow: one CPU and a memory
budget (``--max-memory`` plus what a worker with torch and mmdet loaded holds, else a default per
tier). A task whose Ray worker or node dies is run again (``MAX_RETRIES``); if it is lost every
time, its config is reported as DA093 (DA092 when Ray's memory monitor killed it). Results stream
as tasks finish and come out in input order.

The audits run in the driver's working directory, environment and ``sys.path``: the configs, the
project and the Python stack must be at the same paths on every node (a shared file system, or the
same checkout and image everywhere). Without ``--ray-address`` (and without ``$RAY_ADDRESS``) a Ray
instance is started on this machine for the run, bound to 127.0.0.1, without dashboard, with
``--jobs`` CPUs, and stopped at the end.
"""
from __future__ import annotations

import os
import sys
from typing import Iterator

MAX_RETRIES = 2                      # reruns of a task whose Ray worker or node died
WORKER_BASE = 1536 * 1024 ** 2      # what a worker with torch, mmengine and mmdet imported holds
TIER_MEMORY = {"static": 256 * 1024 ** 2, "build": 1024 ** 3, "forward": 1536 * 1024 ** 2,
               "train": 2 * 1024 ** 3, "run": 3 * 1024 ** 3}   # declared per audit without --max-memory
LOCAL_OBJECT_STORE = 200 * 1000 ** 2    # results are small JSON strings
WAIT_S = 0.5


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot run a task; the message says what to do."""


def check_available() -> None:
    """Ray is importable (checked without importing it: a local instance needs a setting first)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise RayUnavailable("--executor ray needs Ray: pip install 'detaudit[ray]' (or pip install ray)")


def task_resources(options) -> dict:
    """What one audit asks the cluster for: one CPU and a memory budget (bytes, Ray's logical
    ``memory`` resource). A GPU tier would add ``num_gpus`` here."""
    tier = getattr(options, "tier", "train")
    budget = options.max_memory or TIER_MEMORY.get(tier, TIER_MEMORY["train"])
    return {"num_cpus": 1, "memory": int(budget + WORKER_BASE)}


def _audit_task(config, options, context) -> str:
    """Runs inside a Ray worker: one config through the supervisor with one worker process."""
    from ..facts.sandbox import private_library_caches
    from ..load.paths import display_path
    from ..report.supervision import CRASH_CODE, failure_result
    from .supervisor import audit_many

    cwd, environ, driver_path = context
    if not os.path.isdir(cwd):
        result = failure_result(display_path(config, cwd), options, CRASH_CODE,
                                f"the Ray node has no folder {cwd} (the driver's working directory)",
                                {"node": os.uname().nodename}, "run detaudit where the configs and the project "
                                "are at the same paths on every node (shared file system or the same checkout)")
        result.internal_errors.append(f"Ray node {os.uname().nodename} has no folder {cwd}")
        return result.to_json()
    sys_path = list(sys.path) + [p for p in driver_path if p not in sys.path and os.path.isdir(p or ".")]
    with private_library_caches():  # the driver's private cache folders are on the driver's machine
        env = dict(environ)
        for key in ("XDG_CACHE_HOME", "MPLCONFIGDIR", "TORCHINDUCTOR_CACHE_DIR"):
            env[key] = os.environ[key]
        (result,) = audit_many([(config, options)], jobs=1, threads=1,
                               context=(cwd, env, sys_path))
    return result.to_json()


def _lost_result(display: str, settings, exc: BaseException):
    """The finding for a config whose task never came back."""
    from ..report.supervision import CRASH_CODE, MEMORY_CODE, MEMORY_FIX, failure_result

    kind = type(exc).__name__
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else kind
    if kind == "OutOfMemoryError":
        return failure_result(display, settings, MEMORY_CODE,
                              f"Ray's memory monitor killed the task auditing this config ({text})",
                              {"executor": "ray", "error": kind}, MEMORY_FIX)
    result = failure_result(display, settings, CRASH_CODE,
                            f"the Ray task auditing this config was lost ({kind}: {text}) "
                            f"after {MAX_RETRIES} retries",
                            {"executor": "ray", "error": kind, "retries": MAX_RETRIES},
                            "see the Ray cluster's logs for the node or worker that died; run this config alone "
                            "with --debug")
    if kind == "RayTaskError":  # the task itself raised: detaudit's own failure, not the config's
        result.internal_errors.append(f"Ray task raised {text}")
    return result


def _connect(address: str | None, jobs: int):
    """ray.init for this run; True when it started a Ray instance of its own."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    address = address or os.environ.get("RAY_ADDRESS") or None
    if not address and "ray" not in sys.modules:
        # A Ray instance of this run only: a single node that names itself 127.0.0.1, so that its
        # servers listen on the loopback interface only (Ray's setting for one-machine clusters).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    if not address and "RAY_AUTH_MODE" not in os.environ and not (
            os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")):
        # Token authentication with a token of this run, given to Ray's processes through the
        # environment: otherwise a new local instance writes one into ~/.ray/auth_token.
        import uuid

        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ["RAY_AUTH_TOKEN"] = uuid.uuid4().hex
    import logging

    import ray

    common = dict(logging_level=logging.ERROR, log_to_driver=False, configure_logging=True)
    if address:
        try:
            ray.init(address=address, **common)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayUnavailable(f"cannot connect to the Ray cluster at {address}: {exc}") from None
        return False
    ray.init(address="local", num_cpus=max(1, int(jobs)), include_dashboard=False, _node_ip_address="127.0.0.1",
             object_store_memory=LOCAL_OBJECT_STORE, _temp_dir=_private_temp_dir(), **common)
    return True


def _private_temp_dir() -> str:
    """A Ray temp folder of this run's own, not the machine's shared /tmp/ray (whose
    ``session_latest`` other Ray users on the machine connect through); short, because Ray's
    unix sockets live under it."""
    import tempfile

    base = tempfile.gettempdir()
    if len(base) > 40:
        base = "/tmp"
    return tempfile.mkdtemp(prefix="detaudit-ray-", dir=base)


def _session_root() -> str | None:
    """The temp folder of the Ray instance this run started (to remove it afterwards)."""
    try:
        from ray._private import worker as ray_worker

        session = ray_worker._global_node.get_session_dir_path()
        root = os.path.dirname(session)
        return root if os.path.basename(root).startswith("detaudit-ray-") else None
    except Exception:  # noqa: BLE001 - a folder left in the temp dir is no failure
        return None


def _check_fits(ray, resources: dict, address) -> None:
    """Fail clearly, rather than wait forever, when no node can take one task."""
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    fits = [r for r in nodes if r.get("CPU", 0) >= resources["num_cpus"] and r.get("memory", 0) >= resources["memory"]]
    if not fits:
        largest = max((r.get("memory", 0) for r in nodes), default=0)
        where = f"the Ray cluster at {address}" if address else "the local Ray instance"
        raise RayUnavailable(f"no node of {where} offers 1 CPU and {resources['memory'] / 1024 ** 3:.1f} GiB for an "
                             f"audit (the largest offers {largest / 1024 ** 3:.1f} GiB); lower --max-memory or add "
                             f"larger nodes")


def audit_on_ray(items: list[tuple], *, address: str | None = None, jobs: int = 1,
                 progress=None) -> Iterator:
    """Audit ``items`` (``(config, options)``) as Ray tasks; yield the
    AuditResults in input order, each as soon as it and every earlier one are done."""
    from ..load.paths import display_path
    from ..report.result import AuditResult
    from .supervisor import _path_of

    items = list(items)
    if not items:
        return
    context = (os.getcwd(), dict(os.environ), list(sys.path))   # the audits' environment, without Ray's settings
    saved = dict(os.environ)
    try:
        started = _connect(address, jobs)   # before importing ray: a local instance needs a setting first
    except BaseException:
        _restore_environment(saved)
        raise
    import ray

    refs: dict = {}
    try:
        remote = ray.remote(_audit_task)
        shapes = {}
        for i, (config, options) in enumerate(items):
            resources = task_resources(options)
            shape = (resources["num_cpus"], resources["memory"])
            if shape not in shapes:
                _check_fits(ray, resources, address)
                shapes[shape] = remote.options(max_retries=MAX_RETRIES, **resources)
            refs[shapes[shape].remote(config, options, context)] = i
        results: dict[int, object] = {}
        next_out = 0
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=WAIT_S)
            for ref in ready:
                i = refs[ref]
                config, options = items[i]
                try:
                    result = AuditResult.from_json(ray.get(ref))
                except Exception as exc:  # noqa: BLE001 - a lost task is a finding of its config
                    result = _lost_result(display_path(_path_of(config), os.getcwd()), options, exc)
                results[i] = result
                if progress:
                    progress(len(items) - len(pending), len(items), min(len(pending), max(1, jobs)), result)
            while next_out in results:
                yield results.pop(next_out)
                next_out += 1
        refs.clear()
    finally:
        for ref in refs:  # interrupted: nothing may go on auditing for nobody
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001
                pass
        if started or ray.is_initialized():
            temp_dir = _session_root() if started else None
            ray.shutdown()
            if temp_dir:
                import shutil

                shutil.rmtree(temp_dir, ignore_errors=True)
        _restore_environment(saved)


def _restore_environment(saved: dict) -> None:
    """This run's authentication token goes with its Ray instance."""
    for key in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN"):
        if key not in saved:
            os.environ.pop(key, None)


def run_on_ray(items: list[tuple], *, address: str | None = None, jobs: int = 1,
               show_progress: bool = False) -> list:
    """What the CLI runs for ``--executor ray``: the results in input order."""
    from .supervisor import _Progress

    progress = _Progress(len(items)) if show_progress and len(items) > 1 else None
    try:
        return list(audit_on_ray(items, address=address, jobs=jobs, progress=progress))
    finally:
        if progress:
            progress.close()
