"""The direct printer of passes/emit.py prints exactly what astor prints.

emit prints the statements generated code is made of itself (`_direct`) and leaves any
other statement to astor. Here every statement printed for the golden cases and the
samples, a list of precedence and spelling corner cases, and thousands of random
statements are printed both ways: the direct text must equal astor's, or the direct
printer must decline (None) so that astor prints it.
"""

import copy
import importlib
import io
import math
import random
import runpy
import sys
from contextlib import redirect_stdout
from pathlib import Path

import gast
import pytest

import ast_ad
from ast_ad.passes import emit

ROOT = Path(__file__).resolve().parent.parent
HEADERS = (gast.If, gast.For, gast.While, gast.With, gast.FunctionDef)


def astor_line(stmt) -> str:
    """What emit printed with astor alone: the statement, or a compound's header line."""
    if isinstance(stmt, HEADERS):
        shell = copy.copy(stmt)
        shell.body = [gast.Pass()]
        if isinstance(stmt, gast.If):
            shell.orelse = []
        return emit._print(shell).splitlines()[0]
    return emit._print(copy.deepcopy(stmt)).rstrip("\n")


def check(stmt, seen: dict) -> None:
    text = emit._direct(stmt)
    expected = astor_line(stmt)
    if text is None:
        seen["astor"].append(expected)
    else:
        assert text == expected, gast.dump(stmt)
        seen["direct"] += 1


@pytest.fixture
def checked(monkeypatch):
    """While active, every statement emit prints is also printed by astor and compared."""
    seen = {"direct": 0, "astor": []}
    direct = emit._direct

    def both(stmt):
        text = direct(stmt)
        expected = astor_line(stmt)
        assert text is None or text == expected, (text, expected)
        if text is None:
            seen["astor"].append(expected)
        else:
            seen["direct"] += 1
        return text

    monkeypatch.setattr(emit, "_direct", both)
    ast_ad.clear_caches()  # so that every function below is compiled (and printed) again
    yield seen
    ast_ad.clear_caches()


def test_golden_cases_print_as_astor_prints(checked):
    sys.path.insert(0, str(ROOT / "samples"))
    try:
        from test_golden import CASES, MODE_CASES, _params_args

        for module, function, argnums, args in CASES:
            fn = getattr(importlib.import_module(module), function)
            ast_ad.source(ast_ad.value_and_grad(fn, argnums=argnums), *args)
        for module, function, mode, args in MODE_CASES:
            fn = getattr(importlib.import_module(module), function)
            ast_ad.generated_source(fn, *args, mode=mode)
        params = importlib.import_module("golden_cases").mlp_params
        for mode in ("jvp", "vjp"):
            ast_ad.generated_source(params, *_params_args(), mode=mode, argnums=(0,))
    finally:
        sys.path.remove(str(ROOT / "samples"))
    # Generated code is made of what the direct printer knows: astor prints none of it.
    assert checked["direct"] > 700 and checked["astor"] == []


SAMPLES = ["seeds", "gradient_descent", "forward_trace", "four_methods", "laplacian",
           "levenberg_marquardt", "linear_network", "mlp_params", "newton"]


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_print_as_astor_prints(name, checked):
    with redirect_stdout(io.StringIO()):
        runpy.run_path(str(ROOT / "samples" / f"{name}.py"), run_name="__main__")
    assert checked["direct"] > 0


CORNERS = """\
y = -x ** 2
y = (-x) ** 2
y = a ** b ** c
y = (a ** b) ** c
y = a ** -b
y = -(-x)
y = -(a + b)
y = ~a ** 2
y = a - (b - c)
y = (a - b) - c
y = a / (b * c) // d % e @ f
y = a * (b @ c)
y = a << b >> c | d ^ e & f
y = (a | b) & c
y = a < b <= c != d
y = (a < b) < c
y = a is not None and b not in c or not d
y = not (a and b)
y = (not a) == b
y = (a or b) and c
y = a if b else c if d else e
y = (a if b else c) if d else e
y = (a if b else c) + 1
y = f(a if b else c)
y = f(a, b if c else d)
y = f(*args, k=-1, **kw)
y = f(x)(y).z[0](*a)
y = (a + b).T
y = (1).real
y = x[1:2, ::3]
y = x[:, None]
y = x[..., 0]
y = x[::None]
y = x[a:b:c, d]
y = x[(a, b)]
y = x[()]
y = x[-1]
y = x[i + 1:-1]
y = (a, b)[0]
y = [a, (b, c), [d]]
y = {a: b, **c}
y = {(a, b): c}
y = {a, b}
y = [*a, *b]
y = 'it\\'s' + "q" * 3 + b'x'
y = f('a very long string that is longer than twenty characters')
y = True, False, None, ...
y = 1e-300, 1e300, 0.1, 10 ** 20, 123456789012345678901234567890
y = (y := 3)
x = y = z
a, = b
a, *b = c
(a, b), c = d
x[i], x.t = a, b
x += 1
x @= -y
x **= 2
return
return ()
return a,
return a, b
return (a, b) if c else d
f(x)
np.add.at(x, (i, j), y)
assert x, 'message'
if a < b:
    pass
while not done:
    pass
for i in reversed(range(n)[:k]):
    pass
for a, b in (c, d):
    pass
for (a, b) in zip(c, d):
    pass
with np.errstate(divide='ignore', invalid='ignore'), warnings.catch_warnings():
    pass
with open(a) as f, b as (c, d), (e if f else g) as h:
    pass
def f():
    pass
def f_grad(x, y, bz=1.0, s='s', t=(a, b), u=-1, v=a if b else c, w=None):
    pass
def f(a, *b, c, d=1, **e):
    pass
def f(a, /, b):
    pass
def f(a: int) -> int:
    pass
@decorated
def f(a):
    pass
async def f(a):
    pass
y = lambda a, b=1: a + b
y = [i for i in x]
y = f'{x!r:>{n}}'
'docstring'
'it starts the line' + y
y = 'two\\nlines'
del x
x: int = 1
"""


