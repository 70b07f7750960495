"""Library functions differentiated through their NumPy definitions
(:mod:`sourcediff.prims.definitions`), one declaration each (``defvia``)."""

from __future__ import annotations

import numpy as np

from . import definitions as d
from .registry import defnondiff, defvia

defnondiff(np.searchsorted)  # (indices: np.interp's definition reads them)

_TRAPZ = (np.trapz,) if hasattr(np, "trapz") else ()  # (removed in NumPy 2.5)
defvia((np.trapezoid, *_TRAPZ), d.trapezoid)
defvia(np.polyval, d.polyval)
defvia(np.vecdot, d.vecdot)
defvia(np.linalg.vector_norm, d.vector_norm)
defvia(np.linalg.matrix_norm, d.matrix_norm)
defvia(np.cov, d.cov)
defvia(np.corrcoef, d.corrcoef)
defvia(np.convolve, d.convolve)
defvia(np.interp, d.interp)

try:
    import scipy.special as special
except ImportError:  # SciPy stays optional
    pass
else:
    defvia(special.entr, d.entr)
    defvia(special.rel_entr, d.rel_entr)
    defvia(special.kl_div, d.kl_div)
    defvia(special.huber, d.huber)
