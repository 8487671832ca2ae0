#!/usr/bin/env bash
# The whole test suite: set-up, lint, then pytest in parallel. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks examples
status=0
.venv/bin/python -m pytest -n auto -q "$@" || status=$?
if [ "$status" = 5 ]; then
    echo "no tests were collected" >&2
fi
exit "$status"
