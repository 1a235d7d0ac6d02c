"""Imports in ast_ad/ go one way: the module graph has no cycle, and no layer imports a higher one.

The layers, top to bottom (a module imports from its own layer or lower ones):

1. API: the package itself, cli, transforms, tracing, extend -> api -> higher -> compile
   (`compile_function`: cache -> pipeline -> exec; every transformation calls it).
2. pipeline: the order of the passes, in one place. It also hands the passes what needs the
   whole pipeline: the analysis of a called user function (`ctx.analyse_callee`), and the
   stages a local function goes through before anf inlines it.
3. passes/: one pass per module. A pass may use what an earlier one computes (resolve, values,
   facts, aliases...) but never the pipeline or the API.
4. rules and IR helpers: rules/, syntax, anno, templates, naming, algebra, shapes, values,
   runtime, errors, context, cache, source, recursion, callees.

The graph is read from the source (pure AST: nothing is imported, nothing depends on the
machine). Imports at any depth count, inside functions too: a local import is still an
arrow, only a hidden one. `from .. import x` is an arrow to module `x` if there is one,
else to the package; a package's __init__ counts for what it imports, not as an arrow from
each of its modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "ast_ad"

API = {"ast_ad", "ast_ad.cli", "ast_ad.transforms", "ast_ad.extend", "ast_ad.api",
       "ast_ad.higher", "ast_ad.compile", "ast_ad.tracing", "ast_ad.checks"}
PIPELINE = {"ast_ad.pipeline"}
LAYERS = ["rules and IR helpers", "passes", "pipeline", "API"]  # bottom to top


def layer(module: str) -> int:
    if module in API:
        return 3
    if module in PIPELINE:
        return 2
    if module.startswith("ast_ad.passes."):
        return 1
    return 0


def modules(root: Path = ROOT) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package) for every .py file under `root`."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        found[".".join(parts)] = (path, package)
    return found


def graph(found: dict[str, tuple[Path, bool]]) -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first import of it}, within ast_ad only."""
    edges = {}
    for module, (path, package) in found.items():
        here = module if package else module.rpartition(".")[0]
        out: dict[str, int] = {}
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = here.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1]
                                    + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in found else base
                           for alias in node.names]
            else:
                continue
            for target in targets:
                if target != "ast_ad" and not target.startswith("ast_ad."):
                    continue
                while target not in found:  # an unknown submodule: the nearest known one
                    target = target.rpartition(".")[0]
                if target != module:
                    out[target] = min(out.get(target, node.lineno), node.lineno)
        edges[module] = out
    return edges


def find_cycle(edges: dict[str, dict]) -> list[str] | None:
    """A cycle [a, b, ..., a] in the graph, or None."""
    state: dict[str, str] = {}  # "open" while on the path, then "done"
    path: list[str] = []

    def visit(module: str):
        state[module] = "open"
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(edges):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def describe(cycle: list[str], edges, found) -> str:
    steps = [f"  {a} -> {b}   ({found[a][0].relative_to(ROOT.parent)}:{edges[a][b]})"
             for a, b in zip(cycle, cycle[1:])]
    return "import cycle:\n" + "\n".join(steps)


def test_the_import_graph_has_no_cycle():
    found = modules()
    edges = graph(found)
    cycle = find_cycle(edges)
    assert cycle is None, describe(cycle, edges, found)


def test_no_module_imports_a_higher_layer():
    found = modules()
    edges = graph(found)
    upward = [f"  {a} ({LAYERS[layer(a)]}) -> {b} ({LAYERS[layer(b)]})   "
              f"({found[a][0].relative_to(ROOT.parent)}:{line})"
              for a, targets in sorted(edges.items()) for b, line in sorted(targets.items())
              if layer(b) > layer(a)]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_the_graph_sees_every_kind_of_import():
    edges = graph(modules())
    assert "ast_ad.passes.anf" in edges["ast_ad.pipeline"]  # from .passes.anf import anf
    assert "ast_ad.anno" in edges["ast_ad.passes.anf"]  # from .. import anno
    assert "ast_ad.rules.registry" in edges["ast_ad.passes.resolve"]  # inside a function
    assert "ast_ad.api" in edges["ast_ad"]  # the package's __init__
    assert "ast_ad.rules.arithmetic" in edges["ast_ad.rules"]  # from . import (...)


def test_a_cycle_is_found_and_named(tmp_path):
    package = tmp_path / "ast_ad"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    import ast_ad.c\n")
    (package / "c.py").write_text("from . import a\nimport os\n")
    found = modules(package)
    edges = graph(found)
    assert find_cycle(edges) == ["ast_ad.a", "ast_ad.sub.b", "ast_ad.c", "ast_ad.a"]
    assert edges["ast_ad.sub.b"] == {"ast_ad.c": 2}
