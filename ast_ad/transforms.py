"""Forward mode and Jacobians (JAX conventions): jvp, vjp, jacfwd, jacrev, jacobian, hessian."""

from __future__ import annotations

import functools
import inspect
import math
import types

import numpy as np

from . import cache
from .api import (
    Transformed,
    check_argnums,
    check_array_class,
    check_differentiable,
    check_no_container,
    dispatcher_of,
    grad,
    raise_own_error,
    self_class_of,
)
from .arraytypes import is_dask, is_protocol_array
from .compile import compile_function, note_user_line
from .context import Options
from .errors import ADError, Location, NonScalarOutputError, VectorModeError
from .pipeline import check
from .runtime import output_problem
from .source import bound_call, describe, get_source
from .trees import is_container, paths, tree_flatten, tree_structure, tree_unflatten
from .values import array_info, kind_of_value, of_arguments


def _compile(fun, mode: str, argnums: tuple, values: tuple, self_class=None, *,
             is_tuple: bool = True, inplace: bool = True):
    """The generated functions for `fun` (or for the code ast-ad made for it) at these values
    (`self_class`: see Options)."""
    state = getattr(fun, "__ast_ad__", None)
    bound = _bound_parts(fun)
    if bound is not None:  # obj.method (or a derivative of it): obj passed first, a constant
        function, obj, cls = bound
        functions = _compile(function, mode, tuple(i + 1 for i in argnums), (obj, *values),
                             cls)
        return (functools.partial(functions[0], obj), *functions[1:])
    if state is None and not isinstance(fun, types.FunctionType):
        get_source(fun)  # a builtin, ufunc or callable object: SourceUnavailableError
    if self_class is None and state is None and values:
        self_class = self_class_of(fun, values[0])  # jvp(Model.loss, (model, x), ...)
    target = state.compile_for(values, {}) if state is not None else fun
    if state is not None:
        check_no_container(describe(fun), argnums, values)
    kinds = tuple(kind_of_value(v) for v in values)
    arrays = tuple(array_info(v) for v in values)
    items = of_arguments(values, arrays)
    lazy = any(map(is_dask, values))
    key = (mode, argnums, kinds, arrays, items, lazy, getattr(target, "__code__", None),
           self_class, is_tuple, inplace)
    with cache.LOCK:
        found = cache.lookup(target, "transforms", key)  # None if what it assumed changed
        if found is not None:
            return found
        src = get_source(target)
        if state is None:
            check(src)
        names = _param_names(target)
        for i, value in enumerate(values):
            check_array_class(value, i, names[i] if i < len(names) else f"#{i}", fun,
                              src.location)
        for i in argnums:
            check_differentiable(values[i], i, names[i], fun, src.location)
        try:
            functions = compile_function(src, Options(mode, argnums, is_tuple, kinds, arrays,
                                                      values=items, lazy=lazy,
                                                      self_class=self_class,
                                                      inplace=inplace))
        except ADError:
            if state is not None:
                raise_own_error(target, values, {})
            raise
        cache.store(target, "transforms", key, functions,
                    getattr(functions[0], "__ast_ad_deps__", ()))
        return functions


def _bound_parts(fun):
    """(the class's function, obj, obj's class or None) for a bound method obj.method or
    grad(obj.method) (see api._through_method), else None. The object must still be a
    plain instance of its class: the code inlines the class's methods."""
    if isinstance(fun, types.MethodType) and isinstance(fun.__func__, types.FunctionType):
        function, obj = fun.__func__, fun.__self__
    elif getattr(getattr(fun, "__ast_ad__", None), "function", None) is not None:
        state = fun.__ast_ad__
        function, obj = state.function, state.obj
    else:
        return None
    if isinstance(obj, type):  # a classmethod: nothing inlined
        return function, obj, None
    cls = type(obj)
    hidden = {name for klass in cls.__mro__ for name, v in vars(klass).items()
              if isinstance(v, types.FunctionType)} & set(getattr(obj, "__dict__", ()))
    if hidden:
        raise ADError(f"cannot differentiate {describe(fun)}: the object's own attribute "
                      f"{sorted(hidden)[0]!r} hides a method of {cls.__name__}",
                      _location(fun), "differentiate a function of the object's values instead")
    return function, obj, cls


