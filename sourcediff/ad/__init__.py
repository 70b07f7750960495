"""Differentiation proper: activity analysis, the reverse sweep (adjoints), forward mode
(tangents), saving and restoring overwritten values, adjoints known to be zero."""
