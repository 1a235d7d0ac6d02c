"""Compile time grows linearly with a function's length: operation counts, not timings.

The long functions are tools/compile_scaling.py's: straight-line float code with math.*
calls, and the same over arrays with np.* calls.
"""

import gc
import sys
from pathlib import Path

import astor
import gast
import pytest
from numeric import check_gradient

import ast_ad
from ast_ad import pipeline, syntax, templates
from ast_ad.passes import emit, resolve, simplify
from ast_ad.rules import registry

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("variant, n", [("floats", 60), ("arrays", 30)])
def test_long_straight_line_functions_have_the_right_gradient(scaling, variant, n):
    f = scaling.load(scaling.generate(n, variant))
    check_gradient(f, *scaling.arguments(variant), argnums=(0, 1, 2))


def test_stage_times_name_every_stage(scaling):
    times = scaling.stage_times(scaling.load(scaling.generate(10, "floats")),
                                scaling.arguments("floats"))
    assert set(pipeline.STAGES) <= set(times) and all(t >= 0 for t in times.values())


def _walked_nodes(monkeypatch, fn, args, stage=None) -> int:
    """How many nodes syntax.walk and syntax.walk_lean visit while `fn` is compiled for
    `args` (in `stage` only, if given)."""
    count = [0]

    def counting_for(walk):
        def counting(node):
            found = walk(node)
            count[0] += len(found)
            return found
        return counting

    for attr in ("walk", "walk_lean"):
        walk = getattr(syntax, attr)
        counting = counting_for(walk)
        for module in list(sys.modules.values()):
            name = getattr(module, "__name__", "")
            if name.startswith("ast_ad") and getattr(module, attr, None) is walk:
                monkeypatch.setattr(module, attr, counting)
        monkeypatch.setattr(syntax, attr, counting)
    if stage is None:
        ast_ad.clear_caches()
        ast_ad.value_and_grad(fn, argnums=(0, 1, 2))(*args)
        return count[0]
    runs = dict(pipeline.LOWERING + pipeline.REVERSE)
    original = runs[stage]

    def measured(tree, ctx):
        before = count[0]
        result = original(tree, ctx)
        measured.nodes = count[0] - before
        return result

    stages = [(name, measured if name == stage else run)
              for name, run in pipeline.LOWERING + pipeline.REVERSE]
    monkeypatch.setattr(pipeline, "LOWERING", stages[:len(pipeline.LOWERING)])
    monkeypatch.setattr(pipeline, "REVERSE", stages[len(pipeline.LOWERING):])
    ast_ad.clear_caches()
    ast_ad.value_and_grad(fn, argnums=(0, 1, 2))(*args)
    return measured.nodes


