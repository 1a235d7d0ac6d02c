"""Reject, up front, every construct ast-ad does not differentiate (an allow-list)."""

from __future__ import annotations

import gast

from .. import anno
from ..context import Context
from ..errors import UnsupportedSyntaxError
from ..syntax import LEAF_CLASSES, gate_agrees, walk_lean

# Statements and expressions that may appear in a differentiated function.
ALLOWED_STATEMENTS = (
    gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Return, gast.Expr, gast.Pass,
    gast.If, gast.For, gast.While, gast.Break, gast.Continue, gast.Assert, gast.Raise,
    gast.With,
)
ALLOWED_EXPRESSIONS = (
    gast.Name, gast.Constant, gast.BinOp, gast.UnaryOp, gast.BoolOp, gast.Compare,
    gast.Call, gast.Attribute, gast.Subscript, gast.Slice, gast.Tuple, gast.List,
    gast.IfExp, gast.JoinedStr, gast.FormattedValue, gast.keyword, gast.Dict,
    gast.ListComp, gast.GeneratorExp, gast.comprehension,
)
# Pieces of the above that are not themselves statements or expressions.
ALLOWED_OTHER = (
    gast.Load, gast.Store, gast.operator, gast.unaryop, gast.boolop, gast.cmpop,
    gast.expr_context, gast.withitem,
)

# What to call a rejected construct, and what to write instead.
REJECTED = {
    gast.Try: ("a try statement", "move the error handling out of the differentiated function"),
    gast.TryStar: ("a try statement", "move the error handling out of the differentiated function"),
    gast.AsyncWith: ("an async with statement", "differentiate a synchronous function"),
    gast.AsyncFor: ("an async for loop", "differentiate a synchronous function"),
    gast.AsyncFunctionDef: ("an async function", "differentiate a synchronous function"),
    gast.Await: ("an await expression", "differentiate a synchronous function"),
    gast.Yield: ("a yield expression", "return a list or an array instead of yielding values"),
    gast.YieldFrom: ("a yield from expression",
                     "return a list or an array instead of yielding values"),
    gast.Global: ("a global statement",
                  "pass the value in as an argument and return the new value"),
    gast.Nonlocal: ("a nonlocal statement",
                    "pass the value in as an argument and return the new value"),
    gast.Delete: ("a del statement", "leave the variable unused instead of deleting it"),
    gast.ClassDef: ("a class definition", "define the class outside the differentiated function"),
    gast.FunctionDef: ("a decorated nested function", "remove the decorator"),
    gast.Lambda: ("a lambda expression here", "assign the lambda to a name and call it, "
                  "or use def"),
    gast.Import: ("an import statement", "import at module level"),
    gast.ImportFrom: ("an import statement", "import at module level"),
    gast.SetComp: ("a set comprehension", "write a for loop"),
    gast.DictComp: ("a dict comprehension", "write a for loop"),
    gast.NamedExpr: ("an assignment expression (:=)", "assign the value in its own statement"),
    gast.Starred: ("a starred expression", "pass or unpack the values one by one"),
    gast.Set: ("a set display", "use a tuple or an array"),
    gast.Match: ("a match statement", "use if/elif/else"),
}


def fence(func: gast.FunctionDef, ctx: Context, packs: bool = False,
          parsed=None) -> gast.FunctionDef:
    """Raise UnsupportedSyntaxError at the first construct outside the allow-list.

    `packs`: the function is a helper inlined where it is called (pipeline.inlinable_helper),
    which may take *args and **kwargs, and pass them on whole (`g(*args, **kwargs)`).
    A tree the fence found allowed already (pipeline.check's), unchanged since, is not
    looked at again. `parsed`: what parse saw of `func` (parse.Parsed), if nothing changed
    it since: a function made only of what every statement may hold is not walked."""
    fenced = anno.getanno(func, "fenced")
    if fenced is True:
        return func
    if isinstance(fenced, list):  # the statements a pass changed since it was found allowed
        for stmt in fenced:
            _check(stmt, ctx)
        return func
    if not packs:
        _check_signature(func, ctx)
    if parsed is not None and not packs and _allowed_as_parsed(parsed):
        gate_agrees(lambda: [_check(stmt, ctx) for stmt in func.body], func, "fence")
        return func
    packed = {a.id for a in (func.args.vararg, func.args.kwarg) if a is not None} \
        if packs else set()
    for stmt in func.body:
        _check(stmt, ctx, packed)
    return func


def _allowed_as_parsed(parsed) -> bool:
    """Whether _check lets every statement of a function through, told from what parse saw
    of it: no nested function, nodes only of classes allowed whatever their fields hold
    (_SIMPLE) but constants, calls and assignments, and those of the forms _check_details
    allows (no complex constant, no `**` in a call, each assignment's target a name)."""
    return parsed.functions == 1 and parsed.plain and parsed.classes <= _PARSED_ALLOWED


