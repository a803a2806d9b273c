"""Stage 1: files to config data, and every key to the file:line that set it.

:mod:`.bases` holds mmengine's config semantics, once (which files a config inherits from,
how their values merge); :mod:`.executed` loads a config as training does (its code runs);
:mod:`.static_reader` (with :mod:`.static_eval`) reads one as data under ``--no-exec``;
:mod:`.sourcemap` (with :mod:`.source_reader` and :mod:`.nodes`) locates every key;
:mod:`.suppressions` reads the ``# detaudit: ignore[...]`` comments; :mod:`.paths` finds
packages and shows paths. Nothing here runs a config's code except :mod:`.executed`.
"""
