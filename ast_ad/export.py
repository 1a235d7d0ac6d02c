"""`ast-ad export`: the code generated for a function, as a standalone module.

The module holds the generated derivative and its callees' generated functions, under the
names `ast-ad show` prints, the runtime helpers they call (their source, inlined), and the
imports of what they read: modules (numpy, math) by name, the user's other globals from the
user's module. It never imports ast_ad. Its text depends only on the generated code, so the
same function and options give the same file.
"""

from __future__ import annotations

import ast
import builtins
import dis
import importlib
import inspect
import os
import sys
import textwrap
import types

from .errors import ADError

_HINT = "export functions whose derivative calls only NumPy, math and module-level names"


def export_module(generated, header: list[str]) -> str:
    """The text of a module defining `generated` (a function ast-ad generated) and everything
    it needs; `header`: the comment lines to start with (without '# ')."""
    text = generated.__ast_ad_source__  # with the callees' (the plain function's has not)
    generated = getattr(generated, "__ast_ad_plain__", generated)
    defs = _definitions(text)
    names: dict[str, object] = {}  # name in the module -> object it must mean
    where: dict[str, str] = {}  # name -> what needs it, for messages
    user_modules: dict[str, str] = {}  # global name -> module to import it from
    seen: set = set()
    todo = [generated]
    while todo:
        fn = todo.pop()
        if fn.__code__ in seen:
            continue
        seen.add(fn.__code__)
        if fn.__name__ not in defs:
            raise ADError(f"cannot export: the generated function {fn.__name__} has no "
                          "source in the generated text", hint=_HINT)
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        for var, cell in cells.items():
            obj = cell.cell_contents
            _bind(names, where, var, obj, fn.__name__)
            if _is_generated(obj):
                todo.append(getattr(obj, "__ast_ad_plain__", obj))
        module = fn.__globals__.get("__name__")
        for var in sorted(_global_loads(fn.__code__)):
            if var in defs:
                continue
            if var in fn.__globals__:
                obj = fn.__globals__[var]
                _bind(names, where, var, obj, fn.__name__)
                if not isinstance(obj, types.ModuleType) and not _is_generated(obj) \
                        and not _is_ast_ad(obj):
                    if module in (None, "__main__"):
                        raise ADError(
                            f"cannot export: {fn.__name__} reads the global {var} of a module "
                            f"that cannot be imported ({module})",
                            hint="define the function in a module file")
                    user_modules[var] = module
                if _is_generated(obj):
                    todo.append(getattr(obj, "__ast_ad_plain__", obj))
            elif not hasattr(builtins, var):
                raise ADError(f"cannot export: {fn.__name__} reads {var}, which is not defined",
                              hint=_HINT)

    for var, obj in names.items():
        if var in defs and not (_is_generated(obj) and obj.__name__ == var):
            raise ADError(f"cannot export: the name {var} means both a generated function and "
                          f"{_what(obj)} (in {where[var]})", hint="rename one of them")
    imports: set[str] = set()
    aliases: list[str] = []
    helpers: dict[str, object] = {}  # name -> runtime function to inline
    specials: list[str] = []
    for var in sorted(names):
        obj = names[var]
        if _is_generated(obj):
            if obj.__name__ != var:
                aliases.append(f"{var} = {obj.__name__}")
        elif isinstance(obj, types.ModuleType) and obj.__name__ == "ast_ad":
            specials.append(_ast_ad_namespace(var, defs, helpers, imports))
        elif isinstance(obj, types.ModuleType):
            imports.add(_import_module(obj, var))
            imports.update(_submodules(obj, var, defs))
        elif var in user_modules:
            imports.add(f"from {user_modules[var]} import {var}")
        elif getattr(builtins, var, _MISSING) is obj:
            pass
        elif _is_scalar_check(obj):
            specials.append(_scalar_check_source(obj, var))
            helpers.setdefault("output_problem", _runtime_function("output_problem", obj))
            imports.add("import numpy as np")
        elif _is_ast_ad(obj):
            if not isinstance(obj, types.FunctionType):
                raise ADError(f"cannot export: {where[var]} uses {var}, an ast-ad object "
                              f"({type(obj).__name__}) that is not a plain function", hint=_HINT)
            _add_helper(helpers, var, obj, imports)
        else:
            imports.add(_import_object(obj, var, where[var]))
    for name, fn in list(helpers.items()):
        own = fn.__name__  # the name its inlined source defines
        if names.get(own, fn) is not fn or own in defs:
            raise ADError(f"cannot export: the runtime helper {own} would hide another "
                          f"{own} ({_what(names.get(own))})", hint="rename that function")
        if name != own:
            aliases.append(f"{name} = {own}")
    top = "\n".join(f"# {line}" if line else "#" for line in header) + \
        f'\n"""{_docstring(generated)}"""\n\nfrom __future__ import annotations\n\n' + \
        _sorted_imports(imports)
    parts = [top]
    helper_fns = sorted({fn.__code__: fn for fn in helpers.values()}.values(),
                        key=lambda f: (f.__module__, f.__code__.co_firstlineno))
    for fn in helper_fns:
        parts.append(_helper_source(fn))
    parts.extend(specials)
    parts.extend(defs.values())
    if aliases:
        parts.append("\n".join(sorted(aliases)))
    parts.append(f"__all__ = [{generated.__name__!r}]")
    return "\n\n\n".join(p.rstrip("\n") for p in parts if p) + "\n"


