"""Sphinx configuration of sourcediff's API reference (built from the docstrings).

Build it with ``python -m sphinx -W -b html docs/api docs/_build`` (README);
tests/test_docs.py runs the same build, warnings as errors.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

import sourcediff  # noqa: E402

project = "sourcediff"
author = "sourcediff developers"
copyright = "sourcediff developers"
version = release = sourcediff.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.doctest"]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
default_role = "py:obj"
html_theme = "alabaster"
html_static_path = []
exclude_patterns = ["_build"]
