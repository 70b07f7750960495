"""What the reverse sweep knows about each adjoint at one point of the code it writes.

For every adjoint ``v_bar`` the sweep tracks four facts, each a set of primal names:

- ``defined``: ``v_bar`` is assigned on every path that reaches this point;
- ``maybe``: it is assigned on some path (``defined`` is a subset);
- ``real``: it surely holds a value of its primal's shape, not the symbolic zero
  ``0.0`` an adjoint starts from (a rule that reads it needs no ``real_cot``);
- ``zeroed``: it was just cut back to its zero, so its next contribution assigns
  (``v_bar = c``, not ``v_bar = v_bar + c``).

Together they are one element of a lattice, ordered by how much is known. Control
flow changes it in one way only: a branch or a loop body starts from a :meth:`fork` of
the state before it, and where paths meet the states are joined (:meth:`join`: a fact
holds after the join only if it holds on every path; an adjoint may be assigned after it
if it may be on some path). A body that may not run at all is joined with the state
before it.
"""

from __future__ import annotations


class AdjointState:
    __slots__ = ("defined", "maybe", "real", "zeroed")

    def __init__(self, defined=(), maybe=(), real=(), zeroed=()):
        self.defined = set(defined)
        self.maybe = set(maybe)
        self.real = set(real)
        self.zeroed = set(zeroed)

    def fork(self):
        """A copy to run one path from."""
        return AdjointState(self.defined, self.maybe, self.real, self.zeroed)

    def join(self, other):
        """The state where this path and ``other`` meet."""
        return AdjointState(self.defined & other.defined, self.maybe | other.maybe,
                            self.real & other.real, self.zeroed & other.zeroed)

    # -- queries ------------------------------------------------------------------
    def exists(self, v):
        """Is ``v``'s adjoint assigned on some path?"""
        return v in self.defined or v in self.maybe

    def only_maybe(self, v):
        """Assigned on some paths only: it needs a starting zero up front."""
        return v in self.maybe and v not in self.defined

    # -- transitions --------------------------------------------------------------
    def started(self, v):
        """``v``'s adjoint got a starting zero (it may still be the symbolic zero)."""
        self.real.discard(v)
        self.defined.add(v)
        self.maybe.add(v)

    def written(self, v):
        """A contribution was written to ``v``'s adjoint: it holds a real value."""
        self.defined.add(v)
        self.maybe.add(v)
        self.real.add(v)

    def renamed(self, v):
        """``v``'s adjoint has a fresh name: the next contribution starts it."""
        self.defined.discard(v)
        self.maybe.discard(v)

    def dropped(self, v):
        """``v``'s adjoint is never read again in this loop iteration."""
        self.renamed(v)
        self.zeroed.discard(v)

    def cut(self, v):
        """``v``'s adjoint was set back to its zero."""
        self.real.discard(v)
        self.zeroed.add(v)