def _param_names(fn) -> list[str]:
    return [p.name for p in inspect.signature(fn, follow_wrapped=False).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _noted(fn):
    """Errors raised in generated code get a note naming the user's source line."""

    @functools.wraps(fn)
    def noted(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            note_user_line(error)
            raise

    return noted


@_noted
def jvp(fun, primals, tangents):
    """(f(*primals), the derivative of f at `primals` in the direction `tangents`).

    Forward mode: one pass computes the value and the directional derivative.
    `primals` and `tangents` are tuples with one entry per positional argument;
    the tangents of arguments that are not floats are ignored.
    """
    return jvp_at(fun, primals, tangents, None)


def jvp_at(fun, primals, tangents, only):
    """`jvp` with respect to the arguments at the positions `only` (None: every float
    argument); the others are constants, as check_grads' argnums= makes them."""
    fun = bound_call(fun)
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ADError(f"jvp got {len(primals)} primal(s) but {len(tangents)} tangent(s)",
                      hint="give one tangent per primal")
    self_class = None
    if isinstance(fun, types.MethodType) and isinstance(fun.__func__, types.FunctionType) \
            and not isinstance(fun.__self__, type):
        # jvp(obj.method, ...): the class's function, obj passed as self (a constant).
        self_class = type(fun.__self__)
        fun, primals, tangents = fun.__func__, (fun.__self__, *primals), (None, *tangents)
    nums = _only(_float_positions(fun, primals), only, 1 if self_class is not None else 0)
    args = _with_defaults(fun, primals)
    for i in nums:
        if is_container(primals[i]):
            _check_same_tree(primals[i], tangents[i], f"jvp: tangent {i}")
        elif getattr(primals[i], "shape", ()) != getattr(tangents[i], "shape", ()):
            raise ADError(f"jvp: tangent {i} has shape {np.shape(tangents[i])}, but its primal "
                          f"has shape {np.shape(primals[i])}",
                          hint="tangents have their primals' shapes")
    tangents = tuple(_float_tangents(primals[i], t) if i in nums and is_container(primals[i])
                     else t for i, t in enumerate(tangents))
    try:
        (fn,) = _compile(fun, "jvp", nums, args, self_class)
    except ADError as error:
        raise error.with_traceback(None) from None
    result = fn(*args, *[tangents[i] for i in nums])
    _check_output(fun, "jvp", result[0], False)
    return result


def _only(nums: tuple, only, shift: int) -> tuple:
    """The positions in `nums` that `only` keeps (positions counted without a bound
    method's `self`, which is `shift` arguments in front)."""
    return nums if only is None else tuple(i for i in nums if i - shift in only)


def _check_same_tree(primal, tangent, what: str) -> None:
    """A tangent (cotangent) of a container has its primal's structure and leaf shapes."""
    want, got = tree_structure(primal), tree_structure(tangent)
    if want != got:
        raise ADError(f"{what} has the structure {got!r}, but its primal has {want!r}",
                      hint="give tangents the structure and types of their primals")
    for (path, p), (_, t) in zip(paths(primal), paths(tangent)):
        if np.shape(p) != np.shape(t) and t is not None:
            raise ADError(f"{what}: the leaf {path} has shape {np.shape(t)}, but its primal "
                          f"has shape {np.shape(p)}", hint="tangents have their primals' shapes")


def _float_tangents(primal, tangent):
    """A container's tangent with zeros at its leaves that are not floats (an int, an int
    array: their tangents are ignored, as those of int arguments are)."""
    leaves, treedef = tree_flatten(primal)
    given = tree_flatten(tangent)[0]
    return tree_unflatten(treedef, [
        t if isinstance(p, (float, np.floating)) or isinstance(p, np.ndarray)
        and p.dtype.kind == "f" else np.zeros(np.shape(p)) if isinstance(p, np.ndarray)
        else 0.0 if isinstance(p, (int, np.integer)) else t for p, t in zip(leaves, given)])


def _float_positions(fun, values) -> tuple:
    """Positions of the values that carry derivatives: floats and float arrays. Complex
    values are rejected (not skipped: their derivative would be lost)."""
    nums = []
    for i, v in enumerate(values):
        array = isinstance(v, np.ndarray) or is_protocol_array(v)  # Dask, CuPy too
        if isinstance(v, (complex, np.complexfloating)) or array and v.dtype.kind == "c":
            check_differentiable(v, i, _param_name(fun, i), fun, _location(fun))
        if isinstance(v, (float, np.floating)) or array and v.dtype.kind == "f":
            nums.append(i)
        elif is_container(v) and any(
                isinstance(leaf, (float, np.floating)) or isinstance(leaf, np.ndarray)
                and leaf.dtype.kind in "fc" for leaf in tree_flatten(v)[0]):
            # a dict, list, tuple, NamedTuple or dataclass with floats (not axis=(0, 2))
            check_differentiable(v, i, _param_name(fun, i), fun, _location(fun))
            nums.append(i)
    return tuple(nums)


def _param_name(fun, i: int) -> str:
    try:
        return _param_names(fun)[i]
    except (TypeError, ValueError, IndexError):
        return f"#{i}"


def _location(fun) -> Location | None:
    """The first line of fun's definition, for errors about a call of it."""
    code = getattr(fun, "__code__", None)
    if code is None:
        state = getattr(fun, "__ast_ad__", None)
        return state.location if state is not None else None
    return Location(code.co_filename, code.co_firstlineno, 0)


def _with_defaults(fun, args) -> tuple:
    """The positional arguments with the defaults of the parameters `args` leaves out (the
    generated jvp takes every positional parameter, then the tangents)."""
    if isinstance(fun, types.MethodType) and isinstance(fun.__func__, types.FunctionType):
        return _with_defaults(fun.__func__, (fun.__self__, *args))[1:]
    if not isinstance(fun, types.FunctionType) or not fun.__defaults__:
        return tuple(args)
    params = _param_names(fun)
    defaults = dict(zip(params[len(params) - len(fun.__defaults__):], fun.__defaults__))
    missing = [p for p in params[len(args):] if p not in defaults]
    if missing:
        raise ADError(f"{describe(fun)} needs an argument for {', '.join(missing)}",
                      _location(fun), "pass one primal per parameter without a default")
    return tuple(args) + tuple(defaults[p] for p in params[len(args):])


def _check_output(fun, mode: str, value, real: bool) -> None:
    """jvp, vjp and the Jacobians differentiate numbers and arrays (the Jacobians: of
    floats), not None from a missing return, a str..."""
    parts = tree_flatten(value)[0] if real and is_container(value) else (value,)
    problem = next((p for p in (output_problem(v, real) for v in parts) if p), None)
    if problem is not None:
        raise NonScalarOutputError(f"{mode} needs {describe(fun)} to return floats or float "
                                   f"arrays, but it returned {problem}", _location(fun),
                                   "return the value to differentiate")


@_noted
def vjp(fun, *primals):
    """(f(*primals), vjp_fn): vjp_fn(cotangent) returns one cotangent per primal (a tuple).

    Reverse mode: the forward pass runs once here; vjp_fn runs the backward pass
    and can be called any number of times. Arguments that are not floats (ints,
    strings...) get None.
    """
    return vjp_at(fun, primals, None)


def vjp_at(fun, primals, only):
    """`vjp` with respect to the arguments at the positions `only` (None: every float
    argument); the others are constants and get None."""
    fun = bound_call(fun)
    nums = _only(_float_positions(fun, primals), only, 0)
    try:
        forward, backward = _compile(fun, "vjp", nums, _with_defaults(fun, primals))
    except ADError as error:
        raise error.with_traceback(None) from None
    value, saved = forward(*primals)
    _check_output(fun, "vjp", value, False)
    mutated = getattr(backward, "__ast_ad_mutated__", ())

    @_noted
    def vjp_fn(cotangent):
        if _structure(cotangent) != _structure(value):
            raise ADError(f"vjp_fn: the cotangent has shape {_structure(cotangent)}, but the "
                          f"output has shape {_structure(value)}",
                          hint="cotangents have the output's shape")
        grads = dict(zip(nums, _call_backward(backward, saved, mutated, cotangent)))
        return tuple(grads.get(i) for i in range(len(primals)))  # None: not differentiable

    return value, vjp_fn


def _call_backward(backward, saved, mutated, cotangent):
    """backward(saved, cotangent), callable again: the backward pass pops the saved stacks and
    puts back into the saved arrays what the forward pass overwrote, and a saved view of such
    an array (`t = y[1:3]` read before `y[1:3] = ...`) must see it put back. So the pass gets
    the saved lists and NumPy arrays themselves, not copies (a copy of `y` would not be what
    `t` views), and their contents are put back as they were once it returns."""
    if not mutated:
        return backward(saved, cotangent)
    fresh, kept = list(saved), []
    for i in mutated:
        value = saved[i]
        if isinstance(value, list):
            kept.append((value, list(value)))
        elif isinstance(value, np.ndarray):
            kept.append((value, value.copy()))
        else:  # (a Dask or CuPy array: a copy of its own)
            fresh[i] = _copy(value)
    try:
        return backward(tuple(fresh), cotangent)
    finally:
        for value, contents in kept:
            if isinstance(value, list):
                value[:] = contents
            else:
                value[...] = contents


def _copy(value):
    if isinstance(value, list):
        return list(value)
    if isinstance(value, np.ndarray) or is_protocol_array(value):
        return value.copy()
    return value


def _structure(value):
    if isinstance(value, (tuple, list)):
        return tuple(_structure(v) for v in value)
    if type(value) is dict:
        return {k: _structure(v) for k, v in value.items()}
    return np.shape(value)


def _outputs(value):
    """The output as a list of arrays, and a function rebuilding its structure."""
    if isinstance(value, tuple):
        return list(value), tuple
    return [value], lambda parts: parts[0]


def jacfwd(fun, argnums=0):
    """The Jacobian of `fun` by forward mode.

    The result has shape output.shape + input.shape (a tuple over argnums for a
    tuple argnums, over outputs for a tuple-valued function). One call of one
    generated function carries every direction (vector mode, docs/vector_mode.md);
    where a tangent rule cannot be batched, one jvp per input element.
    """
    fun = bound_call(fun)
    nums, is_tuple = _checked_argnums(fun, argnums)
    return _vector_transformation(fun, fun, nums, is_tuple, argnums, "jacfwd")


def _jacfwd_loop(fun, nums, is_tuple):
    """The Jacobian one forward pass per input element (what vector mode falls back to)."""

    @_noted
    def jacobian_fn(*args):
        args = _with_defaults(fun, args)
        if any(is_container(args[i]) for i in nums):
            return _tree_jacobian(fun, nums, is_tuple, args)
        try:
            (fn,) = _compile(fun, "jvp", nums, args)
        except ADError as error:
            raise error.with_traceback(None) from None
        columns = {i: [] for i in nums}
        value = None
        for i in nums:
            x = args[i]
            for j in range(_size(x)):
                tangents = [np.zeros(np.shape(args[k]), _float_dtype(args[k])) if k != i
                            else _unit(x, j) for k in nums]
                value, tangent = fn(*args, *tangents)
                columns[i].append(tangent)
        if value is None:
            value = fn(*args, *[np.zeros(np.shape(args[k]), _float_dtype(args[k]))
                                for k in nums])[0]
        _check_output(fun, "jacfwd", value, True)
        if _tree_output(value):
            return _tree_jacobian(fun, nums, is_tuple, args)
        outputs, rebuild = _outputs(value)
        per_output = []
        for o, out in enumerate(outputs):
            parts = []
            for i in nums:
                cols = [c[o] if isinstance(value, tuple) else c for c in columns[i]]
                stacked = np.stack([_float_array(c) for c in cols], axis=-1)
                parts.append(stacked.reshape(np.shape(out) + np.shape(args[i])))
            per_output.append(tuple(parts) if is_tuple else parts[0])
        return rebuild(per_output)

    return jacobian_fn


class _VectorState(Transformed):
    """jacfwd(f), hessian(f), jacobian(f): per argument kinds and shapes, the generated
    vector-mode function (the Jacobian in one call), or the per-direction loop where vector
    mode does not apply (`why` says why: a rule it cannot batch, a container...)."""

    def __init__(self, fun, target, argnums, kind: str):
        super().__init__(fun, "jacfwd", argnums)
        self.target = target  # what is differentiated: fun, or grad(fun) for a Hessian
        self.kind = kind
        self.why = None

    def _compile_for(self, args, kwargs):
        values = _with_defaults(self.fun, args)
        for i in self.argnums:
            if i < len(values):
                self.check_argument(i, values[i])
        generated, why = self.vector_function(values) if not kwargs else (None, "keywords")
        self.why = why
        if generated is None:
            generated = self.loop()
        self.latest = generated
        arrays = tuple(array_info(v) for v in values)
        checks = tuple((i, v.dtype, arrays[i][1]) for i, v in enumerate(values)
                       if arrays[i] is not None)
        if not any(is_container(v) for v in values):
            self.table[tuple(map(type, values))] = (generated, checks)
        self.remember(values, generated, arrays)
        return generated

    def vector_function(self, values):
        """(the generated vector-mode function, None) or (None, why not)."""
        nums = self.argnums
        if any(is_container(v) or is_protocol_array(v) and not isinstance(v, np.ndarray)
               for v in values):
            return None, "a container or a non-NumPy array argument"
        try:
            if self.kind == "jacrev":
                return _jacrev_vector(self.fun, nums, self.argnums_is_tuple, values), None
            (fn,) = _compile(self.target, "vector", nums, values, is_tuple=self.argnums_is_tuple)
        except VectorModeError as error:
            return None, str(error.message if hasattr(error, "message") else error)
        except ADError as error:  # the per-direction path raises it where the user sees it
            return None, str(error)
        if self.kind == "jacobian":
            inputs = sum(_size(values[i]) for i in nums)
            forward = _compile(self.fun, "vjp", nums, values)[0]
            outputs = sum(_size(o) for o in _outputs(forward(*values)[0])[0])
            if outputs < inputs:
                return None, "fewer outputs than inputs: reverse mode"
        return fn, None

    def loop(self):
        nums, is_tuple = self.argnums, self.argnums_is_tuple
        if self.kind == "hessian":
            return _jacfwd_loop(self.target, nums, is_tuple)
        if self.kind == "jacobian":
            return _jacobian_choice(self.fun, nums, is_tuple)
        if self.kind == "jacrev":
            return _jacrev_loop(self.fun, nums, is_tuple)
        return _jacfwd_loop(self.fun, nums, is_tuple)

    def compile_options(self, options: Options):
        raise ADError(f"{describe(self.fun)}: give example arguments to see the code of its "
                      f"{self.kind}", hint="ast_ad.generated_source(f, *args, mode='hessian')")


def _vector_transformation(fun, target, nums, is_tuple, argnums, kind: str):
    if getattr(fun, "__ast_ad_jacobian__", None) is not None:
        raise ADError(f"{kind} of a Jacobian or Hessian ast-ad made is not supported",
                      hint="take derivatives of the function itself (hessian(f), "
                           "jacfwd(grad(f)), grad(grad(f)))")
    if _bound_parts(fun) is not None:  # obj.method: one direction at a time (not batched)
        loops = {"hessian": lambda: _jacfwd_loop(target, nums, is_tuple),
                 "jacfwd": lambda: _jacfwd_loop(fun, nums, is_tuple),
                 "jacrev": lambda: _jacrev_loop(fun, nums, is_tuple),
                 "jacobian": lambda: _jacobian_choice(fun, nums, is_tuple)}
        return loops[kind]()
    try:
        state = _VectorState(fun, target, argnums, kind)
    except ADError as error:
        raise error.with_traceback(None) from None
    jacobian_fn = dispatcher_of(state)
    jacobian_fn.__ast_ad_jacobian__ = state
    return jacobian_fn


def jacrev(fun, argnums=0):
    """The Jacobian of `fun` by reverse mode: the forward pass, then every output element's
    backward pass at once (vector mode over the generated backward function, which is
    linear in its cotangent); where that does not apply, one backward pass per element."""
    fun = bound_call(fun)
    nums, is_tuple = _checked_argnums(fun, argnums)
    return _vector_transformation(fun, fun, nums, is_tuple, argnums, "jacrev")


def _jacrev_loop(fun, nums, is_tuple):
    @_noted
    def jacobian_fn(*args):
        args = _with_defaults(fun, args)
        if any(is_container(args[i]) for i in nums):
            return _tree_jacobian(fun, nums, is_tuple, args)
        return _jacrev_at(fun, nums, is_tuple, args)

    return jacobian_fn


def _jacrev_vector(fun, nums, is_tuple, values):
    """jacrev at arguments like `values` with one backward call for all the cotangents: the
    forward pass, then the vector-mode Jacobian of the backward function with respect to
    its cotangent (each block has the inputs' axes first: moved behind the output's). The
    pair is compiled without in-place accumulation: the backward function is then itself
    the code to differentiate, and reads the residuals in the order its forward saved them.
    VectorModeError if it does not apply (a tuple output, a backward pass that pops what
    it saved)."""
    forward, backward = _compile(fun, "vjp", nums, values, inplace=False)
    value, saved = forward(*values)
    _check_output(fun, "jacrev", value, True)
    if isinstance(value, tuple) or getattr(backward, "__ast_ad_mutated__", ()):
        raise VectorModeError("vector mode takes reverse-mode Jacobians of one output whose "
                              "backward pass keeps what it saved")
    # (in the output's dtype: a float32 output keeps a float32 Jacobian)
    cotangent = np.zeros(np.shape(value), _float_dtype(value)) if np.ndim(value) else \
        _float_dtype(value).type(0.0)
    rows = _compile(backward, "vector", (1,), (saved, cotangent), is_tuple=False)[0]
    made = [forward, rows, getattr(forward, "__ast_ad_deps__", ())]
    out_ndim = np.ndim(value)

    @_noted
    def jacobian_fn(*args):
        args = _with_defaults(fun, args)
        forward, rows, deps = made
        if not cache.all_hold(deps):  # a global the code reads was rebound: generate again
            forward, backward = _compile(fun, "vjp", nums, args, inplace=False)
            value, saved = forward(*args)
            _check_output(fun, "jacrev", value, True)
            rows = _compile(backward, "vector", (1,), (saved, cotangent), is_tuple=False)[0]
            made[:] = [forward, rows, getattr(forward, "__ast_ad_deps__", ())]
        value, saved = forward(*args)
        blocks = rows(saved, cotangent)
        parts = []
        for block in blocks:
            in_ndim = np.ndim(block) - out_ndim
            parts.append(block if not in_ndim or not out_ndim else np.transpose(
                block, tuple(range(in_ndim, in_ndim + out_ndim)) + tuple(range(in_ndim))))
        return tuple(parts) if is_tuple else parts[0]

    return jacobian_fn


def _jacrev_at(fun, nums, is_tuple, args, prepared=None):
    try:
        forward, backward = prepared or _compile(fun, "vjp", nums, args)
    except ADError as error:
        raise error.with_traceback(None) from None
    value, saved = forward(*args)
    _check_output(fun, "jacrev", value, True)
    if _tree_output(value):
        return _tree_jacobian(fun, nums, is_tuple, args)
    mutated = getattr(backward, "__ast_ad_mutated__", ())
    outputs, rebuild = _outputs(value)
    per_output = []
    for o, out in enumerate(outputs):
        rows = []
        for j in range(_size(out)):
            cotangent = [np.zeros(np.shape(v), _float_dtype(v)) if np.ndim(v) else 0.0
                         for v in outputs]
            cotangent[o] = _unit(out, j)
            rows.append(_call_backward(backward, saved, mutated, tuple(cotangent)
                                       if isinstance(value, tuple) else cotangent[0]))
        parts = []
        for k, i in enumerate(nums):
            stacked = np.stack([_float_array(r[k]) for r in rows], axis=0)
            parts.append(stacked.reshape(np.shape(out) + np.shape(args[i])))
        per_output.append(tuple(parts) if is_tuple else parts[0])
    return rebuild(per_output)


def _float_array(value):
    """A column or row of a Jacobian as a float array; a Dask one stays lazy (asarray would
    compute it)."""
    if is_protocol_array(value):
        return value
    return np.asarray(value, dtype=_float_dtype(np.asarray(value)))


def jacobian(fun, argnums=0):
    """The Jacobian, by forward mode (vector mode: one call) when there are no more inputs
    than outputs, else by reverse mode."""
    fun = bound_call(fun)
    nums, is_tuple = _checked_argnums(fun, argnums)
    return _vector_transformation(fun, fun, nums, is_tuple, argnums, "jacobian")


def _jacobian_choice(fun, nums, is_tuple):
    @_noted
    def jacobian_fn(*args):
        args = _with_defaults(fun, args)
        if any(is_container(args[i]) for i in nums):
            return _tree_jacobian(fun, nums, is_tuple, args)
        inputs = sum(_size(args[i]) for i in nums)
        try:
            prepared = _compile(fun, "vjp", nums, args)
        except ADError as error:
            raise error.with_traceback(None) from None
        value, _ = prepared[0](*args)
        _check_output(fun, "jacobian", value, True)
        outputs, _ = _outputs(value)
        if sum(_size(o) for o in outputs) <= inputs:
            return _jacrev_at(fun, nums, is_tuple, args, prepared)
        return _jacfwd_loop(fun, nums, is_tuple)(*args)

    return jacobian_fn


def _tree_output(value) -> bool:
    """An output that is a container other than a tuple of arrays (a dict...)."""
    return is_container(value) and not (type(value) is tuple and not any(
        is_container(v) for v in value))


def _tree_jacobian(fun, nums, is_tuple, args):
    """The Jacobian where inputs or the output are containers, nested as JAX nests it: the
    output's structure outside, each input's inside, a leaf of shape output leaf's shape +
    input leaf's shape (None for an input leaf that is not a float). One backward pass
    per output element."""
    value, vjp_fn = vjp(fun, *args)
    out_leaves, out_def = tree_flatten(value)
    for leaf in out_leaves:
        problem = output_problem(leaf, True)
        if problem is not None:
            raise NonScalarOutputError(
                f"jacobian needs {describe(fun)} to return floats or float arrays, but a leaf "
                f"of its output is {problem}", _location(fun), "return the value to differentiate")
    per_output = []
    for o, out in enumerate(out_leaves):
        rows = []
        for j in range(int(np.size(out))):
            cotangent = [np.zeros(np.shape(v)) if np.ndim(v) else 0.0 for v in out_leaves]
            cotangent[o] = _unit(out, j)
            rows.append(vjp_fn(tree_unflatten(out_def, cotangent)))
        parts = []
        for i in nums:
            in_leaves, in_def = tree_flatten(args[i])
            row_leaves = [tree_flatten(r[i])[0] if is_container(args[i]) else [r[i]]
                          for r in rows]
            blocks = []
            for k, leaf in enumerate(in_leaves):
                if any(r[k] is None for r in row_leaves):
                    blocks.append(None)
                    continue
                stacked = np.stack([np.asarray(r[k], dtype=float) for r in row_leaves], axis=0)
                blocks.append(stacked.reshape(np.shape(out) + np.shape(leaf)))
            parts.append(tree_unflatten(in_def, blocks))
        per_output.append(tuple(parts) if is_tuple else parts[0])
    return tree_unflatten(out_def, per_output)


def hessian(fun, argnums=0):
    """The Hessian of a scalar function: forward mode over the generated gradient code,
    every direction in one call (vector mode, docs/vector_mode.md)."""
    fun = bound_call(fun)
    nums, is_tuple = _checked_argnums(fun, argnums)
    return _vector_transformation(fun, grad(fun, argnums), nums, is_tuple, argnums, "hessian")


def hvp(fun, argnums=0):
    """hvp(f)(*args, v): the Hessian of f at args times v, in one forward-over-reverse pass
    (the jvp of f's generated gradient in the direction v). v has the shape of the argument
    argnums names (a tuple of them for a tuple argnums)."""
    fun = bound_call(fun)
    nums, is_tuple = _checked_argnums(fun, argnums)
    gradient = grad(fun, argnums)

    @_noted
    def hvp_fn(*args):
        if not args:
            raise ADError("hvp needs the arguments of the function, then the vector v")
        *primals, v = args
        primals = _with_defaults(fun, primals)
        given = tuple(v) if is_tuple else (v,)
        if len(given) != len(nums):
            raise ADError(f"hvp got {len(given)} vector(s) for {len(nums)} argument(s)",
                          hint="give one vector per argument in argnums, as a tuple")
        for i, v in zip(nums, given):
            if is_container(primals[i]) or is_container(v):
                _check_same_tree(primals[i], v, f"hvp: the vector for argument {i}")
            elif getattr(v, "shape", ()) != getattr(primals[i], "shape", ()):
                raise ADError(f"hvp: the vector for argument {i} has shape {np.shape(v)}, but "
                              f"the argument has shape {np.shape(primals[i])}",
                              hint="v has the shape of the argument")
        try:  # the jvp of the generated gradient, with respect to the arguments in argnums
            (fn,) = _compile(gradient, "jvp", nums, primals)
        except ADError as error:
            raise error.with_traceback(None) from None
        return fn(*primals, *given)[1]  # (a tuple for a tuple argnums, as grad's)

    return hvp_fn


def _size(x) -> int:
    """np.size(x), read from the shape (Dask has no np.size)."""
    return math.prod(np.shape(x))


def _unit(x, j: int):
    """The j-th basis vector shaped like x, in its float dtype (a float for a scalar)."""
    if np.ndim(x) == 0:
        return 1.0
    e = np.zeros(np.shape(x), _float_dtype(x))
    e.flat[j] = 1.0
    return e


def _float_dtype(x) -> np.dtype:
    """x's dtype if it is a float one (float32 stays float32), else float64."""
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else np.dtype(np.float64)


def _checked_argnums(fun, argnums):
    """argnums as positions, checked when the Jacobian function is made."""
    try:
        return check_argnums(argnums, _signature_params(fun), fun, _location(fun))
    except ADError as error:
        raise error.with_traceback(None) from None


def _signature_params(fun):
    if getattr(fun, "__ast_ad__", None) is None and not isinstance(fun, types.FunctionType) \
            and _bound_parts(fun) is None:
        get_source(fun)  # a builtin, ufunc or callable object: SourceUnavailableError
    try:
        return [p for p in inspect.signature(fun).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        raise ADError(f"cannot differentiate {describe(fun)}: no signature") from None


def generated_source(fun, *args, mode: str = "jvp", argnums=None, trace: bool = False) -> str:
    """The code ast-ad generates for `fun` at arguments like `args`, as text.

    mode: "jvp" (forward mode), "vjp", "grad", "value_and_grad", "hessian" (forward mode
    over the generated gradient: every direction in one function, vector mode, where it
    applies, else the jvp) or "jacfwd" (the Jacobian in vector mode, else the jvp).
    argnums defaults to every float argument; `trace=True` keeps one primitive per line.
    """
    fun = bound_call(fun)
    nums = _float_positions(fun, args) if argnums is None else \
        (argnums if isinstance(argnums, tuple) else (argnums,))
    if mode not in ("jvp", "vjp", "grad", "value_and_grad", "hessian", "jacfwd"):
        raise ADError(f"unknown mode {mode!r}",
                      hint="use jvp, vjp, grad, value_and_grad, hessian or jacfwd")
    kinds = tuple(kind_of_value(v) for v in args)
    arrays = tuple((v.dtype.name, v.shape) if isinstance(v, np.ndarray) else None for v in args)
    items = of_arguments(args, arrays)
    src = get_source(fun)
    check(src)
    is_tuple = True if mode in ("jvp", "vjp") or len(nums) > 1 else False
    if mode == "hessian":
        gradient = compile_function(src, Options("grad", nums, is_tuple, kinds, arrays,
                                                  values=items))[0]
        src, mode = get_source(gradient), "jacfwd"
    if mode == "jacfwd":
        try:
            return compile_function(src, Options("vector", nums, is_tuple, kinds, arrays,
                                                 trace=trace, values=items))[0].__ast_ad_source__
        except VectorModeError:
            mode = "jvp"
    options = Options(mode, nums, True if mode in ("jvp", "vjp") or len(nums) > 1 else False,
                      kinds, arrays, trace=trace, values=items)
    return compile_function(src, options)[0].__ast_ad_source__