def test_the_table_starts_with_the_reference_loop(scaling, monkeypatch, capsys):
    monkeypatch.setattr(scaling, "reference_loop", lambda: 0.9)
    scaling.main(["--sizes", "10", "--variant", "floats"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "reference loop (10**7 additions): 0.90 s CPU"
    assert lines[-1].split()[:2] == ["floats", "10"]


def test_reference_loop_is_cpu_seconds(scaling):
    assert 0.0 < scaling.reference_loop(repeats=1) < 60.0


@pytest.mark.parametrize("variant", ["floats", "arrays"])
@pytest.mark.parametrize("stage", [None, "simplify"])
def test_nodes_walked_grow_linearly(scaling, monkeypatch, variant, stage):
    """Four times the statements, (about) four times the nodes walked: no pass re-walks
    the function per statement, per sweep or per round."""
    args = scaling.arguments(variant)
    small = _walked_nodes(monkeypatch, scaling.load(scaling.generate(50, variant)), args, stage)
    monkeypatch.undo()
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    large = _walked_nodes(monkeypatch, scaling.load(scaling.generate(200, variant)), args, stage)
    assert small > 0
    assert large <= 4.6 * small, (small, large)


def test_simplify_computes_each_statements_names_about_once(scaling, monkeypatch):
    """The name cache: a statement's names are computed once per simplify, and again only
    after a substitution changed it, not once per sweep and round (it had two rounds of
    five sweeps, each looking at every statement, some at every later one)."""
    calls = [0]
    names_of = simplify._names_of

    def counting(stmt):
        calls[0] += 1
        return names_of(stmt)

    monkeypatch.setattr(simplify, "_names_of", counting)
    statements = []
    run = simplify.simplify

    def measured(func, ctx):
        statements.append(sum(1 for _ in syntax.walk_statements(func.body)))
        return run(func, ctx)

    stages = [(name, measured if name == "simplify" else stage)
              for name, stage in pipeline.REVERSE]
    monkeypatch.setattr(pipeline, "REVERSE", stages)
    f = scaling.load(scaling.generate(150))
    ast_ad.clear_caches()
    ast_ad.value_and_grad(f, argnums=(0, 1, 2))(*scaling.arguments())
    # (once, plus once more after each substitution; fuse may simplify again)
    assert calls[0] <= 2 * sum(statements), (calls[0], statements)


def test_walk_is_gast_walk_as_a_list(scaling):
    tree = gast.parse(scaling.generate(40) + "\nx = [a for a in b if a]\nz = lambda q: -q[1:2]\n")
    assert [id(n) for n in syntax.walk(tree)] == [id(n) for n in gast.walk(tree)]


def test_the_first_call_parses_once(monkeypatch):
    parses = []
    parse = pipeline.parse

    def counting(src):
        parses.append(src)
        return parse(src)

    monkeypatch.setattr(pipeline, "parse", counting)

    def f(x, y):
        return x * y + 1.0

    g = ast_ad.value_and_grad(f, argnums=(0, 1))
    assert g(2.0, 3.0) == (7.0, (3.0, 2.0))
    assert len(parses) == 1  # pipeline.check's tree is the one transformed
    ast_ad.clear_caches()
    g(2.0, 3.0)  # compiled again: parsed again
    assert len(parses) == 2


def test_garbage_collection_resumes_after_compiling():
    def f(x):
        return x * x

    def bad(x):
        return {x: 1.0}[x]

    assert gc.isenabled()
    assert ast_ad.grad(f)(3.0) == 6.0
    assert gc.isenabled()
    with pytest.raises(ast_ad.ADError):
        ast_ad.grad(bad)(3.0)
    assert gc.isenabled()
    gc.disable()
    try:
        ast_ad.clear_caches()
        assert ast_ad.grad(f)(2.0) == 4.0
        assert not gc.isenabled()  # left off, as it was
    finally:
        gc.enable()


def test_templates_bound_by_position_as_inspect_binds_them(monkeypatch):
    """The fast positional binding gives what Signature.bind gives (defaults filled in)."""
    checked = 0
    for rule in list(registry.ADJOINTS.values()):
        for template in rule.adjoints + rule.tangents:
            count = len(template.signature.parameters)
            for n in range(count + 1):
                args = [gast.Name(id=f"a{i}", ctx=gast.Load(), annotation=None,
                                  type_comment=None) for i in range(n)]
                fast = templates.bind_call(template, args, {})
                monkeypatch.setattr(templates, "_positional", lambda signature: None)
                slow = templates.bind_call(template, args, {})
                monkeypatch.undo()
                if isinstance(slow, str):
                    assert isinstance(fast, str)
                    continue
                assert list(fast) == list(slow)
                for key in slow:
                    a, b = fast[key], slow[key]
                    assert type(a) is type(b)
                    assert a is b or (isinstance(a, gast.Constant) and a.value is b.value)
                checked += 1
    assert checked > 100


def test_printing_converts_nodes_as_gast_does():
    source = "\n".join([
        "x = lambda a, b=1: a + b",
        "y[1:2, ::3] = f(*a, k=2, **kw)",
        "z = (a if b else -c) ** 2 // 3 @ m",
        "w = f'{x!r:>{n}}' + 'q'",
        "for i in range(3):\n    s += i\nelse:\n    pass",
        "assert x, 'm'",
        "r = [i for i in x if i], {k: v for k, v in d}, {1, 2}",
        "del x[0]",
        "t = not a < b <= c and d or e is not None",
        "u, *v = np.add.at(bx, (i, Ellipsis), None)",
    ])
    for stmt in gast.parse(source).body:
        assert astor.to_source(emit._to_ast(stmt)) == astor.to_source(gast.gast_to_ast(stmt))


def test_library_signatures_are_cached_and_user_functions_are_not():
    import math

    import numpy as np

    def user(x, out=None):
        return x

    assert resolve._signature(math.sin) is resolve._signature(math.sin)
    assert resolve._signature(np.sum) is resolve._signature(np.sum)
    assert resolve._signature(np.add) is resolve._signature(np.add)
    resolve._signature(user)
    generator = np.random.default_rng(0)
    resolve._signature(generator.normal)  # a bound method keeps its object alive: not kept
    assert user not in resolve._SIGNATURES
    assert all(getattr(f, "__self__", None) is not generator for f in resolve._SIGNATURES)


def test_the_floor_names_what_no_pass_avoids(scaling, capsys):
    """`--floor`: parse, print and CPython's compile of the printed text, and one walk of
    the tree before and after differentiation (which holds more nodes)."""
    found = scaling.floor(scaling.load(scaling.generate(20, "floats")),
                          scaling.arguments("floats"))
    assert {"parse", "print", "compile", "walk lowered", "walk differentiated"} <= set(found)
    assert found["nodes differentiated"] > found["nodes lowered"] > 20
    assert found["stages"] == len(pipeline.STAGES) - 1  # (STAGES starts with parse)
    scaling.main(["--sizes", "10", "--variant", "floats", "--floor"])
    last = capsys.readouterr().out.splitlines()[-1].split()
    assert last[:3] == ["floats", "10", "parse"] and "compile" in last
