"""``python -m benchmarks``: run the suite (see ``--help``)."""

import os
import sys

# Also done in benchmarks/__init__.py (which runs first); repeated here so the
# entry point is self-evidently safe: thread pools must be pinned before NumPy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from benchmarks.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
