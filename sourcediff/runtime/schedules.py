"""Checkpointing schedules: how a loop's reverse sweep gets back the states it needs.

A loop ``state = step(state, *params)`` run ``n`` times is reversed from its first
state alone, by three callables: ``advance(i, s)`` (step ``i`` forward), ``tape(i, s)``
(step ``i`` forward keeping what its reverse needs: ``(next state, pullback)``) and
``back(i, pullback, g)`` (the cotangent of the state before step ``i``, from the
cotangent after it; it accumulates the parameters' cotangents itself). A schedule decides which
states to keep and which to run again; each returns the initial state's cotangent and
counts what it did in a :class:`Count` (steps run forward, by ``advance`` or ``tape``;
states or pullbacks held at once).

- :func:`segments`: sqrt(n) segments (the default). Keep the state at the start of
  each segment of ``every`` steps; reverse the segments last first, each run again
  from its checkpoint keeping its pullbacks. Every step runs twice forward; at most
  ``ceil(n / every) + every`` states are held (``2 sqrt(n)`` for ``every = sqrt(n)``).
- :func:`binomial`: Griewank's binomial checkpointing (Revolve) with a fixed number of
  snapshots ``s``: the fewest forward steps for that memory. With ``r`` the least
  integer with ``binom(s + r, s) >= n``, each step runs at most ``r + 1`` times forward.
"""

from __future__ import annotations

from math import comb, isqrt


class Count:
    """What a schedule did: forward steps run again, states held at once (at most)."""

    def __init__(self):
        self.forward = 0  # advance() calls
        self.backward = 0  # back() calls
        self.held = 0
        self.peak = 0

    def hold(self, k):
        self.held += k
        self.peak = max(self.peak, self.held)


def default_every(n):
    """The segment length that holds fewest states: ``ceil(sqrt(n))``."""
    return max(1, isqrt(max(n - 1, 0)) + 1)


def segments(state, n, g, advance, tape, back, every, count):
    """Reverse ``n`` steps from ``state``, keeping one checkpoint every ``every`` steps."""
    starts = list(range(0, n, every))
    checkpoints = []
    for start in starts:  # the forward sweep (the last segment's end is unused)
        checkpoints.append(state)
        count.hold(1)
        if start + every < n:
            for i in range(start, start + every):
                state = advance(i, state)
            count.forward += every
    for start in reversed(starts):
        s = checkpoints.pop()  # the segment again, keeping its pullbacks
        held = []
        for i in range(start, min(start + every, n)):
            s, pullback = tape(i, s)
            held.append(pullback)
        count.forward += len(held)
        count.hold(len(held) - 1)  # (its checkpoint is dropped)
        count.backward += len(held)
        count.held -= len(held)
        for i in reversed(range(start, start + len(held))):
            g = back(i, held.pop(), g)
    return g


def repetitions(n, snapshots):
    """The least ``r`` with ``binom(snapshots + r, snapshots) >= n``: each step of a loop
    of ``n`` steps runs at most ``r`` times forward with that many snapshots."""
    r = 0
    while comb(snapshots + r, snapshots) < n:
        r += 1
    return r


def binomial(state, n, g, advance, tape, back, snapshots, count):
    """Reverse ``n`` steps from ``state`` with at most ``snapshots`` states kept besides it
    (Griewank and Walther, Algorithm 799: Revolve)."""
    count.hold(1)
    g = _reverse(state, 0, n, g, snapshots, advance, tape, back, count)
    count.held -= 1
    return g


def _reverse(state, first, n, g, free, advance, tape, back, count):
    """Steps ``first`` ... ``first + n - 1``, ``state`` (held by the caller) the state
    before the first, with ``free`` snapshots left."""
    while n > 1:
        if free == 0:  # no snapshot left: run again from ``state`` for each step
            for j in reversed(range(first, first + n)):
                s = state
                for i in range(first, j):
                    s = advance(i, s)
                count.forward += j - first + 1
                g = back(j, tape(j, s)[1], g)
                count.backward += 1
            return g
        r = repetitions(n, free)
        m = min(comb(free + r - 1, free), n - 1)  # left part m, right part n - m fit
        s = state
        for i in range(first, first + m):
            s = advance(i, s)
        count.forward += m
        count.hold(1)
        g = _reverse(s, first + m, n - m, g, free - 1, advance, tape, back, count)
        count.held -= 1
        n = m  # then the left part, from ``state`` again, with the snapshot freed
    if n == 1:
        g = back(first, tape(first, state)[1], g)
        count.forward += 1
        count.backward += 1
    return g
