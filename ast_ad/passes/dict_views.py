"""`params.values()`, `.keys()` and `.items()` of a dict argument, spelled out.

The code is specialised to a dict argument's keys (values.of_argument), so
`for w in params.values()` is `for w in (params['W1'], params['b1'], ...)`: a
tuple display the later passes know item by item, as if the user had written it.
A dict comprehension over such a display, `{k: f(v) for k, v in params.items()}`,
becomes the dict display `{'W1': f(params['W1']), ...}`. Only a parameter the
function never rebinds, whose keys are known, is rewritten; anything else keeps
its method call or comprehension (and is rejected later as before). Runs before
fence, which rejects what is left.
"""

from __future__ import annotations

import gast

from .. import anno
from ..context import Context
from ..syntax import clone, nodes_of, param_names, substitute, walk
from .static_keys import unroll_static_keys

_VIEWS = ("values", "keys", "items")


def spell_out_dict_views(func: gast.FunctionDef, ctx: Context) -> gast.FunctionDef:
    changed = _spell_out(func, ctx)
    # other comprehensions and loops over known keys (the statements looked into hold
    # every display and comprehension)
    visited = unroll_static_keys(func, ctx, None if changed else anno.getanno(func, "parsed"))
    # Either may have changed the tree (displays, property getters inlined...): the fence
    # looks again, at what unroll_static_keys looked into if that is all that changed.
    fenced = anno.getanno(func, "fenced") is True and not changed
    anno.setanno(func, "fenced", list(visited) if fenced else False)
    for stmt in visited:  # what could not be spelled out: fence rejects it now
        for node in walk(stmt):
            if isinstance(node, (gast.DictComp, gast.Dict)):
                anno.setanno(node, "deferred", False)
    return func


def _spell_out(func: gast.FunctionDef, ctx: Context) -> bool:
    """Whether it may have changed the tree."""
    known = ctx.options.values
    if not known:
        return False
    params = param_names(func)
    if not any(v is not None and v.container == "dict" and v.keys is not None for v in known):
        return False
    stored = {n.id for n in walk(func) if isinstance(n, gast.Name)
              and isinstance(n.ctx, (gast.Store, gast.Del))}
    keys = {p: v.keys for p, v in zip(params, known)
            if v is not None and v.container == "dict" and v.keys is not None
            and p not in stored}
    if not keys:
        return False

    class Rewrite(gast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            method = node.func
            if not (isinstance(method, gast.Attribute) and method.attr in _VIEWS
                    and isinstance(method.value, gast.Name) and method.value.id in keys
                    and not node.args and not node.keywords):
                return node
            owner = method.value.id

            def item(key):
                return gast.Subscript(
                    value=gast.Name(id=owner, ctx=gast.Load(), annotation=None,
                                    type_comment=None),
                    slice=gast.Constant(value=key, kind=None), ctx=gast.Load())

            if method.attr == "keys":
                elts = [gast.Constant(value=k, kind=None) for k in keys[owner]]
            elif method.attr == "values":
                elts = [item(k) for k in keys[owner]]
            else:
                elts = [gast.Tuple(elts=[gast.Constant(value=k, kind=None), item(k)],
                                   ctx=gast.Load()) for k in keys[owner]]
            display = gast.Tuple(elts=elts, ctx=gast.Load())
            return gast.copy_location(display, node)

        def visit_DictComp(self, node):
            self.generic_visit(node)
            return _unrolled(node) or node

    Rewrite().visit(func)
    gast.fix_missing_locations(func)
    return True


def defer_dict_comprehensions(func: gast.FunctionDef) -> None:
    """For the up-front check (pipeline.check), before the arguments' keys are known:
    a dict comprehension over `p.items()`, `p.keys()` or `p.values()` of a parameter `p`
    may be spelled out when the function is compiled; fence lets it through until then."""
    for node in nodes_of(func, (gast.DictComp, gast.Dict)):
        if isinstance(node, gast.DictComp) or None in node.keys:
            anno.setanno(node, "deferred", True)  # (static_keys spells it out, or rejects it)


def _unrolled(node: gast.DictComp):
    """`{k: e for k, v in (('a', x), ('b', y))}` as `{'a': e[k='a', v=x], ...}` (also
    `for k in ('a', 'b')`), or None: one `for`, no `if`, the key the loop's key itself."""
    if len(node.generators) != 1:
        return None
    loop = node.generators[0]
    if loop.ifs or loop.is_async or not isinstance(loop.iter, gast.Tuple):
        return None
    target = loop.target
    if isinstance(target, gast.Name):
        names = [target.id]
        rows = [[item] for item in loop.iter.elts]
    elif isinstance(target, gast.Tuple) and all(isinstance(t, gast.Name) for t in target.elts):
        names = [t.id for t in target.elts]
        rows = [item.elts if isinstance(item, gast.Tuple) else None for item in loop.iter.elts]
    else:
        return None
    if any(row is None or len(row) != len(names) or not isinstance(row[0], gast.Constant)
           for row in rows):
        return None
    if not (isinstance(node.key, gast.Name) and node.key.id == names[0]):
        return None
    nested = (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)
    if any(isinstance(n, nested) for n in walk(node.value)):
        return None  # (names there may be bound again)
    keys, values = [], []
    for row in rows:
        bound = dict(zip(names, row))
        keys.append(clone(row[0]))
        values.append(substitute(clone(node.value), bound))
    return gast.copy_location(gast.Dict(keys=keys, values=values), node)
