"""Binomial checkpointing of a loop (Griewank and Walther's revolve): the scheduler that
generated code calls once per checkpointed loop, to run the loop forward keeping a few
snapshots of its state, and to run its adjoint from them.

A checkpointed loop is two functions of one iteration, generated from the loop body:

    step(i, *state) -> state                          the iteration's forward statements
    step_reverse(i, *state, *adjoints) -> adjoints    the iteration again, then its adjoint

`forward` runs the loop and returns its final state and a `Tape` of snapshots; `backward`
reverses every iteration, last first: from the nearest snapshot it advances (recomputes)
to the iteration, and calls `step_reverse` there. With s snapshots, an iteration is
recomputed at most r times where r is the least with C(s + r, s) >= n (for n = 10**6:
r = 2 with s = 1414, r = 5 with s = 35); with s >= n, never.
"""

from __future__ import annotations

from math import comb


def snapshots_for(n: int, snapshots: int | None) -> int:
    """How many states to keep for n iterations: the given number, or by default the
    fewest that recompute no iteration more than twice (about sqrt(2n))."""
    if snapshots is not None:
        return max(1, snapshots)
    s = 1
    while comb(s + 2, 2) < n:
        s *= 2
    low, high = s // 2, s  # the least s with comb(s + 2, 2) >= n, by bisection
    while low + 1 < high:
        mid = (low + high) // 2
        low, high = (mid, high) if comb(mid + 2, 2) < n else (low, mid)
    return max(1, high)


def split(length: int, free: int) -> int:
    """Where to put the next snapshot, in iterations after the current one, to reverse
    `length` iterations with `free` snapshots (the current one included): the right part
    reversed with one snapshot fewer within r recomputations, the left part with the same
    snapshots within r - 1 (C(s + r, s) = C(s - 1 + r, s - 1) + C(s + r - 1, s))."""
    r = 1
    while comb(free + r, free) < length:
        r += 1
    low = max(1, length - comb(free - 1 + r, free - 1))
    high = min(length - 1, comb(free + r - 1, free))
    return max(low, high)


class Tape:
    """A forward run of a checkpointed loop: the snapshots (iteration, state) the
    backward run starts from, and what it needs to recompute the others."""

    __slots__ = ("step", "steps", "capacity", "snapshots")

    def __init__(self, step, steps, capacity: int, snapshots: list):
        self.step = step
        self.steps = steps
        self.capacity = capacity
        self.snapshots = snapshots


def forward(step, steps, state: tuple, snapshots: int | None) -> tuple:
    """Run `state = step(i, *state)` for i in `steps`; return the final state's items and
    the Tape, keeping the snapshots the backward run would otherwise take first."""
    n = len(steps)
    capacity = snapshots_for(n, snapshots)
    stack = [(0, state)]
    lo = 0
    while n - lo > 1 and capacity - len(stack) + 1 > 1:
        at = lo + split(n - lo, capacity - len(stack) + 1)
        for k in range(lo, at):
            state = step(steps[k], *state)
        stack.append((at, state))
        lo = at
    for k in range(lo, n):
        state = step(steps[k], *state)
    return (*state, Tape(step, steps, capacity, stack))


def backward(tape: Tape, step_reverse, adjoints: tuple) -> tuple:
    """Run `adjoints = step_reverse(i, *state_i, *adjoints)` for every iteration i of the
    tape's loop, last first, state_i recomputed from the nearest snapshot; return the
    adjoints. The tape is used up."""
    step, steps, capacity, stack = tape.step, tape.steps, tape.capacity, tape.snapshots
    tape.snapshots = []
    hi = len(steps)
    while stack:
        lo, state = stack[-1]
        length = hi - lo
        if length <= 1:
            if length == 1:
                adjoints = step_reverse(steps[lo], *state, *adjoints)
            stack.pop()
            hi = lo
            continue
        free = capacity - len(stack) + 1
        if free <= 1:  # no snapshot left: recompute up to the last iteration, reverse it
            for k in range(lo, hi - 1):
                state = step(steps[k], *state)
            hi -= 1
            adjoints = step_reverse(steps[hi], *state, *adjoints)
            continue
        at = lo + split(length, free)
        for k in range(lo, at):
            state = step(steps[k], *state)
        stack.append((at, state))
    return adjoints
