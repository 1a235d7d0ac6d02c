"""`**kwargs` read as a dict in a helper inlined where it is called (part of anf).

At each call the helper's extra keywords are known by name (anf.pass_on gives each a
variable of its own), so the reads of the dict are spelled out for that call:
`kwargs["scale"]` and `kwargs.get("scale", 1.0)` are the variable of `scale=` (or the
default when the call has no `scale=`), `"scale" in kwargs` is True or False,
`len(kwargs)` a number, and `kwargs.keys()`, `.values()`, `.items()` tuple displays.
What is left (the dict changed, passed on other than whole, indexed by a computed key)
is rejected by anf as before.
"""

from __future__ import annotations

import gast

from ..errors import UnsupportedSyntaxError
from ..syntax import const, name


def read_keywords(body: gast.FunctionDef, kwarg: str, keywords: list, ctx,
                  shown: str) -> None:
    """Spell out the reads of `kwarg` in `body` for a call whose extra keywords are
    `keywords`, (keyword, variable) pairs in the call's order (`shown`: the name
    the user wrote, for messages)."""
    if any(isinstance(n, gast.Name) and n.id == kwarg and not isinstance(n.ctx, gast.Load)
           for stmt in body.body for n in gast.walk(stmt)):
        return  # rebound or deleted: left for anf to reject
    known = dict(keywords)

    def is_dict(node) -> bool:
        return isinstance(node, gast.Name) and node.id == kwarg \
            and isinstance(node.ctx, gast.Load)

    def key_of(node, where) -> str:
        if not (isinstance(node, gast.Constant) and isinstance(node.value, str)):
            raise ctx.error(UnsupportedSyntaxError, where,
                            f"unsupported: a key of **{shown} that is not a string constant",
                            f"write the key as a string, {shown}[\"name\"]")
        return node.value

    class Spell(gast.NodeTransformer):
        def visit_Subscript(self, node):
            self.generic_visit(node)
            if not is_dict(node.value) or not isinstance(node.ctx, gast.Load):
                return node
            key = key_of(node.slice, node)
            if key not in known:
                raise ctx.error(UnsupportedSyntaxError, node,
                                f"{shown}[{key!r}]: this call passes no keyword {key}=, so "
                                "the read raises KeyError",
                                f"pass {key}= in the call, or read it with "
                                f"{shown}.get({key!r}, default)")
            return gast.copy_location(name(known[key]), node)

        def visit_Call(self, node):
            self.generic_visit(node)
            func = node.func
            if isinstance(func, gast.Name) and func.id == "len" and len(node.args) == 1 \
                    and is_dict(node.args[0]) and not node.keywords:
                return gast.copy_location(const(len(known)), node)
            if not (isinstance(func, gast.Attribute) and is_dict(func.value)) or node.keywords:
                return node
            if func.attr == "get" and len(node.args) in (1, 2):
                key = key_of(node.args[0], node)
                if key in known:
                    return gast.copy_location(name(known[key]), node)
                default = node.args[1] if len(node.args) == 2 else const(None)
                return gast.copy_location(default, node)
            if func.attr in ("keys", "values", "items") and not node.args:
                elts = [const(k) if func.attr == "keys" else name(v) if func.attr == "values"
                        else gast.Tuple(elts=[const(k), name(v)], ctx=gast.Load())
                        for k, v in keywords]
                return gast.copy_location(gast.Tuple(elts=elts, ctx=gast.Load()), node)
            return node

        def visit_Dict(self, node):
            """`{"scale": 1.0, **kwargs}`: the call's keywords one by one (a key given
            again keeps its first place and takes the last value, as in Python)."""
            self.generic_visit(node)
            entries: dict = {}
            for k, v in zip(node.keys, node.values):
                if k is None and is_dict(v):
                    entries.update((key, name(var)) for key, var in keywords)
                elif isinstance(k, gast.Constant):
                    entries[k.value] = v
                else:
                    return node  # (fence rejects it)
            return gast.copy_location(gast.Dict(keys=[const(k) for k in entries],
                                                values=list(entries.values())), node)

        def visit_If(self, node):
            node.test = self.visit(node.test)
            if not isinstance(node.test, gast.Constant):
                node.body = self.statements(node.body)
                node.orelse = self.statements(node.orelse)
                return node
            # `if "scale" in kwargs:` is known for this call: only its branch is kept
            # (the other may read a keyword this call does not pass)
            return self.statements(node.body if node.test.value else node.orelse) \
                or [gast.copy_location(gast.Pass(), node)]

        def visit_IfExp(self, node):
            node.test = self.visit(node.test)
            if isinstance(node.test, gast.Constant):
                return self.visit(node.body if node.test.value else node.orelse)
            return self.generic_visit(node)

        def statements(self, stmts: list) -> list:
            out = []
            for stmt in stmts:
                done = self.visit(stmt)
                out += done if isinstance(done, list) else [done]
            return out

        def visit_Compare(self, node):
            self.generic_visit(node)
            if len(node.ops) == 1 and isinstance(node.ops[0], (gast.In, gast.NotIn)) \
                    and is_dict(node.comparators[0]):
                found = key_of(node.left, node) in known
                return gast.copy_location(
                    const(found if isinstance(node.ops[0], gast.In) else not found), node)
            return node

    body.body = Spell().statements(body.body)
    gast.fix_missing_locations(body)
