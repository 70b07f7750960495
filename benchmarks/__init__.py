"""Benchmark suite for sourcediff: ``python -m benchmarks --help``.

Thread counts of the BLAS/OpenMP pools are pinned to 1 here, before NumPy (or
any peer framework) is imported, so every method is measured on one core and
the comparison is not skewed by whichever library happens to parallelise.
"""

import os as _os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")
_os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
_os.environ.setdefault("JAX_PLATFORMS", "cpu")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
