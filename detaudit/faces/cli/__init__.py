"""The ``detaudit`` command line: one module per command (:mod:`.check` for ``detaudit CONFIG``,
:mod:`.logs`, :mod:`.rules`, :mod:`.show`, :mod:`.cache`), the options and report handling they
share in :mod:`.common`. Exit codes: 0 clean, 1 findings at or above --fail-on, 2 misuse or
internal error (``--exit-zero`` turns 1 into 0, never 2)."""
from __future__ import annotations

import contextlib
import os
import sys

from .common import EXIT_ERROR, EXIT_OK, UsageError, version_text


def _exit_now(code: int) -> None:
    """End the process once the report is out, without the interpreter's teardown: unloading
    torch and mmdet module by module costs about a second, and audited code may have started
    threads that never end, which a normal exit would wait for."""
    import threading

    left = [t for t in threading.enumerate()
            if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if left:
        print(f"detaudit: audited code left {len(left)} thread(s) running; exiting without waiting for them",
              file=sys.stderr)
    with contextlib.suppress(OSError):
        sys.stdout.flush()
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the real command line (tests pass argv and keep their process)
        _exit_now(main(list(sys.argv[1:])))
    argv = list(argv)
    debug = "--debug" in argv
    try:
        if argv and argv[0] == "--version":
            sys.stdout.write(version_text())
            return EXIT_OK
        if argv and argv[0] in ("rule", "rules"):
            from .rules import cmd_rule, cmd_rules

            return (cmd_rule if argv[0] == "rule" else cmd_rules)(argv[1:])
        if argv and argv[0] == "merge":
            from .scale import cmd_merge

            return cmd_merge(argv[1:])
        if argv and argv[0] == "dashboard":
            from .dashboard import cmd_dashboard

            return cmd_dashboard(argv[1:])
        from ...report.cache import ResultCache, default_dir, disabled_by_environment

        cache_dir = default_dir()  # before the audit points XDG_CACHE_HOME at a private folder
        if argv and argv[0] == "cache":
            from .cache import cmd_cache

            return cmd_cache(argv[1:], cache_dir)
        cache = None if disabled_by_environment() else ResultCache(cache_dir)
        from ...facts.sandbox import private_library_caches

        with private_library_caches():  # yapf/matplotlib caches must not land in the user's home
            if argv and argv[0] == "show":
                from .show import cmd_show

                return cmd_show(argv[1:])
            if argv and argv[0] == "logs":
                from .logs import cmd_logs

                return cmd_logs(argv[1:])
            if argv and argv[0] == "migrate":
                from .migrate import cmd_migrate

                return cmd_migrate(argv[1:])
            if argv and argv[0] == "data":
                from .data import cmd_data

                return cmd_data(argv[1:])
            from .check import cmd_check

            return cmd_check(argv, cache)
    except UsageError as exc:
        print(f"detaudit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("detaudit: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `detaudit rules | head`: the reader left, nothing is wrong
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")
        return EXIT_OK
    except SystemExit as exc:  # --help / --version from argparse
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as exc:  # noqa: BLE001
        if debug:
            raise
        print(f"detaudit: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