def test_corner_cases_print_as_astor_prints():
    seen = {"direct": 0, "astor": []}
    for stmt in gast.parse(CORNERS).body:
        check(stmt, seen)
    for value in [-1.0, -2, -0.0, math.inf, -math.inf, math.nan, True, "u", 1j, -1j]:
        constant = gast.Constant(value=value, kind=None)
        for node in [constant, gast.BinOp(left=constant, op=gast.Pow(), right=constant),
                     gast.Attribute(value=constant, attr="real", ctx=gast.Load()),
                     gast.UnaryOp(op=gast.USub(), operand=constant)]:
            check(gast.Assign(targets=[gast.Name("y", gast.Store(), None, None)],
                              value=copy.deepcopy(node), type_comment=None), seen)
    check(gast.Expr(value=gast.BinOp(left=gast.Name("y", gast.Load(), None, None), op=gast.Add(),
                                     right=gast.Constant(value="s", kind="u"))), seen)
    # What astor prints: a def with more than plain parameters, an async def, a lambda,
    # comprehension, f-string, a string starting a line or spanning lines, del,
    # annotated assignment, complex numbers.
    assert len(seen["astor"]) == 5 + 8 + 4 * 2, seen["astor"]
    assert seen["direct"] > 100


# Random statements: every node kind the direct printer knows, nested to depth 4, with
# the operators and constants that make precedence and spelling choices.
BINARY = [gast.Add, gast.Sub, gast.Mult, gast.Div, gast.FloorDiv, gast.Mod, gast.Pow,
          gast.MatMult, gast.LShift, gast.RShift, gast.BitOr, gast.BitXor, gast.BitAnd]
UNARY = [gast.USub, gast.UAdd, gast.Not, gast.Invert]
COMPARE = [gast.Eq, gast.NotEq, gast.Lt, gast.LtE, gast.Gt, gast.GtE, gast.Is, gast.IsNot,
           gast.In, gast.NotIn]
CONSTANTS = [0, 1, 2, -1, -3, 0.5, -2.5, -0.0, 1e-300, 1e300, math.inf, -math.inf, math.nan,
             10 ** 20, True, False, None, Ellipsis, "s", "it's", b"b", "two\nlines", (0, 1),
             (-1.5,), ()]


def name(rng, ctx=None):
    return gast.Name(rng.choice(["a", "b", "np", "x1"]), ctx or gast.Load(), None, None)


