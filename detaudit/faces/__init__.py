"""The entry points, each a thin adapter that parses its own spelling of the options into one
:class:`~detaudit.options.AuditOptions`, builds a source and calls the driver
(:mod:`detaudit.driver`): the command line (:mod:`.cli`), the Python API (:mod:`.api`), the pytest
plugin (:mod:`.pytest_plugin`), the training hook (:mod:`.hook`), ``assert_frozen``
(:mod:`.testing`) and ``detaudit show`` (:mod:`.show`). No stage imports a face."""
