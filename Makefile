# One-command entry points; every target sets the environment up first (idempotent).
PY := .venv/bin/python

.PHONY: setup demo test bench

setup:
	bash scripts/setup.sh

# The main job on the bundled example: audit the stage-2 config as the report's author wrote it.
# It has findings by design, so the audit's exit code 1 is expected here.
demo: setup
	$(PY) -m detaudit examples/configs/stage2_kaist_domain_ft.py; test $$? -le 1

test: setup
	$(PY) -m pytest -n 2 -q

bench: setup
	$(PY) benchmarks/audit_vs_deep_check.py