_MISSING = object()


def _docstring(generated) -> str:
    return (f"{generated.__name__} and the functions it calls, as ast-ad generated "
            "them.")


def _definitions(text: str) -> dict[str, str]:
    """name -> source of each top-level def in `text`, first one of each name, in order."""
    tree = ast.parse(text)
    lines = text.splitlines(True)
    defs: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            body = "".join(lines[node.lineno - 1:node.end_lineno])
            if node.name in defs and defs[node.name] != body:
                raise ADError(f"cannot export: two different generated functions are named "
                              f"{node.name}", hint="rename one of the functions they come from")
            defs.setdefault(node.name, body)
    return defs


def _is_generated(obj) -> bool:
    return isinstance(obj, types.FunctionType) and \
        obj.__code__.co_filename.startswith("<ast_ad:")


def _is_ast_ad(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == "ast_ad" or module.startswith("ast_ad.")


def _is_scalar_check(obj) -> bool:
    return isinstance(obj, types.FunctionType) and \
        obj.__qualname__ == "scalar_output_check.<locals>.check_scalar_output"


def _bind(names: dict, where: dict, var: str, obj, user: str) -> None:
    if var in names and names[var] is not obj and not (
            _is_scalar_check(obj) and _is_scalar_check(names[var])):
        raise ADError(f"cannot export: the name {var} means two things ({_what(names[var])} "
                      f"in {where[var]}, {_what(obj)} in {user})",
                      hint="rename one of them in the source")
    names.setdefault(var, obj)
    where.setdefault(var, user)


def _what(obj) -> str:
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or \
        type(obj).__name__


def _global_loads(code: types.CodeType) -> set[str]:
    found = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            found.add(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _global_loads(const)
    return found


def _import_module(module: types.ModuleType, var: str) -> str:
    name = module.__name__
    if name == "ast_ad" or name.startswith("ast_ad."):
        raise ADError(f"cannot export: the generated code uses the module {name}", hint=_HINT)
    if var == name:
        return f"import {name}"
    return f"import {name} as {var}"


def _import_object(obj, var: str, user: str) -> str:
    """`from module import name as var` for an object a module defines, else an error."""
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        return f"{var} = {obj!r}"  # (an import line sorts with the rest; a constant too)
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if isinstance(module_name, str) and isinstance(qualname, str) and "<" not in qualname \
            and "." not in qualname and module_name != "__main__":
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        if module is not None and getattr(module, qualname, None) is obj:
            return f"from {module_name} import {qualname}" + \
                (f" as {var}" if var != qualname else "")
    raise ADError(f"cannot export: {user} uses {var} ({_what(obj)}), which no module "
                  "defines under a name", hint=_HINT)


def _attributes(var: str, defs: dict) -> set[str]:
    """The attributes the code reads from the name `var` (`np.sin` -> sin)."""
    found = set()
    for text in defs.values():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == var:
                found.add(node.attr)
    return found


def _ast_ad_namespace(var: str, defs: dict, helpers: dict, imports: set) -> str:
    """The code reads `ast_ad.stop_gradient`: a class standing for ast_ad, holding the
    functions read from it (their source inlined with the other helpers)."""
    module = sys.modules["ast_ad"]
    lines = [f"class {var}:", '    """The ast_ad functions the code calls (defined above)."""',
             ""]
    for attr in sorted(_attributes(var, defs)):
        fn = getattr(module, attr, None)
        if not isinstance(fn, types.FunctionType) or \
                not fn.__code__.co_filename.endswith("runtime.py"):
            raise ADError(f"cannot export: the generated code calls {var}.{attr}, which is not "
                          "a runtime helper of ast_ad", hint=_HINT)
        _add_helper(helpers, fn.__name__, fn, imports)
        lines.append(f"    {attr} = staticmethod({fn.__name__})")
    return "\n".join(lines) + "\n"


def _submodules(module: types.ModuleType, var: str, defs: dict) -> set[str]:
    """`import scipy.linalg` for code reading `scipy.linalg.solve` (`import scipy` alone
    need not load scipy.linalg)."""
    found = set()
    for text in defs.values():
        for node in ast.walk(ast.parse(text)):
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            if not (isinstance(node, ast.Name) and node.id == var and chain):
                continue
            name = module.__name__
            for attr in reversed(chain):
                child = getattr(sys.modules.get(name), attr, None)
                if not isinstance(child, types.ModuleType):
                    break
                name = child.__name__
                if var == module.__name__:
                    found.add(f"import {name}")
    return found


def _sorted_imports(imports: set[str]) -> str:
    plain = sorted(i for i in imports if i.startswith("import "))
    by_module: dict[str, list[str]] = {}
    for line in imports:
        if line.startswith("from "):
            module, _, name = line[len("from "):].partition(" import ")
            by_module.setdefault(module, []).append(name)
    froms = [f"from {m} import {', '.join(sorted(by_module[m]))}" for m in sorted(by_module)]
    constants = sorted(i for i in imports if not i.startswith(("import ", "from ")))
    return "\n".join(plain + froms + ([""] if constants else []) + constants)


def _runtime_function(name: str, near) -> types.FunctionType:
    module = importlib.import_module(near.__module__)
    return getattr(module, name)


def _add_helper(helpers: dict, var: str, fn: types.FunctionType, imports: set) -> None:
    """Inline `fn` (a runtime helper) and, transitively, the helpers of its module it calls."""
    if var in helpers:
        return
    helpers[var] = fn
    for name in sorted(_global_loads(fn.__code__)):
        if name in fn.__globals__:
            obj = fn.__globals__[name]
            if isinstance(obj, types.ModuleType):
                imports.add(_import_module(obj, name))
            elif isinstance(obj, types.FunctionType) and (
                    obj.__module__ == fn.__module__ or _is_ast_ad(obj)):
                _add_helper(helpers, name, obj, imports)  # (arraytypes' tests, say)
            else:
                raise ADError(f"cannot export: the runtime helper {fn.__name__} uses {name} "
                              f"({_what(obj)})", hint=_HINT)
        elif not hasattr(builtins, name):
            raise ADError(f"cannot export: the runtime helper {fn.__name__} reads {name}, "
                          "which is not defined", hint=_HINT)


def _helper_source(fn: types.FunctionType) -> str:
    """The helper's source, without annotations naming ast-ad types."""
    if fn.__module__ == "ast_ad.runtime" and fn.__name__ == "check_positional":
        return _POSITIONAL_CHECK
    text = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(text)
    func = tree.body[0]
    mentions = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)}
    if "Location" in mentions or "NonScalarOutputError" in mentions:
        raise ADError(f"cannot export: the runtime helper {fn.__name__} uses ast-ad's errors",
                      hint=_HINT)
    return text


