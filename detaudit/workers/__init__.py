"""Many configs, or one under limits: supervised worker processes (``--jobs``, ``--timeout``,
``--max-memory``). :mod:`.supervisor` in the parent, :mod:`.worker` in each child,
:mod:`.preload` imported once by the fork server, :mod:`.options` what a run asks for.
Beyond one machine: :mod:`.shard` (``--shard I/N``) and :mod:`.ray_executor` (``--executor ray``)."""
