"""Node metadata: the one place that reads and writes annotations on AST nodes."""

from __future__ import annotations

from typing import Any

import gast

# Every key any pass may attach, and what it holds.
KEYS = {
    "origin": "the user's statement (a gast node with absolute lineno/col_offset) it came from",
    "callee": "the Python object a Call's func resolves to (math.sin, a user function...)",
    "cast": "on a Call with a dtype argument: what the conversion does to a derivative "
            "(see passes/resolve.cast_of)",
    "record": "on a Call that builds a NamedTuple or plain dataclass (see records.mark): "
              "(class, field names, 'tuple' or 'object'); its atoms are in field order",
    "indexer": "on a Subscript of a global object that computes from its index (np.r_[x, y])",
    "phi": "True on a copy statement that merges values at the end of a branch or loop body",
    "augmented": "True on the `y = y op e` the anf pass wrote for `y op= e` (see passes/aliases)",
    "push": "True on a statement that saves values of a loop iteration for the backward pass",
    "stack": "True on the save pass's `stack = []` (a user's list can come first too)",
    "loop": "on a For: the LoopInfo (counter name, range name) the reverse pass recorded",
    "section": "on a statement of the generated function: 'forward' or 'backward'",
    "exit_check": "True on the `if <flag>: break` that ends a loop body after the exits pass",
    "replays": "on a backward loop: the forward loop it replays in reverse",
    "restores": "on a backward `y[i] = saved`: the array whose overwritten values it puts back",
    "mirror": "on a forward If/For/While: the backward statement that replays it",
    "zero": "True on an item of a dict adjoint's zero display (np.zeros_like(params['W']))",
    "adjoint": "on a backward statement: (op, adjoint name), op one of init, reset, add, scatter",
    "deferred": "True on a dict comprehension over a dict argument's view, which the up-front "
                "check lets through until the views pass spells it out (passes/dict_views)",
    "vector": "on a vector-mode function: 'unrolled' (floats, one variable per direction) or "
              "'stacked' (tangents with a leading batch axis), see passes/vector",
    "fenced": "True on a FunctionDef the fence pass found allowed as it is (pipeline.check's "
              "tree: the pipeline's fence stage need not look again unless a pass before it "
              "changed the tree); a list: only those statements (changed since) need a look",
    "parsed": "on the FunctionDef passes/parse made: what converting it saw (parse.Parsed: "
              "its names...), until the first stage that may change the tree (views)",
    "like_casts": "True on a FunctionDef where resolve gave a call the cast (\"like\", v) "
                  "of `.astype(v.dtype)`, which the activity pass decides (without it, "
                  "activity need not look for such calls)",
    "managers": "on a user node inside `with` blocks: their withitems, outermost first (the "
                "generated code enters them around what it computes for the node)",
}

_ATTR = "_ast_ad_anno"


def setanno(node: gast.AST, key: str, value: Any) -> None:
    assert key in KEYS, key
    annos = node.__dict__.setdefault(_ATTR, {})
    annos[key] = value


def setanno_all(nodes, key: str, value: Any) -> None:
    """setanno(node, key, value) for each of `nodes` (all the statements of a function)."""
    assert key in KEYS, key
    for node in nodes:
        node.__dict__.setdefault(_ATTR, {})[key] = value


def annotated(node: gast.AST, annos: dict) -> gast.AST:
    """A new node (one without annotations) given `annos` as its annotations, in one go;
    returns it."""
    assert _ATTR not in node.__dict__ and all(key in KEYS for key in annos), annos
    node.__dict__[_ATTR] = annos
    return node


_NONE: dict = {}  # (the annotations of a node without any: never written into)


def getanno(node: gast.AST, key: str, default: Any = None) -> Any:
    return node.__dict__.get(_ATTR, _NONE).get(key, default)


def getannos(nodes, key: str, default: Any = None) -> list:
    """getanno(node, key, default) of each of `nodes` (one call for a whole block)."""
    return [node.__dict__.get(_ATTR, _NONE).get(key, default) for node in nodes]


def hasanno(node: gast.AST, key: str) -> bool:
    return key in node.__dict__.get(_ATTR, _NONE)


def copyanno(src: gast.AST, dst: gast.AST) -> gast.AST:
    """Give `dst` all of `src`'s annotations (and its position) and return it."""
    if _ATTR in src.__dict__:
        dst.__dict__[_ATTR] = dict(src.__dict__[_ATTR])
    for attr in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
        if hasattr(src, attr) and not hasattr(dst, attr):
            setattr(dst, attr, getattr(src, attr))
    return dst


def managers_of(stmt: gast.AST) -> tuple:
    """The withitems whose context managers a generated statement runs in: those around
    the user's code it came from (see passes/managers.py)."""
    return getanno(getanno(stmt, "origin", stmt), "managers", ())


def any_managers(stmts) -> bool:
    """Whether managers_of(stmt) is not empty for any of `stmts` (the managers pass asks
    this of every statement first, and most functions have no `with` block)."""
    for stmt in stmts:
        origin = stmt.__dict__.get(_ATTR, _NONE).get("origin", stmt)
        if origin.__dict__.get(_ATTR, _NONE).get("managers", ()):
            return True
    return False


def same_managers(stmt: gast.AST, other: gast.AST) -> bool:
    """managers_of(stmt) == managers_of(other), each annotation looked up once (simplify
    asks this of each fold: two statements of one line of the user's code agree at once)."""
    origin = stmt.__dict__.get(_ATTR, _NONE).get("origin", stmt)
    other_origin = other.__dict__.get(_ATTR, _NONE).get("origin", other)
    return origin is other_origin or origin.__dict__.get(_ATTR, _NONE).get("managers", ()) \
        == other_origin.__dict__.get(_ATTR, _NONE).get("managers", ())
