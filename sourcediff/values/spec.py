"""The specialisation key of a call: one entry per flat argument (its shape, or None),
plus the length of each tuple argument and the keys of each dict argument.

A ``Spec`` is the tuple of shapes the passes read (``dict(zip(params, spec))``), and it
carries ``items``: for each tuple argument its length, for each dict argument with
string keys those keys. They are part of its equality and hash, so code compiled for
``wrapped(*args)`` called with two arguments is never reused for a call with three: the
front end spells ``f(*args)`` out as ``f(args[0], args[1])`` from them (:mod:`displays`).
Lists stay generic (a list's length often varies from call to call).
"""

from __future__ import annotations


class Spec(tuple):
    """Shapes per argument (a tuple), with ``items``: ((index, length or keys), ...)."""

    items: tuple = ()

    def __new__(cls, shapes, items=()):
        self = super().__new__(cls, shapes)
        self.items = tuple(items)
        return self

    def __reduce__(self):
        return Spec, (tuple(self), self.items)

    def __eq__(self, other):
        return tuple.__eq__(self, other) is True and self.items == getattr(other, "items", ())

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((tuple(self), self.items))

    def __repr__(self):
        return f"Spec({tuple(self)!r}, items={self.items!r})"

    def item_of(self, i):
        """The length (a tuple argument) or keys (a dict argument) of argument ``i``."""
        return dict(self.items).get(i)


def item_of_value(a):
    """A tuple's length, a dict's keys (all identifiers), else None."""
    if type(a) is tuple:
        return len(a)
    if type(a) is dict and all(type(k) is str and k.isidentifier() for k in a):
        return tuple(a)
    return None


def items_of(args):
    """((index, length or keys), ...) for the tuple and dict arguments of ``args``."""
    return tuple((i, n) for i, n in ((i, item_of_value(a)) for i, a in enumerate(args))
                 if n is not None)


class Items:
    """A call key's entry for a tuple or dict argument: its type and length or keys (the
    generated code may have spelled ``f(*args)`` out at that length)."""

    __slots__ = ("type", "item")

    def __init__(self, type_, item):
        self.type, self.item = type_, item

    def __eq__(self, other):
        return isinstance(other, Items) and (self.type, self.item) == (other.type, other.item)

    def __hash__(self):
        return hash((self.type, self.item))

    def __repr__(self):
        return f"Items({self.type.__name__}, {self.item!r})"

    @staticmethod
    def key(a):
        """``a``'s key entry: an :class:`Items` for a tuple or dict, else its type."""
        n = item_of_value(a)
        return type(a) if n is None else Items(type(a), n)

    def guard(self, p, name):
        """Python source, true when the argument ``p`` does not match (``name``: the
        global holding this entry's type; ``name + "k"`` its keys)."""
        if self.type is tuple:
            return f"type({p}) is not {name} or len({p}) != {self.item}"
        return f"type({p}) is not {name} or tuple({p}) != {name}k"


def spec(shapes, args):
    """``shapes`` as a :class:`Spec` when an argument is a tuple or dict, else as it is
    (a plain tuple: the common case keeps its key)."""
    items = items_of(args)
    return Spec(shapes, items) if items else tuple(shapes)


def item_of(spec_, i):
    """The recorded length or keys of argument ``i`` (None if not recorded)."""
    return spec_.item_of(i) if isinstance(spec_, Spec) else None
