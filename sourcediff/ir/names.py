"""Deterministic names for generated code: ``x_bar``, ``_g1``, ``_stack``.

Names never shadow a user name, a name the function reads, or each other.
"""

from __future__ import annotations


class NameGen:
    def __init__(self, taken):
        self.taken = set(taken)
        self.adjoints = {}
        self.tangents = {}
        self.counters = {}

    def fresh(self, base):
        if base not in self.taken:
            self.taken.add(base)
            return base
        i = 1
        while f"{base}_{i}" in self.taken:
            i += 1
        self.taken.add(f"{base}_{i}")
        return f"{base}_{i}"

    def adjoint(self, v):
        """The current name of ``v``'s adjoint (``v_bar``)."""
        if v not in self.adjoints:
            self.adjoints[v] = self.fresh(f"{v.lstrip('_')}_bar" if v.startswith("_t")
                                          else f"{v}_bar")
        return self.adjoints[v]

    def tangent(self, v):
        """The name of ``v``'s tangent (``v_dot``)."""
        if v not in self.tangents:
            base = v.lstrip("_") if v.startswith("_t") else v
            self.tangents[v] = self.fresh(f"{base}_dot")
        return self.tangents[v]

    def new_version(self, v):
        self.adjoints[v] = self.fresh(f"{v}_bar")

    def temp(self, prefix):
        n = self.counters.get(prefix, 0) + 1
        while f"_{prefix}{n}" in self.taken:
            n += 1
        self.counters[prefix] = n
        self.taken.add(f"_{prefix}{n}")
        return f"_{prefix}{n}"

    def global_name(self, base):
        return self.fresh(base)

