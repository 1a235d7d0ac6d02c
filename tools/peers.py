"""Run peers' public test material through ast-ad and count what it gets right.

    python tools/peers.py --tangent /work/peers/tangent --autograd /work/peers/autograd [--details]

The checkouts are read where they lie; nothing of theirs is copied into this
repository. Every case is differentiated with ast-ad only:

- google/tangent: the catalog tests/functions.py. Each function whose
  parameters follow tangent's naming (a, b, c: floats; x: a vector; sqm: a
  square matrix; n: a small int; boolean) is called at a few argument sets.
- HIPS/autograd: the test modules (test_numpy.py, test_systematic.py, ...)
  are loaded with `autograd.numpy` / `autograd.scipy` redirected to NumPy and
  SciPy, and `check_grads` / `combo_check` replaced by a recorder that runs
  ast-ad on the function. `grad`, `value_and_grad`, `jacobian`, `deriv` and
  `elementwise_grad` become ast-ad's, so a test asserting on their results
  checks ast-ad against autograd's own expected values.

Each case is checked in reverse mode (value_and_grad for a scalar output, vjp
otherwise, against central differences of <u, f>) and forward mode (jvp against
a central difference along a random direction), and classified: ok, wrong (a
value or derivative differs), crash (an exception that is not an ADError),
rejected (an ADError; counted per class), complex (a complex input or output:
ast-ad is expected to reject those), skipped (the peer's own code fails without
autograd, or the case does not fit).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.abc
import importlib.util
import inspect
import itertools
import linecache
import os
import re
import signal
import sys
import tempfile
import traceback
import types
import warnings
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ast_ad  # noqa: E402
from ast_ad.errors import ADError  # noqa: E402

STATUSES = ("ok", "wrong", "crash", "rejected", "complex", "skipped")
AUTOGRAD_MODULES = ["test_numpy.py", "test_systematic.py", "test_scalar_ops.py", "test_linalg.py",
                    "test_binary_ops.py", "test_truediv.py", "test_logic.py", "test_builtins.py",
                    "test_scipy.py", "test_fft.py", "test_jacobian.py", "test_list.py",
                    "test_tuple.py", "test_dict.py", "test_misc.py", "test_direct.py",
                    "test_wrappers.py", "test_core.py", "test_graphs.py"]
EPS = 1e-6
RTOL = 1e-4
ATOL = 1e-5
TIMEOUT = 30  # seconds per case


@dataclass
class Case:
    suite: str
    where: str  # file:line of the test (or of the function in tangent's catalog)
    name: str
    status: str = "ok"
    error: str = ""  # the ADError class, or the exception class
    message: str = ""
    modes: dict = field(default_factory=dict)


class Report:
    def __init__(self):
        self.cases: list[Case] = []
        self.notes: list[str] = []  # modules that could not be loaded, tests that broke

    def add(self, case: Case) -> Case:
        self.cases.append(case)
        return case


class _Timeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds):
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum, frame):
        raise _Timeout(f"no result after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# -- values ------------------------------------------------------------------------


def _is_complex(v) -> bool:
    if isinstance(v, (list, tuple)):
        return any(_is_complex(e) for e in v)
    return isinstance(v, complex) or np.iscomplexobj(v) and isinstance(v, (np.ndarray,
                                                                           np.generic))


def _is_float(v) -> bool:
    if isinstance(v, np.ndarray):
        return v.dtype.kind == "f"
    return isinstance(v, (float, np.floating))


def _describe(v) -> str:
    if isinstance(v, np.ndarray):
        return f"{v.dtype.name}{list(v.shape)}"
    if isinstance(v, (list, tuple)):
        inner = ", ".join(_describe(e) for e in v[:4])
        return f"{type(v).__name__}[{inner}{', ...' if len(v) > 4 else ''}]"
    if isinstance(v, (bool, int, float, complex, np.generic)):
        return repr(v)
    return type(v).__name__


def _flat(value) -> list:
    """The output as a list of float arrays (tuples and lists flattened)."""
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _flat(v)]
    return [np.asarray(value, dtype=float)]


def _copy(value):
    """A fresh copy of an argument: functions may write into their array arguments."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


