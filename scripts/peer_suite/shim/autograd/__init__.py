"""autograd's public API, answered by sourcediff: lets autograd's own test files run
against sourcediff (``scripts/peer_suite/run.py``). Only names whose meaning sourcediff
shares are given; a test importing anything else fails at import and is reported as
using autograd's internals."""

import builtins
import sys

import numpy
import numpy.fft
import numpy.linalg
import numpy.random

import sourcediff as _sd

sys.modules.update({"autograd.numpy": numpy, "autograd.numpy.random": numpy.random,
                    "autograd.numpy.linalg": numpy.linalg, "autograd.numpy.fft": numpy.fft})
try:
    import scipy
    import scipy.integrate
    import scipy.linalg
    import scipy.signal
    import scipy.special
    import scipy.stats
except ImportError:  # pragma: no cover - SciPy is optional
    pass
else:
    sys.modules.update({"autograd.scipy": scipy, "autograd.scipy.linalg": scipy.linalg,
                        "autograd.scipy.signal": scipy.signal,
                        "autograd.scipy.special": scipy.special,
                        "autograd.scipy.stats": scipy.stats,
                        "autograd.scipy.integrate": scipy.integrate})
    for _name in ("norm", "t", "beta", "gamma", "chi2", "poisson", "dirichlet",
                  "multivariate_normal"):
        sys.modules[f"autograd.scipy.stats.{_name}"] = getattr(scipy.stats, _name)

tuple, list, dict, isinstance = builtins.tuple, builtins.list, builtins.dict, builtins.isinstance
jacobian, hessian = _sd.jacobian, _sd.hessian


# sourcediff's own (grad(f, argnum) means the same): called inside a differentiated
# function, the compiler knows them for what they are
grad, value_and_grad = _sd.grad, _sd.value_and_grad


def _selected(argnum, args):
    return (argnum,) if builtins.isinstance(argnum, int) else builtins.tuple(argnum)


def elementwise_grad(fun, argnum=0):
    """The vjp of ``fun`` with a cotangent of ones (autograd's elementwise_grad)."""
    def gradfun(*args):
        out, pullback = _sd.vjp(fun, *args)
        cots = pullback(numpy.ones_like(out))
        return cots[argnum]
    return gradfun


def make_vjp(fun, argnum=0):
    def vjp_maker(*args):
        out, pullback = _sd.vjp(fun, *args)
        return (lambda g: pullback(g)[argnum]), out
    return vjp_maker


def make_jvp(fun, argnum=0):
    def jvp_maker(*args):
        def jvp(v):
            tangents = [numpy.zeros_like(a) if numpy.ndim(a) else 0.0 * a for a in args]
            tangents[argnum] = v
            return _sd.jvp(fun, builtins.tuple(args), builtins.tuple(tangents))
        return jvp
    return jvp_maker


def deriv(fun, argnum=0):
    def d(*args):
        return make_jvp(fun, argnum)(*args)(numpy.ones_like(args[argnum]))[1]
    return d


def tensor_jacobian_product(fun, argnum=0):
    def product(*args):
        *xs, v = args
        return _sd.vjp(fun, *xs)[1](v)[argnum]
    return product


def hessian_tensor_product(fun, argnum=0):
    def product(*args):
        *xs, v = args
        return _sd.hvp(fun, argnum)(*xs, v)
    return product


hessian_vector_product = hessian_tensor_product
