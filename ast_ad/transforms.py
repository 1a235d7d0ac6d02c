"""Forward mode and Jacobians (JAX conventions): jvp, vjp, jacfwd, jacrev, jacobian, hessian."""

from __future__ import annotations

import inspect

import numpy as np

from . import cache
from .api import check_argnums, check_differentiable, compile_function, grad
from .context import Options
from .errors import ADError
from .passes.kinds import kind_of_value
from .pipeline import check
from .source import describe, get_source


def _compile(fun, mode: str, argnums: tuple, values: tuple):
    """The generated functions for `fun` (or for the code ast-ad made for it) at these values."""
    state = getattr(fun, "__ast_ad__", None)
    target = state.compile_for(values, {}) if state is not None else fun
    kinds = tuple(kind_of_value(v) for v in values)
    arrays = tuple((v.dtype.name, v.shape) if isinstance(v, np.ndarray) else None
                   for v in values)
    key = (mode, argnums, kinds, arrays, getattr(target, "__code__", None))
    with cache.LOCK:
        found = cache.lookup(target, "transforms", key)  # None if what it assumed changed
        if found is not None:
            return found
        src = get_source(target)
        if state is None:
            check(src)
        for i in argnums:
            check_differentiable(values[i], i, _param_names(target)[i], fun, src.location)
        functions = compile_function(src, Options(mode, argnums, True, kinds, arrays))
        cache.store(target, "transforms", key, functions,
                    getattr(functions[0], "__ast_ad_deps__", ()))
        return functions


def _param_names(fn) -> list[str]:
    return [p.name for p in inspect.signature(fn, follow_wrapped=False).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def jvp(fun, primals, tangents):
    """(f(*primals), the derivative of f at `primals` in the direction `tangents`).

    Forward mode: one pass computes the value and the directional derivative.
    `primals` and `tangents` are tuples with one entry per positional argument;
    the tangents of arguments that are not floats are ignored.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ADError(f"jvp got {len(primals)} primal(s) but {len(tangents)} tangent(s)",
                      hint="give one tangent per primal")
    defaults = _defaults_after(fun, len(primals))
    # The generated function takes every parameter before the tangents: pass the defaults.
    primals, tangents = primals + defaults, tangents + tuple(0.0 for _ in defaults)
    nums = _float_positions(primals)
    for i in nums:
        if getattr(primals[i], "shape", ()) != getattr(tangents[i], "shape", ()):
            raise ADError(f"jvp: tangent {i} has shape {np.shape(tangents[i])}, but its primal "
                          f"has shape {np.shape(primals[i])}",
                          hint="tangents have their primals' shapes")
    try:
        (fn,) = _compile(fun, "jvp", nums, primals)
    except ADError as error:
        raise error.with_traceback(None) from None
    return fn(*primals, *[tangents[i] for i in nums])


def _defaults_after(fun, count: int) -> tuple:
    """The default values of the positional parameters after the first `count`."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return ()
    rest = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][count:]
    if not rest or any(p.default is p.empty for p in rest):
        return ()
    return tuple(p.default for p in rest)


def _float_positions(values) -> tuple:
    """Positions of the values that carry derivatives: floats and float arrays."""
    return tuple(i for i, v in enumerate(values)
                 if isinstance(v, (float, np.floating)) or
                 isinstance(v, np.ndarray) and v.dtype.kind == "f")


def vjp(fun, *primals):
    """(f(*primals), vjp_fn): vjp_fn(cotangent) returns one cotangent per primal (a tuple).

    Reverse mode: the forward pass runs once here; vjp_fn runs the backward pass
    and can be called any number of times. Arguments that are not floats (ints,
    strings...) get None.
    """
    nums = _float_positions(primals)
    try:
        forward, backward = _compile(fun, "vjp", nums, primals)
    except ADError as error:
        raise error.with_traceback(None) from None
    value, saved = forward(*primals)
    mutated = getattr(backward, "__ast_ad_mutated__", ())

    def vjp_fn(cotangent):
        if _structure(cotangent) != _structure(value):
            raise ADError(f"vjp_fn: the cotangent has shape {_structure(cotangent)}, but the "
                          f"output has shape {_structure(value)}",
                          hint="cotangents have the output's shape")
        fresh = saved
        if mutated:  # the backward pass pops and restores: give it its own copies
            fresh = tuple(_copy(v) if i in mutated else v for i, v in enumerate(saved))
        grads = dict(zip(nums, backward(fresh, cotangent)))
        return tuple(grads.get(i) for i in range(len(primals)))  # None: not differentiable

    return value, vjp_fn


def _copy(value):
    if isinstance(value, list):
        return list(value)
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def _structure(value):
    if isinstance(value, (tuple, list)):
        return tuple(_structure(v) for v in value)
    return np.shape(value)


def _outputs(value):
    """The output as a list of arrays, and a function rebuilding its structure."""
    if isinstance(value, tuple):
        return list(value), tuple
    return [value], lambda parts: parts[0]


