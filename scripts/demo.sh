#!/usr/bin/env bash
# Set up a virtual environment (once) and run the quickstart demo.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
OPENBLAS_NUM_THREADS=1 .venv/bin/python examples/quickstart.py