def _check_signature(func: gast.FunctionDef, ctx: Context) -> None:
    args = func.args
    if args.vararg is not None:
        raise ctx.error(UnsupportedSyntaxError, args.vararg,
                        f"unsupported: *{args.vararg.id} parameters",
                        "give the function one parameter per argument")
    if args.kwarg is not None:
        raise ctx.error(UnsupportedSyntaxError, args.kwarg,
                        f"unsupported: **{args.kwarg.id} parameters",
                        "give the function one parameter per argument")


def _check(node: gast.AST, ctx: Context, packed: set = frozenset()) -> None:
    # Nested functions (def, or a lambda assigned to a name) are inlined where they are called.
    # (contexts and operators left out: every one is allowed, see _LEAVES_ALLOWED)
    nodes = walk_lean(node)
    # (the common case, nodes allowed as they are, decided by their class alone)
    simple = _SIMPLE
    rest = [n for n in nodes if n.__class__ not in simple]
    if not rest:
        return
    if not packed and not any(n.__class__ in _IN_CONTEXT for n in rest):
        # (nothing the checks below let through by where it stands: each node is
        # allowed by its class and its own fields, or rejected)
        allowed = ALLOWED_STATEMENTS + ALLOWED_EXPRESSIONS + ALLOWED_OTHER
        for child in rest:
            if not isinstance(child, allowed):
                _reject(child, ctx)
            _check_details(child, ctx)
        return
    allowed_functions = {
        id(n) for n in nodes
        if isinstance(n, gast.FunctionDef) and not n.decorator_list
    } | {
        id(n.value) for n in nodes
        if isinstance(n, gast.Assign) and isinstance(n.value, gast.Lambda)
        and len(n.targets) == 1 and isinstance(n.targets[0], gast.Name)
    }
    # `g(*args, **kwargs)` in a helper taking them: the inliner passes the values on.
    passed_on = {id(n) for n in nodes if isinstance(n, gast.Call)
                 for a in n.args + [k.value for k in n.keywords if k.arg is None]
                 if isinstance(a, gast.Starred) and isinstance(a.value, gast.Name)
                 and a.value.id in packed or isinstance(a, gast.Name) and a.id in packed} \
        if packed else set()
    passed = {id(a) for n in nodes if id(n) in passed_on for a in n.args}
    for child in nodes:
        if child.__class__ in simple:
            continue
        if isinstance(child, gast.Starred) and id(child) in passed:
            continue
        if isinstance(child, gast.Call) and id(child) in passed_on:
            if any(k.arg is None and not (isinstance(k.value, gast.Name)
                                          and k.value.id in packed) for k in child.keywords):
                raise ctx.error(UnsupportedSyntaxError, child,
                                "unsupported syntax: **keyword unpacking in a call",
                                "pass the keyword arguments one by one")
            continue
        if id(child) in allowed_functions:
            _check_signature(child, ctx)
            continue
        if isinstance(child, (gast.arguments,)):
            continue
        if isinstance(child, gast.Dict) and any(
                k is None and isinstance(v, gast.Name) and v.id in packed
                for k, v in zip(child.keys, child.values)):
            continue  # `{"s": 1.0, **kwargs}` in a helper: spelled out per call (anf)
        if isinstance(child, (gast.DictComp, gast.Dict)) and anno.getanno(child, "deferred"):
            continue  # spelled out once the arguments' keys are known (views)
        if isinstance(child, ALLOWED_STATEMENTS + ALLOWED_EXPRESSIONS + ALLOWED_OTHER):
            _check_details(child, ctx)
            continue
        _reject(child, ctx)


def _reject(node: gast.AST, ctx: Context):
    what, hint = REJECTED.get(type(node), (f"a {type(node).__name__} node", None))
    raise ctx.error(UnsupportedSyntaxError, node, f"unsupported syntax: {what}", hint)


def _simple_classes() -> frozenset:
    """Node classes allowed whatever their fields hold: allowed, and none of the classes
    _check looks at more closely (_check_details's, and those it lets through only in
    some places)."""
    closer = {gast.Constant, gast.For, gast.While, gast.Call, gast.Dict, gast.Assign,
              gast.AugAssign, gast.AnnAssign, gast.With, gast.comprehension, gast.Starred,
              gast.DictComp, gast.FunctionDef, gast.Lambda, gast.arguments}
    allowed = ALLOWED_STATEMENTS + ALLOWED_EXPRESSIONS + ALLOWED_OTHER
    classes = [getattr(gast, n) for n in dir(gast)]
    return frozenset(c for c in classes if isinstance(c, type) and issubclass(c, allowed)
                     and c not in closer)


