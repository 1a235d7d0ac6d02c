"""The `ast-ad` command: derivative code and the tools around it.

- `ast-ad show FILE`: print the derivative code ast-ad generates for the functions in a file;
- `ast-ad trace FILE --at ...`: the evaluation trace with values (ast_ad.tracing);
- `ast-ad check FILE --at ...`: AD against finite differences for a range of steps
  (ast_ad.checks);
- `ast-ad export FILE -o OUT.py`: the generated code as a module without ast_ad
  (ast_ad.export).

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
from .errors import ADError, VectorModeError
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
    show.add_argument("--mode", choices=["reverse", "grad", "forward", "hessian", "jacfwd"],
                      default="reverse",
                      help="reverse: value and gradient (default); grad: gradient only; "
                      "forward: value and directional derivative (jvp); hessian: forward "
                      "mode applied to the generated gradient code; jacfwd: the Jacobian "
                      "(hessian and jacfwd: every direction in one function, vector mode, "
                      "when --at gives the shapes)")
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
    _add_trace(commands)
    _add_check(commands)
    _add_export(commands)
    args = parser.parse_args(argv)
    run = {"show": _show, "trace": _trace, "check": _check, "export": _export}[args.command]
    try:
        return run(args)
    except UsageError as error:
        commands.choices[args.command].error(str(error))  # status 2, after the usage line
    except ADError as error:
        print(f"ast-ad: {error}", file=sys.stderr)
        return 1


class UsageError(Exception):
    """An option's value is malformed or does not fit the function: exit status 2."""


def _show(args) -> int:
    argnums = _parse_argnums(args.argnums)
    at = _parse_at(args.at)
    given_kinds = _parse_kinds(args.kinds)
    _parse_checkpoint(args.checkpoint, args.mode)  # (a usage error before anything runs)
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


def _parse_at(text: str | None, option: str = "--at") -> tuple | None:
    if text is None:
        return None
    try:
        values = ast.literal_eval(f"({text},)")
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise UsageError(
            f"{option} takes Python literals, e.g. '2.0, [1.0, 2.0]', not {text!r}") from None
    import numpy as np

    arrays = []
    for v in values:
        if isinstance(v, (list, tuple)):
            try:
                v = np.asarray(v, dtype=float)
            except (ValueError, TypeError):
                raise UsageError(f"{option}: {v!r} is not a rectangular array of numbers") \
                    from None
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
    if args.mode in ("hessian", "jacfwd") and not args.stage:
        text = _vector_text(fn, args.mode, argnums, at, given_kinds, args.trace)
        if text is not None:
            return text
    src, options = _what_to_generate(fn, args.mode, argnums, at, given_kinds, args.trace,
                                     _parse_checkpoint(args.checkpoint, args.mode))
    if args.stage:
        text, _, _ = generate(src, options, args.stage)
        return text
    return compile_function(src, options)[0].__ast_ad_source__


def _vector_text(fn, cli_mode, argnums, at, given_kinds, trace: bool) -> str | None:
    """The vector-mode function (docs/vector_mode.md) for these arguments: their shapes come
    from --at (lists of floats are arrays); None where vector mode does not apply (then the
    one-direction jvp is shown, as before)."""
    import numpy as np

    from .values import array_info, of_arguments

    params = _positional(fn)
    if argnums is None:
        argnums = tuple(range(len(params)))
    if at is not None:
        values = tuple(np.asarray(v, dtype=float) if isinstance(v, list) else v for v in at)
    elif all(k == "scalar" for k in _kinds(fn, params, at, given_kinds)):
        values = (1.0,) * len(params)
    else:
        return None
    kinds = tuple(kind_of_value(v) for v in values)
    arrays = tuple(array_info(v) for v in values)
    items = of_arguments(values, arrays)
    is_tuple = len(argnums) > 1
    src = get_source(fn)
    try:
        if cli_mode == "hessian":
            gradient = compile_function(src, Options("grad", argnums, is_tuple, kinds, arrays,
                                                      values=items))[0]
            src = get_source(gradient)
        return compile_function(src, Options("vector", argnums, is_tuple, kinds, arrays,
                                             trace=trace, values=items))[0].__ast_ad_source__
    except VectorModeError:
        return None


