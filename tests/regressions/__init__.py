"""Saved fuzz failures: one ``case_*.py`` per confirmed bug (see tests/test_regressions.py)."""
