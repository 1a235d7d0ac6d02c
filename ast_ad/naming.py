"""Deterministic names for everything the compiler invents.

User variables keep their names; a variable assigned again gets a numbered
version (`h`, `h_1`, `h_2`). Temporaries are `t1, t2, ...` in order of
creation. The adjoint of `x` is `bx` and its tangent is `dx` (Griewank's
b for "bar", d for "dot"). Every invented name avoids every name the user's
function mentions, so nothing is ever shadowed.
"""

from __future__ import annotations

import gast

from .syntax import walk_lean


def names_in(tree: gast.AST) -> set[str]:
    """Every identifier that appears in `tree` (names, arguments, attributes)."""
    found = set()
    add = found.add
    name, attribute, function = gast.Name, gast.Attribute, gast.FunctionDef
    for node in walk_lean(tree):
        cls = node.__class__
        if cls is name:
            add(node.id)
        elif cls is attribute:
            add(node.attr)
        elif cls is function:
            add(node.name)
    return found


class Namer:
    """Hands out fresh, collision-free names for one compiled function."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)
        self._versions: dict[str, int] = {}
        self._temps = 0
        self._adjoints: dict[str, str] = {}
        self._tangents: dict[str, str] = {}
        # Temporaries and derivatives: names the user never wrote, free to fold away.
        self.invented: set[str] = set()

    def reserve(self, name: str) -> str:
        self.taken.add(name)
        return name

    def fresh(self, base: str) -> str:
        """`base` itself if free, else `base_1`, `base_2`, ..."""
        if base not in self.taken:
            return self.reserve(base)
        return self.version(base)

    def version(self, var: str) -> str:
        """The next numbered version of a user variable: `x_1`, `x_2`, ..."""
        n = self._versions.get(var, 0)
        while True:
            n += 1
            name = f"{var}_{n}"
            if name not in self.taken:
                self._versions[var] = n
                if var in self.invented:
                    self.invented.add(name)
                return self.reserve(name)

    def temp(self, prefix: str = "t") -> str:
        while True:
            self._temps += 1
            name = f"{prefix}{self._temps}"
            if name not in self.taken:
                self.invented.add(name)
                return self.reserve(name)

    def adjoint(self, name: str) -> str:
        """The name of the adjoint (reverse-mode derivative) of variable `name`."""
        return self._derived(self._adjoints, "b", name)

    def tangent(self, name: str) -> str:
        """The name of the tangent (forward-mode derivative) of variable `name`."""
        return self._derived(self._tangents, "d", name)

    def _derived(self, table: dict, prefix: str, name: str) -> str:
        if name not in table:
            candidate = prefix + name
            while candidate in self.taken:
                candidate = prefix + candidate
            table[name] = self.reserve(candidate)
            self.invented.add(candidate)
        return table[name]