# A standalone runtime.check_positional (that one raises ast_ad's UnsupportedSyntaxError).
_POSITIONAL_CHECK = '''def check_positional(seq):
    """Raise TypeError unless a loop may read seq's items by position (seq[k])."""
    from collections.abc import Mapping
    if isinstance(seq, Mapping) or not hasattr(type(seq), "__getitem__"):
        raise TypeError(f"iterating over a {type(seq).__name__}: this code reads a loop's "
                        "items by position; loop over a list or a tuple of them")
'''


def _scalar_check_source(check, var: str) -> str:
    """A standalone version of the check that grad's output is a float scalar (the one in
    ast_ad raises ast_ad.NonScalarOutputError; this one raises ValueError)."""
    cells = dict(zip(check.__code__.co_freevars, check.__closure__))
    function = cells["function"].cell_contents
    location = cells["location"].cell_contents
    where = f" (at {os.path.basename(location.filename)}:{location.lineno})" \
        if location is not None else ""
    return (
        f"def {var}(y):\n"
        f'    """Raise ValueError unless y is a float scalar: grad needs one."""\n'
        f"    shape = np.shape(y) if not isinstance(y, (str, bytes)) else ()\n"
        f"    if shape != ():\n"
        f"        raise ValueError(f\"grad requires {function} to return a scalar, but it "
        f"returned {{type(y).__name__}} of shape {{shape}}{where}\")\n"
        f"    problem = output_problem(y)\n"
        f"    if problem is not None:\n"
        f"        raise ValueError(f\"grad requires {function} to return a float, but it "
        f"returned {{problem}}{where}\")\n")
