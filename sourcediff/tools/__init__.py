"""Standalone tools: exporting a gradient as a module, the command line."""
