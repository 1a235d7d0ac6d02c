"""`ast-ad show FILE`: print the derivative code ast-ad generates for the functions in a file.

Exit status: 0 on success, 1 on a user error (printed without a traceback),
2 on bad usage (an unknown option or stage, a malformed --argnums, --at or --kinds,
or one that does not fit the function's parameters).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import sys
from pathlib import Path

from .checkpointing import schedule
from .compile import compile_function
from .context import Options
from .errors import ADError
from .pipeline import STAGES, generate
from .source import get_source
from .values import OTHER, kind_of_value

KIND_NAMES = {"scalar": "scalar", "array": "array", "generic": OTHER}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ast-ad", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser(
        "show", help="print generated derivative code",
        description="Import FILE (running its top-level code, as `import` does) and print the "
        "code ast-ad generates for its functions.")
    show.add_argument("file", help="a Python file; it is imported, so its top-level code runs")
    show.add_argument("--function", "-f", help="only this function (default: every function "
                      "with parameters whose name does not start with _)")
    show.add_argument("--argnums", help="comma-separated positions to differentiate with "
                      "respect to (default: all positional parameters)")
    show.add_argument("--mode", choices=["reverse", "grad", "forward", "hessian"],
                      default="reverse",
                      help="reverse: value and gradient (default); grad: gradient only; "
                      "forward: value and directional derivative (jvp); hessian: forward "
                      "mode applied to the generated gradient code")
    show.add_argument("--kinds", help="argument kinds, comma-separated: scalar, array or "
                      "generic (default: from type annotations, else generic)")
    show.add_argument("--at", help="example arguments as a Python literal, e.g. '2.0, 5.0'; "
                      "their kinds select the code")
    show.add_argument("--trace", action="store_true",
                      help="one primitive per line (do not fold temporaries into expressions)")
    show.add_argument("--stage", choices=STAGES, help="print the function after this stage")
    show.add_argument("--checkpoint", metavar="revolve|K",
                      help="checkpoint the function's loops (binomial checkpointing, at most K "
                      "snapshots of a loop's state; revolve: the default number), as "
                      "grad(f, checkpoint=...) does")
    args = parser.parse_args(argv)
    try:
        return _show(args)
    except UsageError as error:
        show.error(str(error))  # exits with status 2, after the usage line
    except ADError as error:
        print(f"ast-ad: {error}", file=sys.stderr)
        return 1


class UsageError(Exception):
    """An option's value is malformed or does not fit the function: exit status 2."""


def _show(args) -> int:
    argnums = _parse_argnums(args.argnums)
    at = _parse_at(args.at)
    given_kinds = _parse_kinds(args.kinds)
    module = _load(Path(args.file))
    functions = _functions(module, args.function, args.file)
    for fn in functions:  # every option fits every function, before anything is printed
        _fit(fn, argnums, at, given_kinds)
    status = 0
    for i, fn in enumerate(functions):
        try:
            text = _generate(fn, args, argnums, at, given_kinds)
        except ADError as error:
            print(f"ast-ad: {error}", file=sys.stderr)
            status = 1
            continue
        if i:
            print()
        print(text, end="")
    return status


