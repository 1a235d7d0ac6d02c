"""Containers of arrays ("pytrees"): dicts, lists, tuples, NamedTuples and dataclasses.

A tree is a container of these kinds, nested freely, whose leaves are anything
else (floats, arrays, ints, strings, None). `grad` returns the gradient of a tree
argument as a tree of the same structure and types; these helpers walk trees:

    leaves, treedef = tree_flatten(params)       # leaves in a fixed order
    params = tree_unflatten(treedef, leaves)      # the same structure again
    params = tree_map(lambda p, g: p - lr * g, params, grads)

The order of leaves is JAX's: dict items by sorted key, other containers in
their own order (a NamedTuple's or dataclass's fields as declared); a dict
rebuilt by tree_unflatten or tree_map keeps the key order of the dict its
structure came from. `None` is a leaf here
(it is what `grad` gives a leaf it cannot differentiate: an int, a string).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable


def is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def is_dataclass_instance(value) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def is_container(value) -> bool:
    """Whether `value` is a tree node (not a leaf)."""
    return type(value) in (dict, list, tuple) or is_namedtuple(value) \
        or is_dataclass_instance(value)


def fields(cls) -> tuple:
    """The field names of a dataclass (all its fields, in order) or NamedTuple class."""
    if hasattr(cls, "_fields"):
        return tuple(cls._fields)
    return tuple(f.name for f in dataclasses.fields(cls))


def children(value) -> tuple[tuple, tuple]:
    """(keys, child values) of a container, in tree order."""
    if type(value) is dict:
        keys = _sorted_keys(value)
        return keys, tuple(value[k] for k in keys)
    if type(value) in (list, tuple) or is_namedtuple(value):
        if is_namedtuple(value):
            return tuple(value._fields), tuple(value)
        return tuple(range(len(value))), tuple(value)
    names = fields(type(value))
    return names, tuple(getattr(value, n) for n in names)


def _sorted_keys(d: dict) -> tuple:
    try:
        return tuple(sorted(d))
    except TypeError:  # keys of mixed types: their insertion order
        return tuple(d)


def rebuild(template, keys: tuple, values) -> Any:
    """A container like `template` (same type) holding `values` at `keys`."""
    cls = type(template)
    if cls is dict:
        return dict(zip(keys, values))
    if cls is list:
        return list(values)
    if cls is tuple:
        return tuple(values)
    if is_namedtuple(template):
        return cls(*values)
    return make_dataclass_like(template, dict(zip(keys, values)))


def make_dataclass_like(template, values: dict):
    """An instance of template's dataclass holding these field values (fields not given:
    the template's). Made without calling __init__ or __post_init__: a gradient is not
    a valid model (a check `assert self.rate > 0` must not run on it) and a field outside
    __init__ gets its own gradient, not a value recomputed from the others."""
    made = object.__new__(type(template))
    for f in dataclasses.fields(template):
        object.__setattr__(made, f.name, values[f.name] if f.name in values
                           else getattr(template, f.name))
    return made


@dataclasses.dataclass(frozen=True)
class TreeDef:
    """The structure of a tree: the container types and keys, without the leaves."""

    node: Any  # None for a leaf; else the container's class
    keys: tuple = ()
    children: tuple = ()
    template: Any = None  # a dataclass instance, for fields outside __init__
    order: tuple = ()  # a dict's keys in its own order (the tree order is sorted)

    @property
    def num_leaves(self) -> int:
        return 1 if self.node is None else sum(c.num_leaves for c in self.children)

    def __repr__(self) -> str:
        if self.node is None:
            return "*"
        inner = ", ".join(f"{k!r}: {c!r}" if self.node is dict else repr(c)
                          for k, c in zip(self.keys, self.children))
        return f"{self.node.__name__}({inner})"

    def __eq__(self, other) -> bool:
        return isinstance(other, TreeDef) and (self.node, self.keys, self.children) == (
            other.node, other.keys, other.children)

    def __hash__(self) -> int:
        return hash((self.node, self.keys, self.children))


_LEAF = TreeDef(None)


def tree_flatten(tree) -> tuple[list, TreeDef]:
    """The leaves of `tree` in tree order, and its structure."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves: list) -> TreeDef:
    if not is_container(tree):
        leaves.append(tree)
        return _LEAF
    keys, values = children(tree)
    return TreeDef(type(tree), keys, tuple(_flatten(v, leaves) for v in values),
                   tree if is_dataclass_instance(tree) else None,
                   tuple(tree) if type(tree) is dict else ())


def tree_unflatten(treedef: TreeDef, leaves) -> Any:
    """The tree of structure `treedef` holding `leaves` (in tree order)."""
    it = iter(leaves)
    result = _unflatten(treedef, it)
    if next(it, _END) is not _END:
        raise ValueError(f"too many leaves for {treedef!r}")
    return result


_END = object()


def _unflatten(treedef: TreeDef, it) -> Any:
    if treedef.node is None:
        leaf = next(it, _END)
        if leaf is _END:
            raise ValueError("too few leaves for the tree structure")
        return leaf
    values = [_unflatten(c, it) for c in treedef.children]
    node = treedef.node
    if node is dict:  # in the order of the dict it was made from
        by_key = dict(zip(treedef.keys, values))
        return {k: by_key[k] for k in treedef.order} if len(treedef.order) == len(by_key) \
            else by_key
    if node in (list, tuple):
        return node(values)
    if hasattr(node, "_fields"):
        return node(*values)
    return make_dataclass_like(treedef.template, dict(zip(treedef.keys, values)))


def tree_leaves(tree) -> list:
    """The leaves of `tree`, in tree order."""
    return tree_flatten(tree)[0]


def tree_structure(tree) -> TreeDef:
    return tree_flatten(tree)[1]


def tree_map(fn: Callable, tree, *rest) -> Any:
    """`fn` applied leaf by leaf: `tree_map(lambda p, g: p - lr * g, params, grads)`.

    Every tree in `rest` must have `tree`'s structure. Where a leaf of any of them is None
    (the gradient of an int, a string...: not differentiated), `fn` is not called and
    `tree`'s leaf is kept: the SGD step above leaves such leaves of `params` as they are."""
    leaves, treedef = tree_flatten(tree)
    others = []
    for other in rest:
        other_leaves, other_def = tree_flatten(other)
        if other_def != treedef:
            raise ValueError(f"tree_map: structures differ: {treedef!r} and {other_def!r}")
        others.append(other_leaves)
    return tree_unflatten(treedef, [
        leaf if leaf is None or any(m is None for m in more) else fn(leaf, *more)
        for leaf, *more in zip(leaves, *others)])


def paths(tree, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, leaf) pairs: `params["enc"][1]` is ("params['enc'][1]", leaf)."""
    if not is_container(tree):
        return [(prefix, tree)]
    keys, values = children(tree)
    dict_like = type(tree) is dict
    out = []
    for k, v in zip(keys, values):
        step = f"[{k!r}]" if dict_like or type(k) is int else f".{k}"
        out.extend(paths(v, prefix + step))
    return out
