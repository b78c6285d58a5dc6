#!/usr/bin/env bash
# Create .venv (Python 3.11+) with the given pip requirements; shared by the two README commands.
# Usage: scripts/bootstrap.sh REQUIREMENT...
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "$@"
