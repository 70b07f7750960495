"""Differential fuzzing of sourcediff.

``generate`` draws random, valid, differentiable Python/NumPy programs from
the rule table (hypothesis strategies); ``check`` runs one program three ways
(compiled gradient, runtime tape, central finite differences) plus forward
mode against reverse mode, and reports any mismatch. See ``docs/fuzzing.md``.
"""

from .check import CheckResult, check_program, load_program, save_regression
from .generate import Program, programs

__all__ = ["Program", "programs", "check_program", "load_program", "save_regression",
           "CheckResult"]
