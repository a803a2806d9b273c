"""``detaudit logs WORK_DIR``: the audit of a finished (or running) training, from what
mmengine wrote into its work dir: the scalar logs, the config as it ran, the checkpoints.

:mod:`.audit` runs the rules of the ``training`` tier (DA9xx) over the facts a work dir gives
(:mod:`detaudit.facts.workdir_run`, reading files through :mod:`detaudit.load.workdir`), and
:mod:`.command` is the command line. Findings, formats and exit codes are the config audit's.
"""
