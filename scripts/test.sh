#!/usr/bin/env bash
# Install the project with its test extras and run the whole test suite, then lint and types.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e ".[test,postgres]"
python3 -m pytest -q -p no:cacheprovider "$@"
python3 -m ruff check .
python3 -m mypy
