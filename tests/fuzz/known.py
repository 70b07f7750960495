"""Open bugs the fuzzer has found, so the fuzz runs keep looking for *new* ones.

Each entry masks one check stage ("grad", "tape", "jvp") for programs whose
source matches ``pattern``; its minimal reproducer lives in
``tests/regressions/`` as a strict xfail. When a bug is fixed, the regression
case XPASSes (and fails): set its ``BUG = None`` and delete the entry here.
Set ``SOURCEDIFF_FUZZ_UNMASK=1`` to run every check regardless.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Known:
    name: str
    stage: str                 # which check it masks: "grad", "tape" or "jvp"
    pattern: str | None        # regex searched in the entry function's source
    case: str                  # the regression file with the reproducer
    error: str | None = None   # regex searched in the failure message

    def matches(self, source, message=None):
        if self.pattern and not re.search(self.pattern, source, re.MULTILINE):
            return False
        if self.error:
            return message is not None and re.search(self.error, message) is not None
        return True


KNOWN: list[Known] = [
    # e.g. Known("jvp-prod-axis", "jvp", r"np\.prod\([^\n]*axis=", "case_jvp_prod_axis.py"),
]


def masked(stage, source):
    """Known bugs (matched on source alone) that mask ``stage`` for this program."""
    if os.environ.get("SOURCEDIFF_FUZZ_UNMASK"):
        return []
    return [k.name for k in KNOWN if k.stage == stage and not k.error and k.matches(source)]


def known_failure(stage, source, message):
    """The known bug (matched on its error message) a failure of ``stage`` is, or None."""
    if os.environ.get("SOURCEDIFF_FUZZ_UNMASK"):
        return None
    for k in KNOWN:
        if k.stage == stage and k.error and k.matches(source, message):
            return k.name
    return None