def _what_to_generate(fn, cli_mode, argnums, at, given_kinds, trace=False, checkpoint=None):
    """The source to compile and the Options for `--mode`, `--argnums`, `--at`, `--kinds`."""
    params = _positional(fn)
    if not params:
        raise ADError(f"{fn.__name__} has no positional parameters to differentiate")
    if argnums is None:
        argnums = tuple(range(len(params)))
    mode = {"reverse": "value_and_grad", "grad": "grad", "forward": "jvp", "jacfwd": "jvp",
            "hessian": "grad"}[cli_mode]
    kinds = _kinds(fn, params, at, given_kinds)
    options = Options(mode, argnums, len(argnums) > 1 or mode == "jvp", kinds, trace=trace,
                      checkpoint=checkpoint)
    src = get_source(fn)
    if cli_mode == "hessian":  # forward mode over the generated gradient
        gradient = compile_function(src, options)[0]
        src = get_source(gradient)
        options = Options("jvp", argnums, True, kinds, trace=trace)
    return src, options


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


def _add_trace(commands) -> None:
    from .tracing import FORMATS, ITERATIONS, MODES

    trace = commands.add_parser(
        "trace", help="print the evaluation trace of a function at a point",
        description="Import FILE and print the evaluation trace of a function at the "
        "arguments --at: every primitive with its value, computed by the code ast-ad "
        "generates, with the tangents (--mode forward) or the adjoints (--mode reverse).")
    trace.add_argument("file", help="a Python file; it is imported, so its top-level code runs")
    trace.add_argument("--function", "-f", help="the function (needed if FILE defines more "
                       "than one)")
    trace.add_argument("--at", required=True, help="the arguments as Python literals, e.g. "
                       "'2, 5' (an int is a float where it is differentiated)")
    trace.add_argument("--mode", choices=MODES, default="primal",
                       help="primal: the forward primal trace (default); forward: with the "
                       "tangent trace beside it; reverse: with the adjoint trace")
    trace.add_argument("--seed", help="--mode forward: the tangents of the differentiated "
                       "arguments, e.g. '0, 1' (default: along the first one)")
    trace.add_argument("--argnums", help="comma-separated positions to differentiate "
                       "(default: the float arguments, or every number if none is a float)")
    trace.add_argument("--format", choices=FORMATS, default="text", help="text (default), "
                       "markdown or csv")
    trace.add_argument("--iterations", type=int, default=ITERATIONS,
                       help=f"loop iterations to list (default {ITERATIONS})")


def _trace(args) -> int:
    from .tracing import seed_problem, trace

    argnums = _parse_argnums(args.argnums)
    at = _parse_at(args.at)
    seed = _parse_at(args.seed, "--seed")
    if seed is not None and args.mode != "forward":
        raise UsageError(f"--seed is for --mode forward, not --mode {args.mode}")
    if args.iterations < 0:
        raise UsageError(f"--iterations takes a count >= 0, not {args.iterations}")
    module = _load(Path(args.file))
    functions = _functions(module, args.function, args.file)
    if len(functions) != 1:
        names = ", ".join(f.__name__ for f in functions) or "none"
        raise UsageError(f"--function is needed: {args.file} defines {names}")
    fn = functions[0]
    _fit(fn, argnums, at, None)
    params = _positional(fn)
    if argnums is None:
        argnums = tuple(i for i, v in enumerate(at) if isinstance(v, float) or
                        getattr(v, "dtype", None) is not None and v.dtype.kind == "f") or \
            tuple(i for i, v in enumerate(at) if type(v) is int)
    if not argnums:
        raise UsageError(f"--at gives no number to differentiate ({', '.join(params)})")
    at = tuple(float(v) if i in argnums and type(v) is int else v for i, v in enumerate(at))
    for i in argnums:
        if not isinstance(at[i], float) and getattr(at[i], "dtype", None) is None:
            raise UsageError(f"--argnums {i}: {params[i]} = {at[i]!r} is not a number")
    if seed is not None:
        problem = seed_problem(at, argnums, seed, params)
        if problem:
            raise UsageError(f"--seed: {problem}")
    try:
        result = trace(fn, *at, mode=args.mode, seed=seed, argnums=argnums,
                       iterations=args.iterations)
    except ADError:
        raise
    except Exception as exc:  # the user's code failed at these arguments
        raise ADError(f"{fn.__name__} raised {type(exc).__name__} at --at {args.at}: {exc}") \
            from None
    print(result.format(args.format), end="")
    return 0


# -- ast-ad check: AD against finite differences for a range of steps


