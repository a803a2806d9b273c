"""``detaudit --fix`` / ``--unsafe-fixes`` / ``--diff``: the key-level fixes findings carry
(:mod:`detaudit.rule.fixes`) made on the files' syntax trees (:mod:`.cst_edit`, LibCST), each
verified before anything is written (:mod:`.engine`)."""
