"""The memo of an audit's facts: :func:`fact` makes a context method a fact computed on first
use and at most once; a failure is remembered and every later request gets the same reason."""
from __future__ import annotations

import functools
import time

from ..errors import FactUnavailable
from ..rule.facts import tier_rank

NO_EXEC_REASON = ("--no-exec: the config's code and the modules it imports are not executed "
                  "(no model, optimizer or forward)")


def fact(tier: str):
    """Memoize a fact; remember a failure and turn later requests into FactUnavailable."""

    def deco(fn):
        name = fn.__name__

        @functools.wraps(fn)
        def get(self):
            if name in self._facts:
                return self._facts[name]
            if name in self._failed:
                raise FactUnavailable(name, self._failed[name])
            if tier_rank(tier) > tier_rank(self.max_tier):
                self._failed[name] = f"tier '{tier}' not requested (--tier {self.cli_tier})"
                raise FactUnavailable(name, self._failed[name])
            refused = self.refusal(tier)
            if refused:
                self._failed[name] = refused
                raise FactUnavailable(name, refused)
            start = time.perf_counter()
            try:
                value = fn(self)
            except FactUnavailable as exc:
                self._failed[name] = exc.reason
                raise
            finally:
                self.timings[tier] = self.timings.get(tier, 0.0) + time.perf_counter() - start
            self._facts[name] = value
            return value

        get.tier = tier
        return property(get)

    return deco
