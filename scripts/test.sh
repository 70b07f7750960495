#!/usr/bin/env bash
# Set up a virtual environment (once) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test]"
export OPENBLAS_NUM_THREADS=1
.venv/bin/python -m ruff check sourcediff tests examples benchmarks
.venv/bin/python -m pytest -q "$@"
