"""Compile time stays linear in loops too, and simplify's shared per-statement analysis
says what a walk says: operation counts and equalities, not timings.

The functions are tools/compile_scaling.py's straight-line bodies, put inside a loop (the
simplify pass used to walk a whole loop each time it looked at it, the save pass the
whole backward loop once per name, the hoist pass the whole loop once per repeated
invariant).
"""

import cProfile
import pstats
import sys
from pathlib import Path

import pytest
from numeric import check_gradient

import ast_ad
from ast_ad import pipeline, syntax
from ast_ad.compile import compile_callee
from ast_ad.passes import patterns, simplify, ssa
from ast_ad.source import get_source

ROOT = Path(__file__).resolve().parent.parent


def looped(scaling, n: int, seed: int = 0) -> str:
    """compile_scaling's function of n statements with its body inside
    `for i in range(k):` (x, y, z carried from one iteration to the next)."""
    lines = scaling.generate(n, seed=seed).splitlines()
    body = ["    " + line for line in lines[1:-1]]
    carried = ["        x = 0.5 * a", "        y = 0.5 * b", "        z = 0.5 * c"]
    head = [lines[0], "    a, b, c, d = x, y, z, x", "    for i in range(k):"]
    return "\n".join(head + body + carried + ["    return x + y + z"]) + "\n"


def load_looped(scaling, n: int):
    return scaling.load(looped(scaling, n).replace("def f(x, y, z):", "def f(x, y, z, k=3):"))


def test_looped_functions_have_the_right_gradient(scaling):
    check_gradient(load_looped(scaling, 40), 0.3, -0.2, 0.5, argnums=(0, 1, 2))


def _nodes_seen(monkeypatch, fn) -> int:
    """Nodes syntax.walk visits, and simplify's own walks (_names_of) see, while `fn` is
    compiled."""
    count = [0]
    walk, names_of = syntax.walk, simplify._names_of

    def counting(node):
        found = walk(node)
        count[0] += len(found)
        return found

    def counting_names(stmt):
        count[0] += len(walk(stmt))
        return names_of(stmt)

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("ast_ad") and getattr(module, "walk", None) is walk:
            monkeypatch.setattr(module, "walk", counting)
    monkeypatch.setattr(simplify, "_names_of", counting_names)
    ast_ad.clear_caches()
    ast_ad.value_and_grad(fn, argnums=(0, 1, 2))(0.3, -0.2, 0.5)
    monkeypatch.undo()
    return count[0]


def test_nodes_walked_grow_linearly_in_a_loop(scaling, monkeypatch):
    """Four times the statements in the loop, (about) four times the nodes looked at."""
    small = _nodes_seen(monkeypatch, load_looped(scaling, 40))
    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    large = _nodes_seen(monkeypatch, load_looped(scaling, 160))
    assert small > 0
    assert large <= 4.6 * small, (small, large)


def _calls_made(scaling, n: int, shape: str) -> int:
    """Python function calls (and builtin ones) made compiling and running once
    compile_scaling's function of n statements of this shape (or, for "comprehensions",
    _comprehensions's): a count, not a time. (The check modes, which compare shortcuts
    with the whole work, are off: see below.)"""
    source = _comprehensions(n) if shape == "comprehensions" \
        else scaling.generate(n, shape=shape)
    fn = scaling.load(source)
    ast_ad.clear_caches()
    profile = cProfile.Profile()
    profile.enable()
    try:
        ast_ad.value_and_grad(fn, argnums=(0, 1, 2))(0.3, -0.2, 0.5)
    finally:
        profile.disable()
    return pstats.Stats(profile).total_calls