def _shift(x, t, v):
    if isinstance(x, np.ndarray):
        return x + t * v
    return float(x + t * v)


def _close(actual, expected) -> bool:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        return False
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    return bool(np.allclose(actual, expected, rtol=RTOL, atol=ATOL * scale, equal_nan=True))


def _summary(x) -> str:
    text = np.array2string(np.asarray(x, dtype=float), precision=5, threshold=6)
    return " ".join(text.split())


# -- one case -------------------------------------------------------------------------


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text[:300]


def _wrapper(fn, nargs: int, kwargs: dict, tmp: Path):
    """A Python function with source on disk calling `fn` with the keyword arguments fixed.

    ast-ad reads source: a NumPy function, an operator or a call with keyword
    arguments becomes `def case(x0, ...): return FN(x0, ..., axis=K_axis)`.
    """
    params = ", ".join(f"x{i}" for i in range(nargs))
    keywords = "".join(f", {k}=K_{k}" for k in kwargs)
    name = f"peers_case_{next(_COUNTER)}"
    path = tmp / f"{name}.py"
    path.write_text(f"def case({params}):\n    return FN({params}{keywords})\n")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.FN = fn
    for k, v in kwargs.items():
        setattr(module, f"K_{k}", v)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module.case


_COUNTER = itertools.count()


def _needs_wrapper(fn) -> bool:
    return not isinstance(fn, types.FunctionType) and not hasattr(fn, "__ast_ad__")


def check_case(case: Case, fn, args: tuple, kwargs: dict, argnums, tmp: Path,
               second_order: bool = False) -> Case:
    """Differentiate fn(*args, **kwargs) with ast-ad with respect to `argnums` and classify."""
    args = tuple(args)
    if argnums is None:
        argnums = tuple(i for i, a in enumerate(args) if _is_float(a))
    argnums = tuple(argnums)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            value = fn(*_copy(args), **kwargs)
        except Exception as error:  # the peer's function itself fails on plain NumPy
            case.status, case.error, case.message = "skipped", type(error).__name__, _short(error)
            return case
        if _is_complex(args) or _is_complex(value):
            return _check_complex(case, fn, args, kwargs, argnums, tmp)
        if not argnums or not all(_is_float(args[i]) for i in argnums):
            case.status, case.message = "skipped", "no float argument to differentiate"
            return case
        try:
            outputs = _flat(value)
        except (TypeError, ValueError):
            case.status, case.message = "skipped", f"output is {type(value).__name__}"
            return case
        target = fn
        if kwargs or _needs_wrapper(fn):
            target = _wrapper(fn, len(args), kwargs, tmp)
        rng = np.random.default_rng(zlib.crc32(case.where.encode() + case.name.encode()))
        results = {}
        for mode, run in (("reverse", _check_reverse), ("forward", _check_forward)):
            try:
                with _time_limit(TIMEOUT):
                    results[mode] = run(target, args, argnums, value, outputs, rng)
            except ADError as error:
                results[mode] = ("rejected", type(error).__name__, _short(error))
            except Exception as error:
                results[mode] = ("crash", type(error).__name__, _crash_message(error))
        if second_order and results["reverse"][0] == "ok" and np.ndim(value) == 0 \
                and not isinstance(value, (tuple, list)):
            try:
                with _time_limit(TIMEOUT):
                    results["second"] = _check_second(target, args, argnums, rng)
            except ADError as error:
                results["second"] = ("rejected", type(error).__name__, _short(error))
            except Exception as error:
                results["second"] = ("crash", type(error).__name__, _crash_message(error))
    case.modes = results
    for status in ("wrong", "crash", "rejected", "skipped"):
        for mode, result in results.items():
            if result[0] == status:
                case.status, case.error = status, result[1]
                case.message = f"{mode}: {result[2]}"
                return case
    case.status = "ok"
    return case


def _crash_message(error: BaseException) -> str:
    """The message and the innermost frame inside ast_ad (or generated code) that raised."""
    frames = traceback.extract_tb(error.__traceback__)
    inside = [f for f in frames if "ast_ad" in f.filename or f.filename.startswith("<ast_ad")]
    where = ""
    if inside:
        f = inside[-1]
        where = f" [at {Path(f.filename).name if not f.filename.startswith('<') else f.filename}" \
                f":{f.lineno}]"
    return f"{_short(error)}{where}"