def _check_details(node: gast.AST, ctx: Context) -> None:
    """Allowed node types whose particular forms we still reject."""
    if isinstance(node, gast.Constant) and isinstance(node.value, complex):
        raise ctx.error(UnsupportedSyntaxError, node, "unsupported: complex numbers",
                        "ast-ad differentiates real-valued code only")
    elif isinstance(node, (gast.For, gast.While)) and node.orelse:
        kind = "for" if isinstance(node, gast.For) else "while"
        raise ctx.error(UnsupportedSyntaxError, node.orelse[0],
                        f"unsupported syntax: an else clause on a {kind} loop",
                        "use a flag variable set before `break`")
    elif isinstance(node, gast.Call):
        for kw in node.keywords:
            if kw.arg is None:
                raise ctx.error(UnsupportedSyntaxError, kw.value,
                                "unsupported syntax: **keyword unpacking in a call",
                                "pass the keyword arguments one by one")
    elif isinstance(node, gast.Dict):
        for key in node.keys:
            if key is None:
                raise ctx.error(UnsupportedSyntaxError, node,
                                "unsupported syntax: ** unpacking in a dict display",
                                "write the keys one by one")
            if not (isinstance(key, gast.Constant) and type(key.value) in (str, int)):
                raise ctx.error(UnsupportedSyntaxError, key,
                                "unsupported: a dict display with a key known only when "
                                "running", "use constant keys (strings or ints), or a list")
        keys = [k.value for k in node.keys]
        if len(set(keys)) != len(keys):
            raise ctx.error(UnsupportedSyntaxError, node,
                            "unsupported: a dict display giving a key twice",
                            "give each key once")
    elif isinstance(node, gast.Assign):
        for target in node.targets:
            _check_target(target, ctx)
    elif isinstance(node, (gast.AugAssign, gast.AnnAssign)):
        if isinstance(node, gast.AnnAssign) and node.value is None:
            raise ctx.error(UnsupportedSyntaxError, node,
                            "unsupported syntax: an annotation without a value",
                            "assign a value, or remove the line")
        _check_target(node.target, ctx)
    elif isinstance(node, gast.For):
        _check_target(node.target, ctx)
    elif isinstance(node, gast.With):
        for item in node.items:
            if item.optional_vars is not None:
                raise ctx.error(UnsupportedSyntaxError, node,
                                "unsupported syntax: a with statement binding a name (as ...)",
                                "differentiate only the body, with no `as`: ast-ad enters "
                                "np.errstate(...) and warnings.catch_warnings() blocks")
            if not isinstance(item.context_expr, gast.Call):
                raise ctx.error(UnsupportedSyntaxError, item.context_expr,
                                "unsupported syntax: a with statement on a computed value",
                                "write the manager's call in the with statement, e.g. "
                                "`with np.errstate(divide=\"ignore\"):`")
    elif isinstance(node, gast.comprehension):
        if node.is_async:
            raise ctx.error(UnsupportedSyntaxError, node.target,
                            "unsupported syntax: an async comprehension",
                            "differentiate a synchronous function")
        _check_target(node.target, ctx)


def _check_target(target: gast.AST, ctx: Context) -> None:
    if isinstance(target, gast.Subscript) and not isinstance(target.value, gast.Name):
        raise ctx.error(UnsupportedSyntaxError, target,
                        "unsupported: writing into part of an indexed value",
                        "index once, e.g. y[i, j] = v instead of y[i][j] = v")
    if isinstance(target, (gast.Name, gast.Subscript)):
        return
    if isinstance(target, (gast.Tuple, gast.List)):
        for elt in target.elts:
            _check_target(elt, ctx)
        return
    if isinstance(target, gast.Attribute):
        raise ctx.error(UnsupportedSyntaxError, target,
                        "unsupported: assigning to an attribute",
                        "assign to a local variable and return it")
    raise ctx.error(UnsupportedSyntaxError, target,
                    f"unsupported assignment target: {type(target).__name__}")


_SIMPLE = _simple_classes()
# Every expression context and operator (Load, Store, Add, Eq...) is allowed as it is.
_LEAVES_ALLOWED = all(c in _SIMPLE for c in vars(gast).values()
                      if isinstance(c, type) and issubclass(c, LEAF_CLASSES))
assert _LEAVES_ALLOWED, "fence must look at contexts and operators (walk, not walk_lean)"
# Classes _check lets through in some places only (a nested function, a lambda assigned
# to a name, arguments passed on, a deferred dict comprehension).
# (the classes of what parse saw that _allowed_as_parsed allows: the function's own def and
# parameters, which _check does not look at, among them)
_PARSED_ALLOWED = frozenset({cls.__name__ for cls in _SIMPLE} | {
    "Constant", "Call", "Assign", "Module", "FunctionDef", "arguments", "arg"})
_IN_CONTEXT = frozenset({gast.FunctionDef, gast.Lambda, gast.Starred, gast.arguments,
                         gast.Dict, gast.DictComp})