def _add_check(commands):
    check = commands.add_parser(
        "check", help="compare the gradient with finite differences",
        description="Print the gradient ast-ad computes for a scalar function at a point, "
        "its forward- and central-difference estimates for steps 1e-1 ... 1e-15, their "
        "errors against it, and the best step.")
    check.add_argument("file", help="a Python file; it is imported, so its top-level code runs")
    check.add_argument("--function", "-f", required=True, help="the function to check")
    check.add_argument("--at", required=True, help="the point, as Python literals, e.g. "
                       "'2.0, 5.0' or '[1.0, 2.0], 3.0'")
    check.add_argument("--argnums", help="comma-separated positions to differentiate with "
                       "respect to (default: every float argument)")
    check.add_argument("--plot", metavar="PNG", help="also draw error against step on "
                       "log-log axes into this file (needs matplotlib: "
                       "pip install 'ast-ad[plot]')")
    return check


def _check(args) -> int:
    import numpy as np

    from . import checks

    argnums = _parse_argnums(args.argnums)
    at = _parse_at(args.at)
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ADError("--plot needs matplotlib, which is not installed",
                          hint="pip install matplotlib (or pip install -e '.[plot]' in a "
                          "clone of ast-ad), or leave out --plot") from None
    module = _load(Path(args.file))
    (fn,) = _functions(module, args.function, args.file)
    _fit(fn, argnums, at, None)
    params = _positional(fn)
    if argnums is None:
        argnums = tuple(i for i, v in enumerate(at) if isinstance(v, float)
                        or getattr(v, "dtype", None) is not None and v.dtype.kind == "f")
        if not argnums:
            raise UsageError("--at gives no float argument to differentiate with respect to")
    result = checks.difference_table(fn, at, argnums)
    names = []
    for i in argnums:
        shape = getattr(at[i], "shape", None)
        names += [params[i]] if shape is None else \
            [f"{params[i]}[{', '.join(map(str, j))}]" for j in np.ndindex(shape)]
    print(f"{fn.__name__} at ({args.at})")
    print(checks.format_table(result, names), end="")
    if args.plot:
        point = f" at ({args.at})" if len(args.at) <= 30 else ""
        checks.plot_errors(result, args.plot,
                           f"finite differences against AD: {fn.__name__}{point}")
        print(f"plot: {args.plot}")
    return 0


# -- ast-ad export: the generated code as a standalone module


def _add_export(commands):
    export = commands.add_parser(
        "export", help="write the generated derivative as a standalone module",
        description="Write the code ast-ad generates for a function (as `ast-ad show` prints "
        "it), with the callees' generated functions and the runtime helpers they use, as a "
        "module that does not import ast_ad.")
    export.add_argument("file", help="a Python file; it is imported, so its top-level code runs")
    export.add_argument("--function", "-f", required=True, help="the function to export")
    export.add_argument("--mode", choices=["reverse", "grad", "forward", "hessian"],
                        default="reverse", help="as for `ast-ad show` (default: reverse)")
    export.add_argument("--argnums", help="comma-separated positions to differentiate with "
                        "respect to (default: all positional parameters)")
    export.add_argument("--kinds", help="argument kinds, comma-separated: scalar, array or "
                        "generic (default: from type annotations, else generic)")
    export.add_argument("--at", help="example arguments as a Python literal; their kinds "
                        "select the code")
    export.add_argument("-o", "--output", metavar="OUT.py",
                        help="the file to write (default: print the module)")
    return export


def _export(args) -> int:
    from . import __version__
    from .export import export_module

    argnums = _parse_argnums(args.argnums)
    at = _parse_at(args.at)
    given_kinds = _parse_kinds(args.kinds)
    module = _load(Path(args.file))
    (fn,) = _functions(module, args.function, args.file)
    _fit(fn, argnums, at, given_kinds)
    src, options = _what_to_generate(fn, args.mode, argnums, at, given_kinds)
    generated = compile_function(src, options)[0]
    params = _positional(fn)
    nums = options.argnums
    kinds = ", ".join(f"{p}: {'generic' if k == OTHER else k}"
                      for p, k in zip(params, options.kinds))
    what = {"reverse": "value and gradient (reverse mode)", "grad": "gradient (reverse mode)",
            "forward": "value and directional derivative (forward mode, jvp)",
            "hessian": "gradient and its directional derivative (forward over reverse)"}
    header = [
        f"Generated by ast-ad {__version__} (ast-ad export); do not edit, export again.",
        f"Source: {fn.__module__}.{fn.__qualname__} in {Path(args.file).name}, line "
        f"{fn.__code__.co_firstlineno}",
        f"Mode: {args.mode}: {what[args.mode]}, with respect to "
        f"{', '.join(params[i] for i in nums)} (argnums {','.join(map(str, nums))})",
        f"Argument kinds: {kinds}",
        f"Defines {generated.__name__}; needs no ast_ad.",
    ]
    text = export_module(generated, header)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}: {generated.__name__}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