def _check_complex(case, fn, args, kwargs, argnums, tmp) -> Case:
    """ast-ad has no complex numbers: it must reject these, not return a number."""
    case.status = "complex"
    target = _wrapper(fn, len(args), kwargs, tmp) if kwargs or _needs_wrapper(fn) else fn
    nums = tuple(i for i in argnums if isinstance(args[i], (float, complex, np.ndarray,
                                                             np.generic)))
    if not nums:
        return case
    try:
        with _time_limit(TIMEOUT):
            ast_ad.jacobian(target, argnums=nums)(*_copy(args))
    except ADError as error:
        case.error, case.message = type(error).__name__, _short(error)
        return case
    except Exception as error:
        case.status, case.error, case.message = "crash", type(error).__name__, \
            "complex: " + _crash_message(error)
        return case
    case.status, case.error = "wrong", "NotRejected"
    case.message = "complex: a complex input or output was differentiated instead of rejected"
    return case


def _numeric_vjp(fn, args, argnums, cotangents, eps=EPS):
    """Central differences of <u, f(x)> with respect to each argument in argnums."""
    def inner(shifted):
        out = _flat(fn(*_copy(shifted)))
        return sum(float(np.sum(u * o)) for u, o in zip(cotangents, out))

    grads = []
    for i in argnums:
        x = args[i]
        if not isinstance(x, np.ndarray):
            plus = list(args)
            minus = list(args)
            plus[i], minus[i] = float(x + eps), float(x - eps)
            grads.append((inner(plus) - inner(minus)) / (2 * eps))
            continue
        g = np.zeros(x.shape)
        for index in np.ndindex(x.shape):
            p, m = x.copy(), x.copy()
            p[index] += eps
            m[index] -= eps
            plus, minus = list(args), list(args)
            plus[i], minus[i] = p, m
            g[index] = (inner(plus) - inner(minus)) / (2 * eps)
        grads.append(g)
    return grads


def _smooth(fn, args, argnums, cotangents, expected) -> bool:
    """Central differences at a 100 times larger step agree: no jump or kink near the point."""
    coarse = _numeric_vjp(fn, args, argnums, cotangents, eps=100 * EPS)
    return all(_close(c, e) for c, e in zip(coarse, expected))


def _check_reverse(fn, args, argnums, value, outputs, rng):
    scalar = not isinstance(value, (tuple, list)) and np.ndim(value) == 0
    if scalar:
        got_value, grads = ast_ad.value_and_grad(fn, argnums=argnums)(*_copy(args))
        cotangents = [np.asarray(1.0)]
        what = "value_and_grad"
    else:
        cot = [rng.normal(size=o.shape) for o in outputs]
        got_value, vjp_fn = ast_ad.vjp(fn, *_copy(args))
        structured = _restructure(value, cot)
        all_grads = vjp_fn(structured)
        grads = tuple(all_grads[i] for i in argnums)
        cotangents = cot
        what = "vjp"
    if not all(_close(a, b) for a, b in zip(_flat(got_value), outputs)):
        return ("wrong", "Value", f"{what}: value {_summary(_flat(got_value)[0])}, "
                                  f"expected {_summary(outputs[0])}")
    expected = _numeric_vjp(fn, args, argnums, cotangents)
    if not all(_close(g, e) for g, e in zip(grads, expected) if g is not None) \
            and not _smooth(fn, args, argnums, cotangents, expected):
        return ("skipped", "NotSmooth", "central differences depend on the step: not smooth here")
    for i, g, e in zip(argnums, grads, expected):
        if g is None or np.shape(g) != np.shape(e):
            return ("wrong", "Shape", f"{what}: derivative of argument {i} has shape "
                                      f"{np.shape(g) if g is not None else None}, "
                                      f"expected {np.shape(e)}")
        if not _close(g, e):
            return ("wrong", "Derivative", f"{what}: derivative of argument {i} is "
                                           f"{_summary(g)}, central differences give "
                                           f"{_summary(e)}")
    return ("ok", "", "")


