"""``python -m sourcediff``: see :mod:`sourcediff.tools.cli`."""

import sys

from .tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