def expression(rng, depth):
    if depth <= 0 or rng.random() < 0.2:
        if rng.random() < 0.5:
            return name(rng)
        return gast.Constant(value=rng.choice(CONSTANTS), kind=None)
    d = depth - 1
    kind = rng.randrange(17)
    if kind == 0:
        return gast.BinOp(left=expression(rng, d), op=rng.choice(BINARY)(),
                          right=expression(rng, d))
    if kind == 1:
        return gast.UnaryOp(op=rng.choice(UNARY)(), operand=expression(rng, d))
    if kind == 2:
        return gast.BoolOp(op=rng.choice([gast.And, gast.Or])(),
                           values=[expression(rng, d) for _ in range(rng.randint(2, 3))])
    if kind == 3:
        n = rng.randint(1, 3)
        return gast.Compare(left=expression(rng, d), ops=[rng.choice(COMPARE)() for _ in range(n)],
                            comparators=[expression(rng, d) for _ in range(n)])
    if kind == 4:
        return gast.IfExp(test=expression(rng, d), body=expression(rng, d),
                          orelse=expression(rng, d))
    if kind == 5:
        args = [expression(rng, d) for _ in range(rng.randint(0, 2))]
        if rng.random() < 0.2:
            args.append(gast.Starred(value=expression(rng, d), ctx=gast.Load()))
        keywords = [gast.keyword(arg=rng.choice(["k", "axis", None]), value=expression(rng, d))
                    for _ in range(rng.randint(0, 2))]
        func = name(rng) if rng.random() < 0.7 else expression(rng, d)
        return gast.Call(func=func, args=args, keywords=keywords)
    if kind == 6:
        return gast.Attribute(value=expression(rng, d), attr="T", ctx=gast.Load())
    if kind == 7:
        return gast.Subscript(value=expression(rng, d), slice=index(rng, d), ctx=gast.Load())
    if kind in (8, 9):
        return gast.Tuple(elts=[expression(rng, d) for _ in range(rng.randint(0, 3))],
                          ctx=gast.Load())
    if kind == 10:
        return gast.List(elts=[expression(rng, d) for _ in range(rng.randint(0, 3))],
                         ctx=gast.Load())
    if kind == 11:
        return gast.Set(elts=[expression(rng, d) for _ in range(rng.randint(0, 2))])
    if kind == 12:
        n = rng.randint(0, 2)
        return gast.Dict(keys=[expression(rng, d) if rng.random() < 0.8 else None
                               for _ in range(n)],
                         values=[expression(rng, d) for _ in range(n)])
    if kind == 13:
        return gast.NamedExpr(target=name(rng, gast.Store()), value=expression(rng, d))
    if kind == 14:
        return gast.Starred(value=expression(rng, d), ctx=gast.Load())
    return gast.BinOp(left=gast.Constant(value=rng.choice(CONSTANTS[:13]), kind=None),
                      op=rng.choice([gast.Pow, gast.Sub, gast.Mult])(), right=expression(rng, d))


def index(rng, depth):
    def part():
        if rng.random() < 0.5:
            return expression(rng, depth)
        pick = [None, None, expression(rng, depth), name(rng)]
        step = rng.choice(pick + [gast.Name("None", gast.Load(), None, None)])
        return gast.Slice(lower=rng.choice(pick), upper=rng.choice(pick), step=step)
    if rng.random() < 0.4:
        return gast.Tuple(elts=[part() for _ in range(rng.randint(1, 3))], ctx=gast.Load())
    return part()


def target(rng, depth):
    kind = rng.randrange(4)
    if kind == 0:
        return gast.Tuple(elts=[name(rng, gast.Store()) for _ in range(rng.randint(1, 3))],
                          ctx=gast.Store())
    if kind == 1:
        return gast.Subscript(value=name(rng), slice=index(rng, depth), ctx=gast.Store())
    if kind == 2:
        return gast.Attribute(value=expression(rng, depth), attr="t", ctx=gast.Store())
    return name(rng, gast.Store())


def statement(rng):
    kind = rng.randrange(11)
    value = expression(rng, 4)
    if kind <= 2:
        targets = [target(rng, 2) for _ in range(rng.choice([1, 1, 2]))]
        return gast.Assign(targets=targets, value=value, type_comment=None)
    if kind == 3:
        return gast.AugAssign(target=target(rng, 2), op=rng.choice(BINARY)(), value=value)
    if kind == 4:
        return gast.Return(value=value if rng.random() < 0.9 else None)
    if kind == 5:
        return gast.Expr(value=value)
    if kind == 6:
        return gast.Assert(test=value, msg=expression(rng, 1) if rng.random() < 0.5 else None)
    if kind == 7:
        return rng.choice([gast.If(test=value, body=[], orelse=[]),
                           gast.While(test=value, body=[], orelse=[])])
    if kind == 9:
        names = rng.sample(["a", "b", "x1", "y", "z"], rng.randint(0, 4))
        arguments = gast.arguments(
            args=[gast.Name(n, gast.Param(), None, None) for n in names], posonlyargs=[],
            vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
            defaults=[expression(rng, 2) for _ in range(rng.randint(0, len(names)))])
        return gast.FunctionDef(name="f", args=arguments, body=[], decorator_list=[],
                                returns=None, type_comment=None)
    if kind == 8:
        items = [gast.withitem(context_expr=expression(rng, 3),
                               optional_vars=target(rng, 1) if rng.random() < 0.5 else None)
                 for _ in range(rng.randint(1, 2))]
        return gast.With(items=items, body=[], type_comment=None)
    return gast.For(target=target(rng, 1), iter=value, body=[], orelse=[], type_comment=None)


def test_random_statements_print_as_astor_prints():
    rng = random.Random(10)
    seen = {"direct": 0, "astor": []}
    for _ in range(4000):
        check(statement(rng), seen)
    # astor prints only those with a string constant at a line's start or across lines
    # (a triple-quoted string is then possible).
    assert seen["direct"] > 3000, len(seen["astor"])