def _load(path: Path):
    if not path.is_file():
        raise ADError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(path.stem, module)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:  # the file's own script part ran
        code = "" if exc.code is None else repr(exc.code)
        raise ADError(f"{path} called sys.exit({code}) while being imported",
                      hint="put the script part of the file under "
                      "`if __name__ == \"__main__\":`") from None
    except Exception as exc:  # the user's module failed to import
        raise ADError(f"cannot import {path}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.path.pop(0)
    return module


def _functions(module, name: str | None, filename: str) -> list:
    found = [
        obj for obj in vars(module).values()
        if inspect.isfunction(obj) and obj.__module__ == module.__name__
    ]
    found.sort(key=lambda f: f.__code__.co_firstlineno)
    if name is not None:
        chosen = [f for f in found if f.__name__ == name]
        if not chosen:
            names = ", ".join(f.__name__ for f in found) or "none"
            raise ADError(f"{filename} defines no function {name!r} (it defines: {names})")
        return chosen
    return [f for f in found if not f.__name__.startswith("_") and _positional(f)]


def _positional(fn) -> list[str]:
    return [p.name for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _parse_argnums(text: str | None) -> tuple | None:
    if text is None:
        return None
    try:
        argnums = tuple(int(a) for a in text.split(","))
    except ValueError:
        raise UsageError(f"--argnums takes comma-separated integers, e.g. 0,2, not {text!r}") \
            from None
    if len(set(argnums)) != len(argnums):
        raise UsageError(f"--argnums {text} names a position twice")
    return argnums


def _parse_at(text: str | None) -> tuple | None:
    if text is None:
        return None
    try:
        values = ast.literal_eval(f"({text},)")
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise UsageError(
            f"--at takes Python literals, e.g. '2.0, [1.0, 2.0]', not {text!r}") from None
    import numpy as np

    arrays = []
    for v in values:
        if isinstance(v, (list, tuple)):
            try:
                v = np.asarray(v, dtype=float)
            except (ValueError, TypeError):
                raise UsageError(f"--at: {v!r} is not a rectangular array of numbers") from None
        arrays.append(v)
    return tuple(arrays)


def _parse_kinds(text: str | None) -> list | None:
    if text is None:
        return None
    given = [k.strip() for k in text.split(",")]
    unknown = [k for k in given if k not in KIND_NAMES]
    if unknown:
        raise UsageError(f"--kinds: unknown kind {unknown[0]!r}: use scalar, array or generic")
    return given


def _fit(fn, argnums, at, kinds) -> None:
    """Raise UsageError if an option does not fit `fn`'s positional parameters."""
    params = _positional(fn)
    count = f"{fn.__name__} takes {len(params)} positional parameter(s) ({', '.join(params)})"
    for a in argnums or ():
        if not 0 <= a < len(params):
            raise UsageError(f"--argnums {a} is out of range: {count}")
    if at is not None and len(at) != len(params):
        raise UsageError(f"--at gives {len(at)} value(s) but {count}")
    if kinds is not None and len(kinds) not in (1, len(params)):
        raise UsageError(f"--kinds gives {len(kinds)} kind(s) but {count}")


def _generate(fn, args, argnums, at, given_kinds) -> str:
    params = _positional(fn)
    if not params:
        raise ADError(f"{fn.__name__} has no positional parameters to differentiate")
    if argnums is None:
        argnums = tuple(range(len(params)))
    mode = {"reverse": "value_and_grad", "grad": "grad", "forward": "jvp",
            "hessian": "grad"}[args.mode]
    kinds = _kinds(fn, params, at, given_kinds)
    options = Options(mode, argnums, len(argnums) > 1 or mode == "jvp", kinds, trace=args.trace,
                      checkpoint=_parse_checkpoint(args.checkpoint, args.mode))
    src = get_source(fn)
    if args.mode == "hessian":  # forward mode over the generated gradient
        gradient = compile_function(src, options)[0]
        src = get_source(gradient)
        options = Options("jvp", argnums, True, kinds, trace=args.trace)
    if args.stage:
        text, _, _ = generate(src, options, args.stage)
        return text
    return compile_function(src, options)[0].__ast_ad_source__


def _parse_checkpoint(text: str | None, mode: str):
    if text is None:
        return None
    if mode not in ("reverse", "grad"):
        raise UsageError("--checkpoint applies to reverse mode (--mode reverse or grad)")
    try:
        return schedule(int(text) if text.strip().isdigit() else text.strip())
    except ADError as error:
        raise UsageError(f"--checkpoint {text}: {error}") from None


def _kinds(fn, params, at, given) -> tuple:
    if at is not None:
        return tuple(kind_of_value(v) for v in at)
    if given is not None:
        if len(given) == 1:
            given = given * len(params)
        return tuple(KIND_NAMES[k] for k in given)
    hints = getattr(fn, "__annotations__", {})
    return tuple(_kind_of_annotation(hints.get(p)) for p in params)


def _kind_of_annotation(annotation) -> str:
    import numpy as np

    if annotation in (float, "float", int, "int"):
        return "scalar"
    if annotation in (np.ndarray, "np.ndarray", "numpy.ndarray", "NDArray"):
        return "array"
    return OTHER


if __name__ == "__main__":
    sys.exit(main())