def _comprehensions(n: int) -> str:
    """A function of n statements, every other one a list comprehension."""
    lines = ["def f(x, y, z):", "    a = [x, y, z]"]
    for i in range(n // 2):
        lines.append(f"    a = [math.tanh(v * 0.{i % 9 + 1} + w) for v, w in zip(a, [y, z, x])]")
        lines.append("    b = sum(a) * 0.3")
    return "\n".join(lines + ["    return sum(a) + b"]) + "\n"


@pytest.mark.parametrize("shape", ["straight", "loops", "branches", "entries",
                                   "comprehensions"])
def test_calls_grow_linearly_with_many_loops_ifs_or_writes(scaling, shape, monkeypatch):
    """From 200 to 400 statements the calls made grow by (about) what they grew by from
    100 to 200, so there is no term that grows with the square of the statements. Each
    loop or if is looked at once, not once per other loop or if: save used to walk the
    whole backward code after each loop, simplify to follow the views of every name
    through the chain of loop-header copies (`a_3 = a_1`, `a_5 = a_3`, ...) and to look
    at every later statement for each write into a dict it undoes, ssa to compare
    every name in scope at each if, and anf to make every local a parameter of each
    comprehension it lowers (5-50% more growth at these sizes)."""
    # (a check mode redoes the work a shortcut saves, which may be quadratic: off here)
    monkeypatch.setattr(simplify, "CHECK", False)
    monkeypatch.setattr(syntax, "CHECK_GATES", False)
    monkeypatch.setattr(patterns, "CHECK", False)
    small, medium, large = (_calls_made(scaling, n, shape) for n in (100, 200, 400))
    assert large - medium <= 2.08 * (medium - small), (shape, small, medium, large)


def test_loops_branches_and_entries_have_the_right_gradient(scaling):
    for shape in ("loops", "branches", "entries"):
        check_gradient(scaling.load(scaling.generate(24, shape=shape)), 0.3, -0.2, 0.5,
                       argnums=(0, 1, 2))
        check_gradient(scaling.load(scaling.generate(24, shape=shape)), -0.3, 0.2, 0.5,
                       argnums=(0, 1, 2))
    check_gradient(scaling.load(_comprehensions(8)), 0.3, -0.2, 0.5, argnums=(0, 1, 2))


def _differentiated(scaling, fn):
    ast_ad.clear_caches()
    options = scaling.options_for((0.3, -0.2, 0.5))
    tree, _ = pipeline.transform(get_source(fn), options, stop_after="differentiate",
                                 compile_callee=compile_callee)
    return tree


def test_a_compound_statements_names_are_those_a_walk_finds(scaling):
    """_NameCache builds a loop's (or an if's) names from its header's and its statements'
    cached names: the same as _names_of's walk of all of it (but for the order of the calls,
    which only simple statements' are read in)."""
    tree = _differentiated(scaling, load_looped(scaling, 30))
    cache = simplify._NameCache()
    compounds = [s for s in syntax.walk_statements(tree.body) if syntax.compound(s)]
    assert len(compounds) >= 2  # the forward loop and its backward image
    for stmt in compounds:
        merged, walked = cache.get(stmt), simplify._names_of(stmt)
        assert dict(merged[0]) == dict(walked[0])
        assert merged[1:4] == walked[1:4]
        assert {id(c) for c in merged[4]} == {id(c) for c in walked[4]}
        assert merged[5] == walked[5] and dict(merged[6]) == dict(walked[6])
    # and after a change inside the loop, the cache (told of it) still agrees
    loop = compounds[0]
    inner = next(s for s in loop.body if syntax.target_name(s) is not None)
    cache.forget(inner)
    inner.value = syntax.name("k")
    assert dict(cache.get(loop)[0]) == dict(simplify._names_of(loop)[0])


def _overwritten_unread_by_scan(stmts, start, var, names) -> bool:
    """Whether `var` is assigned, from statement `start` on, before anything reads it,
    scatters into it or a compound statement comes: by looking at each statement in turn."""
    for stmt in stmts[start:]:
        if syntax.compound(stmt) or simplify._is_scatter_on(stmt, var):
            return False
        if names.get(stmt)[0].get(var):
            return False
        if syntax.target_name(stmt) == var:
            return True
    return False


@pytest.mark.parametrize("shape", ["straight", "looped"])
def test_dead_store_positions_answer_as_a_scan_does(scaling, shape):
    fn = scaling.load(scaling.generate(12)) if shape == "straight" else \
        load_looped(scaling, 10)
    tree = _differentiated(scaling, fn)
    names = simplify._NameCache()
    blocks = [tree.body] + [b for s in syntax.walk_statements(tree.body)
                            for b in syntax.blocks(s)]
    checked = found = 0
    for stmts in blocks:
        variables = {syntax.target_name(s) for s in stmts} - {None}  # (what is asked)
        starts = []
        for i, overwritten in simplify._overwritten_next(stmts, names):
            starts.append(i + 1)
            for var in variables:
                expected = _overwritten_unread_by_scan(stmts, i + 1, var, names)
                assert (var in overwritten) == expected, (i + 1, var)
                checked += 1
                found += expected
        for var in variables:  # (and, all done, from the first statement on)
            assert (var in overwritten) == _overwritten_unread_by_scan(stmts, 0, var, names)
        assert starts == list(range(len(stmts), 0, -1))
    assert checked > 500 and found > 5, (checked, found)


def test_parse_converts_to_gast_as_gast_does():
    """passes/parse.to_gast is gast.ast_to_gast, faster: the same nodes, fields and positions."""
    import ast

    import gast

    from ast_ad.passes.parse import to_gast

    sources = [(ROOT / "ast_ad" / "passes" / name).read_text()
               for name in ("anf.py", "fence.py", "with_blocks.py")]
    sources.append("async def f(x, /, y=1, *a, z, **k) -> int:\n"
                   "    try:\n        pass\n    except E as e:\n        raise\n"
                   "    class C(B, metaclass=M):\n        w: int = 2\n"
                   "    return [i async for i in x if i], lambda q: q, f'{x!r:>{y}}'\n")
    for text in sources:
        tree = ast.parse(text)
        assert gast.dump(to_gast(tree), include_attributes=True) == \
            gast.dump(gast.ast_to_gast(tree), include_attributes=True)


def test_template_builders_fill_as_the_filler_does():
    """templates._builder(template, e)(filler) is filler.fill(e), for every expression of
    every registered rule: the same tree, and the same calls (names resolved, adjoints and
    temporaries named) in the same order."""
    import gast

    from ast_ad import templates
    from ast_ad.rules import registry

    def binding(log):
        def derivative(kind, param):
            log.append(("d", kind, param))
            return None if param.startswith("_") else syntax.name(f"{kind}_{param}")

        def resolve(name_, obj):
            log.append(("g", name_))
            return syntax.name(f"g_{name_}")

        import numpy

        return templates.Binding(atoms={}, derivative=derivative, resolve_global=resolve,
                                 lib=numpy, new_temp=lambda: "t")

    checked = 0
    for rule in list(registry.ADJOINTS.values()):
        for template in rule.adjoints + rule.tangents:
            atoms = {p: syntax.name(f"a_{p}") for p in template.params}
            temps = {t: f"tmp_{t}" for t in template.temporaries}
            for stmt in template.body:
                parts = [stmt.value] + ([stmt.targets[0].slice] if isinstance(
                    stmt.targets[0], gast.Subscript) else [])
                for part in parts:
                    slow_log, fast_log = [], []
                    slow, fast = binding(slow_log), binding(fast_log)
                    slow.atoms = fast.atoms = atoms
                    try:
                        expected = templates._Filler(template, slow, temps).fill(part)
                    except ast_ad.ADError as error:
                        with pytest.raises(type(error)):
                            templates._builder(template, part)(
                                templates._Filler(template, fast, temps))
                        continue
                    got = templates._builder(template, part)(
                        templates._Filler(template, fast, temps))
                    assert gast.dump(got) == gast.dump(expected)
                    assert fast_log == slow_log
                    checked += 1
    assert checked > 300


def test_guarded_copies_find_the_function_as_a_parse_does(scaling):
    """compile._function_lines reads a generated function's lines off the text (a parse of
    a long text costs more than compiling it): the lines a parse gives, also for a text
    with a triple-quoted string, where it parses."""
    import ast

    from ast_ad.compile import _function_lines

    texts = [ast_ad.source(ast_ad.value_and_grad(scaling.load(scaling.generate(12)),
                                                 argnums=(0, 1, 2)), 0.3, -0.2, 0.5),
             ast_ad.source(ast_ad.value_and_grad(load_looped(scaling, 6), argnums=(0, 1, 2)),
                           0.3, -0.2, 0.5),
             "def f_vjp(x):\n    # forward\n    t = x * x\n    return t, 1\n\n\n"
             "def f_backward(saved, bt):\n    bx = 2.0 * saved * bt\n    return (bx,)\n",
             'def g(x):\n    s = """\ndef g(y):\n    """\n    return x\n\n'
             'def h(x):\n    return x\n']
    for text in texts:
        lines = text.splitlines(True)
        for node in ast.parse(text).body:
            expected = (node.lineno - 1, node.body[0].lineno - 1, node.end_lineno,
                        " " * node.body[0].col_offset)
            assert _function_lines(text, lines, node.name) == expected, node.name


def _names_looked_at_by_ssa(monkeypatch, fn) -> int:
    """Nodes ssa walks (walk_lean) and names it collects (load_names) compiling fn."""
    count = [0]
    walk_lean, load_names = ssa.walk_lean, ssa.load_names

    def counting_walk(node):
        found = list(walk_lean(node))
        count[0] += len(found)
        return found

    def counting_loads(node):
        found = load_names(node)
        count[0] += len(found)
        return found

    monkeypatch.setattr(ssa, "walk_lean", counting_walk)
    monkeypatch.setattr(ssa, "load_names", counting_loads)
    ast_ad.clear_caches()
    ast_ad.value_and_grad(fn, argnums=(0, 1))(0.3, 0.5)
    monkeypatch.undo()
    return count[0]


def test_ssa_looks_at_early_returns_once(scaling, monkeypatch):
    """A name bound only on the path that returns early (`result`) is looked up in the
    rest of the function once, not once per early return, each time all the ifs after
    it (which are the `else` of its `if`): twice the returns, about twice the names."""
    def early_returns(n):
        lines = ["def f(x, y):", "    a = x"]
        for i in range(n):
            lines += [f"    if a > {2.0 + i / n:.3f}:", "        return a * y",
                      f"    a = math.tanh(a * y + 0.{i % 9 + 1})"]
        return scaling.load("\n".join(lines + ["    return a * y"]) + "\n")

    small = _names_looked_at_by_ssa(monkeypatch, early_returns(10))
    large = _names_looked_at_by_ssa(monkeypatch, early_returns(20))
    assert 0 < small and large <= 2.3 * small, (small, large)