def jacfwd(fun, argnums=0):
    """The Jacobian of `fun` by forward mode: one jvp per input element.

    The result has shape output.shape + input.shape (a tuple over argnums for a
    tuple argnums, over outputs for a tuple-valued function).
    """
    params = _signature_params(fun)

    def jacobian_fn(*args):
        nums, is_tuple = check_argnums(argnums, params, fun, None)
        try:
            (fn,) = _compile(fun, "jvp", nums, args)
        except ADError as error:
            raise error.with_traceback(None) from None
        columns = {i: [] for i in nums}
        value = None
        for i in nums:
            x = args[i]
            for j in range(int(np.size(x))):
                tangents = [np.zeros(np.shape(args[k])) if k != i else _unit(x, j) for k in nums]
                value, tangent = fn(*args, *tangents)
                columns[i].append(tangent)
        outputs, rebuild = _outputs(value)
        per_output = []
        for o, out in enumerate(outputs):
            parts = []
            for i in nums:
                cols = [c[o] if isinstance(value, tuple) else c for c in columns[i]]
                stacked = np.stack([np.asarray(c, dtype=float) for c in cols], axis=-1)
                parts.append(stacked.reshape(np.shape(out) + np.shape(args[i])))
            per_output.append(tuple(parts) if is_tuple else parts[0])
        return rebuild(per_output)

    return jacobian_fn


def jacrev(fun, argnums=0):
    """The Jacobian of `fun` by reverse mode: one backward pass per output element."""
    params = _signature_params(fun)

    def jacobian_fn(*args):
        nums, is_tuple = check_argnums(argnums, params, fun, None)
        return _jacrev_at(fun, nums, is_tuple, args)

    return jacobian_fn


def _jacrev_at(fun, nums, is_tuple, args, prepared=None):
    try:
        forward, backward = prepared or _compile(fun, "vjp", nums, args)
    except ADError as error:
        raise error.with_traceback(None) from None
    value, saved = forward(*args)
    mutated = getattr(backward, "__ast_ad_mutated__", ())
    outputs, rebuild = _outputs(value)
    per_output = []
    for o, out in enumerate(outputs):
        rows = []
        for j in range(int(np.size(out))):
            cotangent = [np.zeros(np.shape(v)) if np.ndim(v) else 0.0 for v in outputs]
            cotangent[o] = _unit(out, j)
            fresh = tuple(_copy(v) if k in mutated else v for k, v in enumerate(saved))
            rows.append(backward(fresh, tuple(cotangent) if isinstance(value, tuple)
                                 else cotangent[0]))
        parts = []
        for k, i in enumerate(nums):
            stacked = np.stack([np.asarray(r[k], dtype=float) for r in rows], axis=0)
            parts.append(stacked.reshape(np.shape(out) + np.shape(args[i])))
        per_output.append(tuple(parts) if is_tuple else parts[0])
    return rebuild(per_output)


def jacobian(fun, argnums=0):
    """The Jacobian, by forward mode when there are fewer inputs than outputs, else reverse."""
    params = _signature_params(fun)

    def jacobian_fn(*args):
        nums, is_tuple = check_argnums(argnums, params, fun, None)
        inputs = sum(int(np.size(args[i])) for i in nums)
        try:
            prepared = _compile(fun, "vjp", nums, args)
        except ADError as error:
            raise error.with_traceback(None) from None
        value, _ = prepared[0](*args)
        outputs, _ = _outputs(value)
        if sum(int(np.size(o)) for o in outputs) <= inputs:
            return _jacrev_at(fun, nums, is_tuple, args, prepared)
        return jacfwd(fun, argnums)(*args)

    return jacobian_fn


def hessian(fun, argnums=0):
    """The Hessian of a scalar function: forward mode over the generated gradient code."""
    return jacfwd(grad(fun, argnums), argnums)


def _unit(x, j: int):
    """The j-th basis vector shaped like x (a float for a scalar)."""
    if np.ndim(x) == 0:
        return 1.0
    e = np.zeros(np.shape(x))
    e.flat[j] = 1.0
    return e


def _signature_params(fun):
    try:
        return [p for p in inspect.signature(fun).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        raise ADError(f"cannot differentiate {describe(fun)}: no signature") from None


def generated_source(fun, *args, mode: str = "jvp", argnums=None, trace: bool = False) -> str:
    """The code ast-ad generates for `fun` at arguments like `args`, as text.

    mode: "jvp" (forward mode), "vjp", "grad", "value_and_grad", or "hessian"
    (forward mode over the generated gradient). argnums defaults to every float
    argument; `trace=True` keeps one primitive per line.
    """
    nums = _float_positions(args) if argnums is None else \
        (argnums if isinstance(argnums, tuple) else (argnums,))
    if mode not in ("jvp", "vjp", "grad", "value_and_grad", "hessian"):
        raise ADError(f"unknown mode {mode!r}",
                      hint="use jvp, vjp, grad, value_and_grad or hessian")
    kinds = tuple(kind_of_value(v) for v in args)
    arrays = tuple((v.dtype.name, v.shape) if isinstance(v, np.ndarray) else None for v in args)
    src = get_source(fun)
    check(src)
    if mode == "hessian":
        gradient = compile_function(src, Options("grad", nums, True, kinds, arrays))[0]
        src, mode = get_source(gradient), "jvp"
    options = Options(mode, nums, True if mode in ("jvp", "vjp") or len(nums) > 1 else False,
                      kinds, arrays, trace=trace)
    return compile_function(src, options)[0].__ast_ad_source__
