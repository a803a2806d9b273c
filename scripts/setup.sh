#!/usr/bin/env bash
# Create .venv and install the verified stack (see README "Set-up"). Idempotent:
# a second run only checks what is there. mmcv 2.1.0 ships as source only and is
# compiled against the installed torch; pip caches the built wheel afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
VENV=.venv
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
pip() { "$VPY" -m pip "$@"; }

stamp="$VENV/.detaudit-stack"
want="torch==2.13.0 mmengine==0.10.7 mmcv==2.1.0 mmdet==3.3.0"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup: stack already installed in $VENV"
else
    pip install --quiet --upgrade pip
    # torch first and pinned: anything unpinned pulls the multi-GB CUDA build.
    pip install --quiet "torch==2.13.0"
    # mmcv's setup.py imports pkg_resources (gone in setuptools 81); torch wants >= 77.0.3.
    pip install --quiet "setuptools>=77.0.3,<81" wheel ninja
    pip install --quiet "numpy" "mmengine==0.10.7"
    if ! "$VPY" -c "import mmcv.ops" >/dev/null 2>&1; then
        echo "setup: building mmcv 2.1.0 with ops (about 8 minutes the first time; cached afterwards)"
        MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" pip install --quiet --no-build-isolation "mmcv==2.1.0"
    fi
    pip install --quiet "mmdet==3.3.0"
    echo "$want" > "$stamp"
fi
# The project itself (editable) with its test extras and Ray (--executor ray, whose tests start a
# local Ray cluster); cheap when already there.
pip install --quiet --no-build-isolation -e ".[test,ray]"
# Byte-compile the project as pip does an installed package: an editable install does not, and
# where PYTHONDONTWRITEBYTECODE is set every audit would compile its 240 modules again (0.2 s).
"$VPY" -m compileall -q detaudit rules detector >/dev/null
echo "setup: ready ($VPY)"
