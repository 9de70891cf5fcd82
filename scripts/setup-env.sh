#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install distillbench with its
# test dependencies. Safe to run again: it reinstalls only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
stamp="$VENV/.distillbench-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "environment $VENV is up to date"
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
"$VENV/bin/python" -m pip check
echo "$want" > "$stamp"
echo "environment ready: $VENV (activate with: source $VENV/bin/activate)"
