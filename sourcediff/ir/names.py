"""Deterministic names for generated code: ``x_bar``, ``_t1``, ``_stack``, each with its role.

One :class:`NameGen` per function compiled makes every name the compiler adds to it (the
driver creates it when the function is parsed and hands it to each pass), so names never
shadow a user name, a name the function reads, or each other. It records each name's
*role*, and a pass that needs to know whether a name is the compiler's (to inline it, to
fold it as a tangent) asks :meth:`NameGen.role`, never the name's spelling: a user's
``_h``, ``_tmp`` or ``y_bar`` is the user's.

Generated code reaches every runtime helper through one reserved name, :data:`RUNTIME`
(``_sd.unbroadcast(x_bar, x)``). Inside the compiler a helper is a plain name
(``unbroadcast``), and a user's name spelled like one gets a private spelling
(``NameGen.users``, given by ``front/resolve.py``); :func:`codegen.spell`, when the
function is compiled, writes both as printed: the helper as ``_sd.unbroadcast``, the
user's name as the user wrote it.
"""

from __future__ import annotations

NAMES = "__sourcediff_names__"  # key in a function's namespace: its NameGen
RUNTIME = "_sd"  # the one name generated code reaches the runtime helpers through


class Helpers:
    """What :data:`RUNTIME` is in generated code: the runtime helpers as attributes
    (``_sd.like``), read from the table it is made with (``runtime.HELPERS``), kept live."""

    def __init__(self, table):
        self.__dict__ = table  # (a helper added to the table later is an attribute too)

    def __repr__(self):
        return "<sourcediff runtime helpers>"


# the roles, and what a name of each holds
ROLES = {
    "adjoint": "the adjoint of a value (x_bar)",
    "tangent": "the tangent of a value (x_dot; _dnewN before it is named)",
    "seed": "the parameter taking the output's cotangent",
    "temp": "one operation's value (_tN from normalise; _cN, _gN, _newN ... from the sweeps)",
    "control": "flatten's flags and counters (_cN, _nN, _skipN, _brkN, _retN, _returnedN); "
               "the variable of a reverse loop that only counts (_)",
    "stack": "the stack of saved values (_stack)",
    "save": "an overwritten value kept for the reverse pass (x_prev), or for the return "
            "(_value)",
    "pullback": "a pullback or its residuals (_pbN, _pullbacksN, _rrN, f_pullback)",
    "aux": "the aux value of has_aux (_aux)",
    "global": "a name the generated code reads from its globals (itself, a rule's callable, a "
              "lifted function, a default value, the data it reads at each call)",
}


class NameGen:
    def __init__(self, taken=(), helpers=(), users=None):
        self.taken = set(taken)
        self.helpers = helpers  # the names of the runtime helpers (printed _sd.<name>)
        self.users = dict(users or {})  # a user's name spelled otherwise inside -> the user's
        self.adjoints = {}
        self.tangents = {}
        self.counters = {}
        self.roles = {}     # name -> role (see ROLES), for every name made here
        self.primals = {}   # adjoint or tangent name -> the name it is the derivative of
        self._dummy = None

    def take(self, names):
        """Names in use that were not made here (the user's, builtins a pass introduced)."""
        self.taken.update(names)

    def reserve(self, name, role):
        """A name the compiler spells itself (``_stack``): no other name takes it."""
        self.taken.add(name)
        self.roles[name] = role
        return name

    def fresh(self, base, role):
        """``base``, or ``base_1``, ``base_2`` ... if taken."""
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        return self.reserve(name, role)

    def temp(self, prefix, role="temp"):
        """``_prefixN``, the next number for ``prefix`` not taken."""
        n = self.counters.get(prefix, 0) + 1
        while f"_{prefix}{n}" in self.taken:
            n += 1
        self.counters[prefix] = n
        return self.reserve(f"_{prefix}{n}", role)

    def _base(self, v):
        # a temporary's adjoint or tangent drops its underscore: _t3 -> t3_bar; a user's
        # name spelled otherwise inside is spelled as the user wrote it (like -> like_bar)
        return v.lstrip("_") if self.roles.get(v) == "temp" and v.startswith("_t") else \
            self.users.get(v, v)

    def adjoint(self, v):
        """The current name of ``v``'s adjoint (``v_bar``)."""
        if v not in self.adjoints:
            self.adjoints[v] = self.fresh(f"{self._base(v)}_bar", "adjoint")
            self.primals[self.adjoints[v]] = v
        return self.adjoints[v]

    def tangent(self, v):
        """The name of ``v``'s tangent (``v_dot``)."""
        if v not in self.tangents:
            self.tangents[v] = self.fresh(f"{self._base(v)}_dot", "tangent")
            self.primals[self.tangents[v]] = v
        return self.tangents[v]

    def new_version(self, v):
        """``v``'s adjoint gets a new name (the older value's adjoint is done)."""
        self.adjoints[v] = self.fresh(f"{self.users.get(v, v)}_bar", "adjoint")
        self.primals[self.adjoints[v]] = v

    def save(self, v):
        """A name keeping ``v``'s value for the reverse pass: ``v_prev``, ``v_prev2`` ..."""
        v = self.users.get(v, v)
        name, k = f"{v}_prev", 2
        while name in self.taken:
            name, k = f"{v}_prev{k}", k + 1
        return self.reserve(name, "save")

    def dummy(self):
        """The variable of a loop that only counts: ``_``, unless the user's."""
        if self._dummy is None:
            self._dummy = self.fresh("_", "control")
        return self._dummy

    def global_name(self, base):
        return self.fresh(base, "global")

    def primal(self, name):
        """The name whose adjoint or tangent ``name`` is (None for any other name)."""
        return self.primals.get(name)

    def role(self, name):
        """The role of a name made here (see :data:`ROLES`); None for any other name."""
        return self.roles.get(name)