def _restructure(value, flat):
    """The cotangents in the output's structure (tuples stay tuples, Python floats floats)."""
    parts = iter(flat)

    def build(v):
        if isinstance(v, (tuple, list)):
            return type(v)(build(e) for e in v)
        c = next(parts)
        if isinstance(v, np.ndarray):
            return c.astype(v.dtype) if v.dtype.kind == "f" else c
        return float(c)

    return build(value)


def _directional(fn, args, argnums, tangents, eps):
    """Central difference of fn along `tangents` (the arguments in argnums move)."""
    pairs = list(enumerate(zip(args, tangents)))
    plus = [_shift(a, eps, t) if i in argnums else a for i, (a, t) in pairs]
    minus = [_shift(a, -eps, t) if i in argnums else a for i, (a, t) in pairs]
    return [(p - m) / (2 * eps) for p, m in zip(_flat(fn(*_copy(plus))), _flat(fn(*_copy(minus))))]


def _check_forward(fn, args, argnums, value, outputs, rng):
    tangents = []
    for i, a in enumerate(args):
        if i in argnums:
            t = rng.normal(size=np.shape(a))
            tangents.append(float(t) if not isinstance(a, np.ndarray) else t)
        elif _is_float(a):
            tangents.append(0.0 if not isinstance(a, np.ndarray) else np.zeros(a.shape))
        else:
            tangents.append(np.zeros(np.shape(a)) if isinstance(a, np.ndarray) else 0.0)
    got_value, got_tangent = ast_ad.jvp(fn, _copy(args), _copy(tuple(tangents)))
    if not all(_close(a, b) for a, b in zip(_flat(got_value), outputs)):
        return ("wrong", "Value", f"jvp: value {_summary(_flat(got_value)[0])}, expected "
                                  f"{_summary(outputs[0])}")
    expected = _directional(fn, args, argnums, tangents, EPS)
    got = _flat(got_tangent)
    if len(got) != len(expected):
        return ("wrong", "Shape", f"jvp: {len(got)} tangent outputs, expected {len(expected)}")
    if not all(_close(g, e) for g, e in zip(got, expected)) and not all(
            _close(c, e) for c, e in zip(_directional(fn, args, argnums, tangents, 100 * EPS),
                                         expected)):
        return ("skipped", "NotSmooth", "central differences depend on the step: not smooth here")
    for g, e in zip(got, expected):
        if not _close(g, e):
            return ("wrong", "Derivative", f"jvp: tangent {_summary(g)}, central differences "
                                           f"give {_summary(e)}")
    return ("ok", "", "")


def _check_second(fn, args, argnums, rng):
    """Hessian-vector products: jvp over ast-ad's gradient against differences of it."""
    g = ast_ad.grad(fn, argnums=argnums)
    tangents = [rng.normal(size=np.shape(a)) if i in argnums else np.zeros(np.shape(a))
                for i, a in enumerate(args)]
    tangents = [float(t) if not isinstance(a, np.ndarray) else t for a, t in zip(args, tangents)]
    _, hv = ast_ad.jvp(g, _copy(args), _copy(tuple(tangents)))
    expected = _directional(g, args, argnums, tangents, EPS)
    for h, e in zip(_flat(hv), expected):
        if not _close(h, e):
            return ("wrong", "Derivative", f"jvp(grad): {_summary(h)}, differences of the "
                                           f"gradient give {_summary(e)}")
    return ("ok", "", "")


# -- google/tangent ---------------------------------------------------------------------

TANGENT_SCALARS = [-1.5, -0.5, 0.1, 0.5, 2.0]


def _tangent_arguments(params, k: int, rng):
    """tangent's conftest names arguments: a, b, c floats; x a vector; sqm; n; boolean."""
    values = []
    for j, p in enumerate(params):
        if p in "abc" and len(p) == 1:
            values.append(TANGENT_SCALARS[(k + 2 * j) % len(TANGENT_SCALARS)])
        elif p == "x":
            values.append(rng.normal(size=(3, 5, 10)[k % 3]))
        elif p == "sqm":
            values.append(rng.normal(size=((1, 1), (5, 5), (3, 3))[k % 3]))
        elif p == "n":
            values.append((1, 2, 3)[k % 3])
        elif p in ("boolean", "boolean1", "boolean2"):
            values.append(bool((k + j) % 2))
        else:
            return None
    return tuple(values)


def run_tangent(checkout: Path, report: Report, tmp: Path, second_order=False):
    tests = checkout / "tests"
    path = tests / "functions.py"
    stub = types.ModuleType("tangent")  # functions.py imports tangent for insert_grad_of

    @contextlib.contextmanager
    def insert_grad_of(*_):
        yield []

    stub.insert_grad_of = insert_grad_of
    stub.trace = lambda fn=None, **_: fn if fn is not None else (lambda f: f)
    saved = {k: sys.modules.get(k) for k in ("tangent", "tensorflow")}
    sys.modules["tangent"] = stub
    sys.modules["tensorflow"] = None  # functions.py tries tensorflow and falls back
    try:
        spec = importlib.util.spec_from_file_location("tangent_functions", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["tangent_functions"] = module
        spec.loader.exec_module(module)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    rng = np.random.default_rng(0)
    for name, fn in vars(module).items():
        if not isinstance(fn, types.FunctionType) or fn.__module__ != module.__name__:
            continue
        params = list(inspect.signature(fn).parameters)
        line = fn.__code__.co_firstlineno
        where = f"{path.relative_to(checkout)}:{line}"
        if not params or _tangent_arguments(params, 0, rng) is None:
            report.add(Case("tangent", where, name, "skipped",
                            message=f"parameters {params} are not in tangent's naming scheme"))
            continue
        seen = set()
        for k in range(3):
            args = _tangent_arguments(params, k, rng)
            key = tuple(_describe(a) if isinstance(a, np.ndarray) else a for a in args)
            if key in seen:
                continue
            seen.add(key)
            label = f"{name}({', '.join(_describe(a) for a in args)})"
            case = Case("tangent", where, label)
            try:
                check_case(case, fn, args, {}, None, tmp, second_order)
            except _Timeout as error:
                case.status, case.error, case.message = "crash", "Timeout", str(error)
            report.add(case)


# -- HIPS/autograd ----------------------------------------------------------------------


class _Redirect(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`autograd.numpy[.x]` is numpy[.x], `autograd.scipy[.x]` is scipy[.x]."""

    TARGETS = {"autograd.numpy": "numpy", "autograd.scipy": "scipy"}

    def find_spec(self, fullname, path=None, target=None):
        for prefix in self.TARGETS:
            if fullname == prefix or fullname.startswith(prefix + "."):
                if self._target(fullname) is None:
                    return None
                return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def _target(self, fullname):
        """The real module, or an object such as scipy.stats.multivariate_normal."""
        for prefix, real in self.TARGETS.items():
            if fullname == prefix or fullname.startswith(prefix + "."):
                name = real + fullname[len(prefix):]
                try:
                    return importlib.import_module(name)
                except ImportError:
                    parent, _, attr = name.rpartition(".")
                    try:
                        return getattr(importlib.import_module(parent), attr, None)
                    except ImportError:
                        return None
        return None

    def create_module(self, spec):
        return self._target(spec.name)

    def exec_module(self, module):
        pass


class _Abort(Exception):
    """Stops a peer's test after ast-ad rejected or crashed on one of its calls."""


def _unwrap(fn):
    """ast-ad's function behind one of the fake autograd's grad/jacobian/... wrappers."""
    return getattr(fn, "__peers_transformed__", fn)


class Recorder:
    """The fake `autograd` package: check_grads and grad run ast-ad and record cases."""

    def __init__(self, report: Report, checkout: Path, tmp: Path, second_order: bool):
        self.report, self.checkout, self.tmp = report, checkout, tmp
        self.second_order = second_order
        self.test_file: Path | None = None
        self.pending: list[Case] = []

    # -- where a call comes from
    def _where(self) -> tuple[str, str]:
        frame = inspect.currentframe()
        test_frame = None
        while frame is not None:
            if self.test_file and Path(frame.f_code.co_filename) == self.test_file:
                test_frame = frame
            frame = frame.f_back
        if test_frame is None:
            return "?", "?"
        rel = self.test_file.relative_to(self.checkout)
        return f"{rel}:{test_frame.f_lineno}", test_frame.f_code.co_name

    @staticmethod
    def _fn_name(fn) -> str:
        if isinstance(fn, types.FunctionType):
            return f"{fn.__name__}@{fn.__code__.co_firstlineno}"
        return getattr(fn, "__name__", type(fn).__name__)

    # -- check_grads / combo_check
    def check_grads(self, fun, argnum=0, *_, order=2, **__):
        nums = argnum if isinstance(argnum, (tuple, list)) else (argnum,)
        second_order = self.second_order and order >= 2  # order=1: e.g. at a kink of abs

        def run(*args, **kwargs):
            where, test = self._where()
            label = (f"{test}: {self._fn_name(fun)}({', '.join(_describe(a) for a in args)}"
                     f"{''.join(f', {k}={v!r}' for k, v in kwargs.items())})")
            case = Case("autograd", where, label)
            try:
                check_case(case, _unwrap(fun), args, kwargs, tuple(nums), self.tmp,
                           second_order)
            except _Timeout as error:
                case.status, case.error, case.message = "crash", "Timeout", str(error)
            self.report.add(case)

        return run

    def combo_check(self, fun, *args, **kwargs):
        def run(*arg_lists, **kwarg_lists):
            pairs = [[(k, v) for v in vs] for k, vs in kwarg_lists.items()]
            for combo in itertools.product(*arg_lists):
                for kw in itertools.product(*pairs):
                    self.check_grads(fun, *args, **kwargs)(*combo, **dict(kw))

        return run

    # -- grad and friends: ast-ad's, results checked by the test's own asserts
    def _direct(self, make, fun, argnum):
        nums = tuple(argnum) if isinstance(argnum, (tuple, list)) else argnum
        target = _unwrap(fun)
        if _needs_wrapper(target):
            target = _wrapper(target, 1 if isinstance(nums, int) else max(nums) + 1, {},
                              self.tmp)
        try:
            transformed = make(target, argnums=nums)
        except ADError as error:  # grad(f) itself rejects f: recorded when it is called
            refused = error.with_traceback(None)

            def transformed(*args, **kwargs):
                raise refused

        def call(*args, **kwargs):
            where, test = self._where()
            label = f"{test}: {make.__name__}({self._fn_name(fun)})" \
                    f"({', '.join(_describe(a) for a in args)})"
            case = self.report.add(Case("autograd", where, label))
            if _is_complex(args):
                case.status = "complex"
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    _unwrap(fun)(*_copy(args), **kwargs)
            except Exception as error:  # the peer's function fails on plain NumPy
                case.status, case.error, case.message = "skipped", type(error).__name__, \
                    _short(error)
                raise _Abort() from None
            try:
                with _time_limit(TIMEOUT), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = transformed(*args, **kwargs)
            except ADError as error:
                if case.status != "complex":
                    case.status = "rejected"
                case.error, case.message = type(error).__name__, "direct: " + _short(error)
                raise _Abort() from None
            except Exception as error:
                case.status, case.error = "crash", type(error).__name__
                case.message = "direct: " + _crash_message(error)
                raise _Abort() from None
            self.pending.append(case)
            return result

        call.__peers_transformed__ = transformed  # check_grads(grad(f)) differentiates this
        return call

    def module(self) -> types.ModuleType:
        ag = types.ModuleType("autograd")
        ag.__path__ = []

        def grad(fun, argnum=0):
            return self._direct(ast_ad.grad, fun, argnum)

        def value_and_grad(fun, argnum=0):
            return self._direct(ast_ad.value_and_grad, fun, argnum)

        def jacobian(fun, argnum=0):
            return self._direct(ast_ad.jacobian, fun, argnum)

        def elementwise_grad(fun, argnum=0):
            def vjp_ones(f, argnums):
                def inner(*args):
                    out, back = ast_ad.vjp(f, *args)
                    return back(np.ones_like(out))[argnums]
                inner.__name__ = "elementwise_grad"
                return inner
            return self._direct(vjp_ones, fun, argnum)

        # autograd's container constructors are the builtins once nothing is traced
        ag.tuple, ag.list, ag.dict, ag.isinstance = tuple, list, dict, isinstance
        grad.__name__ = "grad"
        ag.grad, ag.value_and_grad, ag.jacobian = grad, value_and_grad, jacobian
        ag.deriv, ag.elementwise_grad = grad, elementwise_grad
        util = types.ModuleType("autograd.test_util")
        util.check_grads, util.combo_check = self.check_grads, self.combo_check

        def scalar_close(a, b):
            return abs(a - b) < 1e-6 or abs(a - b) / abs(a + b) < 1e-6

        util.scalar_close = scalar_close
        ag.test_util = util
        return ag, util

    # -- running one test module
    def run_module(self, path: Path):
        self.test_file = path
        name = f"autograd_peer_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spec.loader.exec_module(module)
        except Exception as error:
            self.report.notes.append(f"{path.name}: not loaded ({type(error).__name__}: "
                                     f"{_short(error)})")
            return
        for test_name, test in list(vars(module).items()):
            if not test_name.startswith("test_") or not isinstance(test, types.FunctionType):
                continue
            for kwargs in _parametrizations(test):
                self._run_test(path, test_name, test, kwargs)

    def _run_test(self, path, test_name, test, kwargs):
        self.pending = []
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                test(**kwargs)
        except _Abort:
            pass
        except AssertionError as error:
            tb = traceback.extract_tb(error.__traceback__)
            line = next((f.lineno for f in reversed(tb) if Path(f.filename) == path), "?")
            if self.pending:  # the test's own expected value disagrees with ast-ad's result
                case = self.pending[-1]
                case.status, case.error = "wrong", "AssertionError"
                case.message = f"direct: the test's assert at line {line} failed: " \
                               f"{_short(error) or linecache.getline(str(path), line).strip()}"
            else:
                self.report.notes.append(f"{path.name}:{line} {test_name}: assertion outside "
                                         f"ast-ad ({_short(error)})")
        except (Exception, _pytest_failure()) as error:  # pytest.fail is a BaseException
            tb = traceback.extract_tb(error.__traceback__)
            line = next((f.lineno for f in reversed(tb) if Path(f.filename) == path), "?")
            for case in self.pending:  # their results were not checked: do not count them
                case.status, case.message = "skipped", "the test failed afterwards"
            self.report.notes.append(f"{path.name}:{line} {test_name}: the test needs autograd "
                                     f"({type(error).__name__}: {_short(error)})")
        self.pending = []


def _pytest_failure():
    try:
        from _pytest.outcomes import OutcomeException
    except ImportError:
        return Exception
    return OutcomeException


def _parametrizations(test) -> list[dict]:
    """pytest.mark.parametrize marks, expanded (without importing pytest's machinery)."""
    marks = [m for m in getattr(test, "pytestmark", []) if getattr(m, "name", "") == "parametrize"]
    if not marks:
        needed = [p for p in inspect.signature(test).parameters.values()
                  if p.default is inspect.Parameter.empty]
        return [] if needed else [{}]
    combos = [{}]
    for mark in marks:
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        rows = []
        for v in values:
            v = getattr(v, "values", v)  # pytest.param
            rows.append(dict(zip(names, v if len(names) > 1 else (v,))))
        combos = [{**c, **r} for c in combos for r in rows]
    return combos


def run_autograd(checkout: Path, report: Report, tmp: Path, modules, second_order=False):
    tests = checkout / "tests"
    recorder = Recorder(report, checkout, tmp, second_order)
    ag, util = recorder.module()
    names = ["autograd", "autograd.test_util"]
    saved = {k: v for k, v in sys.modules.items()
             if k == "autograd" or k.startswith("autograd.") or k == "numpy_utils"}
    for k in saved:
        del sys.modules[k]
    sys.modules.update(dict(zip(names, (ag, util))))
    finder = _Redirect()
    sys.meta_path.insert(0, finder)
    sys.path.insert(0, str(tests))
    state = np.random.get_state()
    try:
        for name in modules:
            path = tests / name
            if path.exists():
                recorder.run_module(path)
            else:
                report.notes.append(f"{name}: not in the checkout")
    finally:
        np.random.set_state(state)
        sys.path.remove(str(tests))
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if k == "autograd" or k.startswith("autograd.")
                  or k == "numpy_utils"]:
            del sys.modules[k]
        sys.modules.update(saved)


# -- the report -------------------------------------------------------------------------


def _pattern(message: str) -> str:
    """A message with its numbers, file positions and shapes blanked: one line per root cause."""
    text = re.sub(r"\S+\.py:\d+:\d+: ", "", message)
    text = re.sub(r"\[[^\]]*\]", "[…]", text)
    text = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "N", text)
    text = re.sub(r"'[^']*'", "'…'", text) if "unexpected keyword" not in text else text
    return text[:160]


def format_report(report: Report, details: bool) -> str:
    lines = []
    counts = defaultdict(Counter)
    for case in report.cases:
        counts[case.suite][case.status] += 1
        group = case.suite + " " + case.where.split(":")[0].rsplit("/", 1)[-1]
        counts[group][case.status] += 1
    header = f"{'suite':<32}{'cases':>7}" + "".join(f"{s:>10}" for s in STATUSES)
    lines += [header, "-" * len(header)]
    suites = sorted({c.suite for c in report.cases})
    for suite in suites:
        for group in sorted(k for k in counts if k.startswith(suite + " ")):
            c = counts[group]
            lines.append(f"  {group:<30}{sum(c.values()):>7}"
                         + "".join(f"{c[s]:>10}" for s in STATUSES))
        c = counts[suite]
        lines.append(f"{suite + ' (total)':<32}{sum(c.values()):>7}"
                     + "".join(f"{c[s]:>10}" for s in STATUSES))
    lines.append("")
    rejected = [c for c in report.cases if c.status == "rejected"]
    if rejected:
        lines.append("rejected, per error class (top messages):")
        by_class = defaultdict(Counter)
        for c in rejected:
            by_class[c.error][_pattern(c.message)] += 1
        for cls, messages in sorted(by_class.items(), key=lambda kv: -sum(kv[1].values())):
            lines.append(f"  {cls}: {sum(messages.values())}")
            for message, n in messages.most_common(8):
                lines.append(f"    {n:>4}  {message}")
        lines.append("")
    bad = [c for c in report.cases if c.status in ("wrong", "crash")]
    if bad:
        lines.append("wrong and crash cases, grouped by message pattern:")
        groups = defaultdict(list)
        for c in bad:
            groups[(c.status, c.error, _pattern(c.message))].append(c)
        for (status, error, pattern), cases in sorted(groups.items(),
                                                      key=lambda kv: -len(kv[1])):
            lines.append(f"  {len(cases):>4} {status} {error}: {pattern}")
            lines.append(f"         e.g. {cases[0].where} {cases[0].name}")
        lines.append("")
    if details:
        lines.append("details:")
        for c in bad:
            lines.append(f"  {c.status:<6} {c.where} {c.name}\n         {c.error}: {c.message}")
        if report.notes:
            lines.append("notes (peer code that could not run without autograd):")
            lines += [f"  {n}" for n in report.notes]
    elif report.notes:
        lines.append(f"{len(report.notes)} notes (modules or tests that need autograd itself); "
                     f"--details lists them")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tangent", type=Path, help="a checkout of google/tangent")
    parser.add_argument("--autograd", type=Path, help="a checkout of HIPS/autograd")
    parser.add_argument("--modules", default=",".join(AUTOGRAD_MODULES),
                        help="autograd test modules to run (comma-separated file names)")
    parser.add_argument("--second-order", action="store_true",
                        help="also check jvp(grad(f)) on scalar cases whose gradient is right")
    parser.add_argument("--details", action="store_true",
                        help="list every wrong and crash case with its file:line and message")
    options = parser.parse_args(argv)
    if not options.tangent and not options.autograd:
        parser.error("give --tangent and/or --autograd")
    report = Report()
    with tempfile.TemporaryDirectory(prefix="ast_ad_peers_") as tmp:
        cwd = os.getcwd()
        try:
            if options.tangent:
                run_tangent(options.tangent.resolve(), report, Path(tmp), options.second_order)
            if options.autograd:
                run_autograd(options.autograd.resolve(), report, Path(tmp),
                             [m.strip() for m in options.modules.split(",") if m.strip()],
                             options.second_order)
        finally:
            os.chdir(cwd)
            for name in [k for k in sys.modules if k.startswith(("peers_case_", "autograd_peer_"))
                         or k == "tangent_functions"]:
                del sys.modules[name]
    print(format_report(report, options.details))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
