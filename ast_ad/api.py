"""The public transformations: grad and value_and_grad (JAX/autograd conventions).

`grad(f)` returns a function that, on each call, looks up code generated for
the kinds of its arguments (Python scalar or NumPy array), generates and
compiles it on the first call with those kinds, and runs it. Generated code
is cached per function, options and argument kinds.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
import types
import weakref
from dataclasses import replace
from keyword import iskeyword

import numpy as np

from . import cache, higher
from .arraytypes import is_dask, is_protocol_array, known_shape
from .checkpointing import schedule
from .compile import compile_function, note_user_line
from .context import Options
from .errors import ADError, Location, NonDifferentiableError, VectorModeError
from .pipeline import check
from .source import FunctionSource, bound_call, describe, get_source
from .trees import is_container, is_dataclass_instance, paths
from .values import array_info, kind_of_value, of_arguments, signature

# Code is specialised to the shapes of array arguments (so shapes are known when
# generating it); after this many different shapes, one shape-generic version.
MAX_SHAPE_SPECIALISATIONS = 8

def clear_caches() -> None:
    """Forget all generated code (the next call of a transformed function generates it again)."""
    cache.clear()


def grad(fun=None, argnums: int | tuple[int, ...] = 0, checkpoint=None):
    """The gradient of a scalar-valued function.

    `grad(f)(x, y)` returns df/dx; `grad(f, argnums=(0, 1))(x, y)` returns
    (df/dx, df/dy). Usable as `@grad`, `@grad(argnums=...)` or `grad(f)`.
    `checkpoint="revolve"` (or an int: at most that many snapshots) runs the loops of f
    with binomial checkpointing: bounded memory, iterations recomputed in the backward
    pass (docs/checkpointing.md).
    """
    return _transformation(fun, "grad", argnums, checkpoint=checkpoint)


def value_and_grad(fun=None, argnums: int | tuple[int, ...] = 0, checkpoint=None):
    """Like `grad`, but the new function returns `(f(...), gradient)`."""
    return _transformation(fun, "value_and_grad", argnums, checkpoint=checkpoint)


def source(transformed, *args, **kwargs) -> str:
    """The generated source of a transformed function.

    With example arguments, the code generated for arguments of their kinds;
    without, the code of the latest call (or code for unknown kinds if never called).
    """
    state = _state_of(transformed)
    if args or kwargs:
        return state.compile_for(args, kwargs).__ast_ad_source__
    if state.latest is not None:
        return state.latest.__ast_ad_source__
    return state.compile_options(state.options(None)).__ast_ad_source__


def _state_of(transformed) -> "_Transformed":
    state = getattr(transformed, "__ast_ad__", None)
    if state is None:
        raise ADError(f"{describe(transformed)} is not a function made by ast_ad.grad or "
                      "value_and_grad")
    return state


def _transformation(fun, mode: str, argnums, *, self_class=None, checkpoint=None):
    if fun is None:
        return functools.partial(_transformation, mode=mode, argnums=argnums,
                                 checkpoint=checkpoint)
    if isinstance(fun, functools.partial):
        return _through_partial(fun, mode, argnums, checkpoint)
    fun = bound_call(fun)  # grad(model): its __call__
    if isinstance(fun, types.MethodType) and isinstance(fun.__func__, types.FunctionType):
        return _through_method(fun, mode, argnums, checkpoint)
    bound = getattr(fun, "__ast_ad__", None)
    if isinstance(bound, _BoundState) and bound.function is not None and checkpoint is None:
        # grad(grad(obj.method)): the derivative of the class's derivative, obj passed first
        inner = _transformation(bound.function, mode, _after_self(fun, bound.method, argnums))
        return _bound(inner, bound.obj, bound.cls, bound.method)
    checkpoint = schedule(checkpoint)
    # Asking again for the same derivative returns the same function, with its code
    # cache, instead of reading and checking the source again. Held weakly: the made
    # function refers to fun, and must not keep it alive.
    # repr: argnums=True is not argnums=1 (it is rejected), and a list is not hashable
    key = (mode, repr(argnums), getattr(fun, "__code__", None), self_class, checkpoint)
    with cache.LOCK:
        known = cache.lookup(fun, "transformed", key)
        transformed = known() if known is not None else None
        if transformed is not None:
            return transformed
        try:
            state = _Transformed(fun, mode, argnums, self_class, checkpoint)
        except ADError as error:
            raise error.with_traceback(None) from None
        transformed = _dispatcher(state)
        functools.update_wrapper(transformed, fun)
        transformed.__ast_ad__ = state
        try:
            cache.store(fun, "transformed", key, weakref.ref(transformed))
        except TypeError:  # unhashable argnums: nothing to remember it by
            pass
        return transformed


def _through_partial(fun: functools.partial, mode: str, argnums, checkpoint=None):
    """grad(partial(f, X=data)): differentiate f, with argnums counted in the partial's
    own parameters, and the bound arguments passed along on every call."""
    try:
        remaining = [p for p in inspect.signature(fun).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        full = inspect.signature(fun.func)
    except (TypeError, ValueError) as exc:
        raise ADError(f"cannot differentiate {describe(fun)}: {exc}") from None
    nums, is_tuple = check_argnums(argnums, remaining, fun, None)
    positions = [p.name for p in full.parameters.values()]
    shifted = tuple(positions.index(remaining[n].name) for n in nums)
    inner = _transformation(fun.func, mode, shifted if is_tuple else shifted[0],
                            checkpoint=checkpoint)

    @functools.wraps(fun.func)
    def transformed(*args, **kwargs):
        bound = full.bind(*fun.args, *args, **{**fun.keywords, **kwargs})
        return inner(*bound.args, **bound.kwargs)

    transformed.__ast_ad__ = inner.__ast_ad__
    return transformed


def _through_method(method: types.MethodType, mode: str, argnums, checkpoint=None):
    """grad(obj.method): the class's function differentiated with obj passed as its first
    argument (`self`, never differentiated) on every call, argnums counted after it.

    The generated code reads obj's attributes when it runs (a changed `obj.W` is seen);
    it is specialised to obj's class, whose methods `self.m(...)` it inlines, so each
    call first checks that obj still has that class and that none of obj's own
    attributes hides one of the class's methods."""
    fn, obj = method.__func__, method.__self__
    cls = type(obj) if not isinstance(obj, type) else None  # a classmethod: nothing inlined
    shifted = _after_self(method, method, argnums)
    inner = _transformation(fn, mode, shifted, self_class=cls, checkpoint=checkpoint)
    return _bound(inner, obj, cls, method)


def _after_self(fun, method: types.MethodType, argnums):
    """argnums counted in `fun`'s parameters (those of `method`, without self), counted
    from self: each one more."""
    try:
        remaining = [p for p in inspect.signature(fun).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError) as exc:
        raise ADError(f"cannot differentiate {describe(method)}: {exc}") from None
    nums, is_tuple = check_argnums(argnums, remaining, method, None)
    shifted = tuple(n + 1 for n in nums)
    return shifted if is_tuple else shifted[0]


def _bound(inner, obj, cls, method: types.MethodType):
    """`inner` (a derivative of the class's function) with obj passed first on each call."""
    fn = method.__func__
    methods = frozenset(name for klass in (cls.__mro__ if cls is not None else ())
                        for name, v in vars(klass).items() if isinstance(v, types.FunctionType))

    @functools.wraps(fn)
    def transformed(*args, **kwargs):
        if cls is not None and (type(obj) is not cls or not methods.isdisjoint(
                getattr(obj, "__dict__", ()))):
            raise ADError(f"{describe(method)}: the object is no longer a plain "
                          f"{cls.__name__} (its class changed, or an attribute of its own "
                          "hides a method)", inner.__ast_ad__.location,
                          "differentiate a function of the object's values instead")
        return inner(obj, *args, **kwargs)

    transformed.__ast_ad__ = _BoundState(inner.__ast_ad__, obj, inner, cls, method)
    transformed.__signature__ = inspect.signature(method)  # (grad(grad(obj.method)) counts in it)
    return transformed


def self_class_of(fun, value) -> type | None:
    """The class of `value` if `fun` is a method of it, called with the dataclass instance
    `value` as its `self` (`grad(Model.loss)(model, x)`) and the instance has no attribute
    of its own besides its fields (one could hide a method; values.signature counts them,
    so a call with one compiles again); else None."""
    if not is_dataclass_instance(value) or not isinstance(fun, types.FunctionType) \
            or inspect.getattr_static(type(value), fun.__name__, None) is not fun:
        return None
    own = getattr(value, "__dict__", {})
    fields = dataclasses.fields(value)
    if len(own) != len(fields) or any(f.name not in own for f in fields):
        return None
    return type(value)


class _BoundState:
    """The state of grad(obj.method): that of the class's function, obj passed first
    (`function`: the derivative of the class's function, which takes obj first)."""

    def __init__(self, inner: "_Transformed", obj, function=None, cls=None, method=None):
        self.inner, self.obj = inner, obj
        self.function, self.cls, self.method = function, cls, method

    def compile_for(self, args, kwargs):
        return self.inner.compile_for((self.obj, *args), kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _dispatcher(state: "_Transformed"):
    """A function with the user's signature that runs the code cached for its arguments' types.

    Generated rather than written with *args so that a call costs one dict
    lookup keyed by the arguments' classes, not argument packing and binding.
    """
    params = state.params
    names = [p.name for p in params]
    positional = [p.name for p in params if p.kind != p.KEYWORD_ONLY]
    keyword = [p.name for p in params if p.kind == p.KEYWORD_ONLY]
    signature = ", ".join(positional + (["*"] + keyword if keyword else []))
    call_args = ", ".join(positional + [f"{k}={k}" for k in keyword])
    key = "(" + "".join(f"{n}.__class__, " for n in names) + ")"
    fname = state.fun.__name__ if state.fun.__name__.isidentifier() \
        and not iskeyword(state.fun.__name__) else "transformed"
    # Fast path: the code of the latest call and the argument classes (and array dtypes
    # and shapes) it is for, in one tuple the compiler swaps whole (so that threads never
    # see one call's shapes with another's code): identity tests inline, no lookup.
    per_arg = [(f"_ast_ad_class{i}", f"_ast_ad_dtype{i}", f"_ast_ad_shape{i}")
               for i in range(len(names))]
    unpack = ", ".join(["_ast_ad_fast"] + [v for triple in per_arg for v in triple])
    tests = []
    for n, (c, d, sh) in zip(names, per_arg):
        tests += [f"{n}.__class__ is {c}", f"({d} is None or {n}.dtype is {d})",
                  f"({sh} is None or {n}.shape == {sh})"]
    fast_test = " and ".join(tests) or "True"
    source = (
        f"def _factory(_ast_ad_table, _ast_ad_slow, _ast_ad_arrays_match, _ast_ad_note, "
        f"_ast_ad_latest):\n"
        f"    def {fname}({signature}):\n"
        f"        try:\n"  # free in Python 3.11+ unless something is raised
        f"            {unpack}, = _ast_ad_latest\n"
        f"            if {fast_test}:\n"
        f"                return _ast_ad_fast({call_args})\n"
        f"            _ast_ad_entry = _ast_ad_table.get({key})\n"
        f"            if _ast_ad_entry is not None and (not _ast_ad_entry[1] or "
        f"_ast_ad_arrays_match(_ast_ad_entry[1], ({', '.join(names)},))):\n"
        f"                return _ast_ad_entry[0]({call_args})\n"
        f"            return _ast_ad_slow({call_args})\n"
        f"        except Exception as _ast_ad_error:\n"
        f"            _ast_ad_note(_ast_ad_error)\n"
        f"            raise\n"
        f"    return {fname}\n"
    )
    namespace: dict = {}
    exec(compile(source, f"<ast_ad:dispatch:{state.src.qualname}>", "exec"), {}, namespace)

    def slow(*args, **kwargs):
        try:
            generated = state.compile_for(args, kwargs)
        except ADError as error:
            # The traceback starts at the user's call, not in the compiler's insides.
            raise error.with_traceback(None) from None
        return generated(*args, **kwargs)

    state.never = (slow,) + (_Never, None, None) * len(names)  # matches no call
    dispatch = namespace["_factory"](state.table, slow, _arrays_match, note_user_line,
                                     state.never)
    state.fast_cell = dict(zip(dispatch.__code__.co_freevars, dispatch.__closure__))[
        "_ast_ad_latest"]
    cache.track(state)
    dispatch.__defaults__ = state.fun.__defaults__
    dispatch.__kwdefaults__ = state.fun.__kwdefaults__
    return dispatch


class _Never:
    """The class of no argument: the dispatcher's fast path before the first call."""


def _arrays_match(checks, values) -> bool:
    """Code is specialised to each array argument's dtype and (usually) shape, and to
    what a container argument holds (values.of_argument, checked by its signature)."""
    for i, dtype, shape in checks:
        if dtype is _ITEMS:
            if signature(values[i]) != shape:
                return False
        elif values[i].dtype is not dtype or shape is not None and values[i].shape != shape:
            return False
    return True


_ITEMS = object()  # in a check: the signature a container argument must have


class _Transformed:
    """One `grad(f)`: the function, what to generate, and code per argument kinds.

    `f` may itself be a transformed function (`grad(grad(f))`): its generated
    code for the arguments' kinds is then what gets differentiated.
    """

    def __init__(self, fun, mode: str, argnums, self_class=None, checkpoint=None):
        self.self_class = self_class  # see _through_method
        self.inner = getattr(fun, "__ast_ad__", None)
        self.checkpoint = checkpoint
        if self.inner is not None and checkpoint is not None:
            raise ADError(f"checkpoint= applies to the loops of a function's own code, not to "
                          f"{describe(fun)}, a derivative ast-ad made",
                          hint="pass checkpoint= to the innermost grad, or drop it")
        if self.inner is None:
            self.src: FunctionSource = get_source(fun)
            check(self.src)
        else:
            self.src = self.inner.src if self.inner.src is not None else None
        self.fun = fun
        self.mode = mode
        # The function's own parameters, not those of a function it wraps (__wrapped__).
        self.signature = inspect.signature(fun, follow_wrapped=False)
        self.params = [p for p in self.signature.parameters.values()
                       if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        self.argnums, self.argnums_is_tuple = self._check_argnums(argnums)
        self.table: dict = {}  # argument classes -> (generated, array checks)
        self.shapes_seen: dict = {}  # (kinds, dtypes) -> the shape signatures called with
        self.latest = None
        self.fast_cell = None  # set by the dispatcher: the cell of its fast path's tuple
        self.never = None  # the tuple that sends every call to the slow path

    @property
    def location(self) -> Location | None:
        return self.src.location if self.src is not None else None

    def _check_argnums(self, argnums):
        return check_argnums(argnums, self.params, self.fun, self.location)

    def options(self, kinds, arrays=None, items=None, lazy=False) -> Options:
        return Options(self.mode, self.argnums, self.argnums_is_tuple, kinds, arrays,
                       values=items, lazy=lazy, self_class=self.self_class,
                       checkpoint=self.checkpoint)

    def compile_for(self, args, kwargs):
        with cache.LOCK:  # one compilation at a time; the state's tables change together
            return self._compile_for(args, kwargs)

    def _compile_for(self, args, kwargs):
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ADError(f"cannot call {describe(self.fun)}: {exc}", self.location) from None
        bound.apply_defaults()
        values = [bound.arguments[p.name] for p in self.params]
        for i, value in enumerate(values):
            check_array_class(value, i, self.params[i].name, self.fun, self.location)
        for i in self.argnums:
            self.check_argument(i, values[i])
        if self.inner is not None:
            inner = self.inner.compile_for(args, kwargs)
            try:
                generated = derivative_of_generated(inner, self.mode, self.argnums,
                                                    self.argnums_is_tuple, values)
            except ADError:
                raise_own_error(inner, args, kwargs)
                raise
            self.latest = generated
            self.table[tuple(map(type, values))] = (generated, ())
            self.remember(values, generated)
            return generated
        kinds = tuple(kind_of_value(v) for v in values)
        arrays = tuple(array_info(v) for v in values)
        generic = tuple(None if a is None else (a[0], None) for a in arrays)
        seen = self.shapes_seen.setdefault((kinds, generic), set())
        seen.add(arrays)
        if len(seen) > MAX_SHAPE_SPECIALISATIONS:
            arrays = generic  # called with many shapes: one shape-generic version
        items = of_arguments(values, arrays)
        options = self.options(kinds, arrays, items, any(map(is_dask, values)))
        if self.self_class is None and self.params:
            # grad(Model.loss)(model, ...): `self.predict(x)` is inlined from the class
            options = replace(options, self_class=self_class_of(self.fun, values[0]))
        generated = self.compile_options(options)
        self.latest = generated
        checks = tuple((i, v.dtype, arrays[i][1]) for i, v in enumerate(values)
                       if arrays[i] is not None)
        if items is not None:  # the code is specialised to what the containers hold
            checks += tuple((i, _ITEMS, signature(v)) for i, v in enumerate(values)
                            if is_container(v))
        self.table[tuple(map(type, values))] = (generated, checks)
        self.remember(values, generated, arrays)
        return generated

    def swap_generated(self, old, new) -> None:
        """Make calls that would run `old` run `new` (for timing the dispatcher alone)."""
        with cache.LOCK:
            for key, (generated, checks) in list(self.table.items()):
                if generated is old:
                    self.table[key] = (new, checks)
            if self.fast_cell is not None and self.fast_cell.cell_contents[0] is old:
                self.fast_cell.cell_contents = (new,) + self.fast_cell.cell_contents[1:]

    def reset(self) -> None:
        """Forget all code (ast_ad.clear_caches): the next call generates it again."""
        with cache.LOCK:
            self.table.clear()
            self.shapes_seen.clear()
            self.latest = None
            if self.fast_cell is not None:
                self.fast_cell.cell_contents = self.never

    def forget(self, old) -> None:
        """Stop running `old` (its assumptions no longer hold): the next call compiles."""
        with cache.LOCK:
            for key, (generated, _) in list(self.table.items()):
                if generated is old:
                    del self.table[key]
            if self.fast_cell is not None and self.fast_cell.cell_contents[0] is old:
                self.fast_cell.cell_contents = self.never
            if self.latest is old:
                self.latest = None

    def remember(self, values, generated, arrays=None) -> None:
        """Point the dispatcher's fast path at this code and the arguments it is for."""
        users = getattr(generated, "__ast_ad_users__", None)
        if users is not None:
            users.add(self)
        if self.fast_cell is None:
            return
        if any(is_container(v) for v in values):
            # The fast path tests classes, dtypes and shapes, not what a container holds.
            self.fast_cell.cell_contents = self.never
            return
        fast = [generated]
        for i, value in enumerate(values):
            array = isinstance(value, np.ndarray) or is_protocol_array(value)
            fast += [type(value), value.dtype if array else None,
                     arrays[i][1] if array and arrays else None]
        self.fast_cell.cell_contents = tuple(fast)  # one store: threads see all or nothing

    def compile_options(self, options: Options):
        return compile_function(self.src, options)[0]

    def check_argument(self, i: int, value) -> None:
        check_differentiable(value, i, self.params[i].name, self.fun, self.location)


Transformed = _Transformed  # transforms builds the Jacobians' states on it


def dispatcher_of(state: _Transformed):
    """The function with the user's signature that runs `state`'s code (see _dispatcher)."""
    dispatch = _dispatcher(state)
    functools.update_wrapper(dispatch, state.fun)
    return dispatch


def raise_own_error(generated, args, kwargs) -> None:
    """When differentiating generated code fails, the ADError it raises when run (grad of a
    vector output) says more: raise that one, if any."""
    try:
        generated(*args, **kwargs)
    except ADError as error:
        raise error.with_traceback(None) from None
    except Exception:  # then the compile error is the one to report
        pass


def check_argnums(argnums, params, fun, location):
    """Normalise argnums to a tuple of non-negative positions (and say if it was a tuple)."""
    hint = "argnums is an int or a tuple of ints counting positional parameters from 0"
    positional = [p for p in params if p.kind != p.KEYWORD_ONLY]

    def position(n) -> int:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise ADError(f"argnums={argnums!r} is not an int or a tuple of ints "
                          f"({type(n).__name__} {n!r})", location, hint)
        if not -len(positional) <= n < len(positional):
            raise ADError(
                f"argnums={argnums!r} does not fit {describe(fun)}, which has "
                f"{len(positional)} positional parameter(s)", location, hint)
        return int(n) % len(positional)

    is_tuple = isinstance(argnums, (tuple, list))
    nums = tuple(position(n) for n in argnums) if is_tuple else (position(argnums),)
    if not nums:
        raise ADError("argnums is empty", location, "name at least one argument")
    if len(set(nums)) != len(nums):
        raise ADError(f"argnums={argnums!r} names a parameter more than once", location,
                      "name each argument once")
    return nums, is_tuple


def check_array_class(value, i: int, param: str, fun, location) -> None:
    """Complex values, and NumPy array subclasses whose operators differ from ndarray's
    (np.matrix: `*` is a matrix product; masked arrays skip masked items), would not be
    differentiated right, whether differentiated or not."""
    protocol = is_protocol_array(value)  # Dask, CuPy: docs/arrays.md
    if isinstance(value, (complex, np.complexfloating)) or \
            (isinstance(value, np.ndarray) or protocol) and value.dtype.kind == "c":
        if location is not None and hasattr(fun, "__code__"):
            location = Location(location.filename, fun.__code__.co_firstlineno, 0)
        raise NonDifferentiableError(
            f"argument {i} ({param}) of {describe(fun)} is complex: ast-ad differentiates "
            "real-valued code only", location,
            "split it into real and imaginary parts (two floats or float arrays)")
    if protocol and not known_shape(value):
        if location is not None and hasattr(fun, "__code__"):
            location = Location(location.filename, fun.__code__.co_firstlineno, 0)
        raise ADError(
            f"argument {i} ({param}) of {describe(fun)} is a {type(value).__name__} of "
            f"unknown shape {value.shape}: code is generated for known shapes", location,
            "call x.compute_chunk_sizes() first (or pass lengths=... to to_dask_array)")
    if isinstance(value, np.ndarray) and isinstance(value, (np.matrix, np.ma.MaskedArray)):
        if location is not None and hasattr(fun, "__code__"):
            location = Location(location.filename, fun.__code__.co_firstlineno, 0)
        raise NonDifferentiableError(
            f"argument {i} ({param}) of {describe(fun)} is a {type(value).__name__}, whose "
            "operators differ from a NumPy array's", location,
            "pass np.asarray(value) (for a masked array: np.where(mask, fill, data)) and "
            "use @ for matrix products")


def check_differentiable(value, i: int, param: str, fun, location) -> None:
    """Only real floating-point values (scalars or arrays) can be differentiated."""
    where = f"argument {i} ({param}) of {describe(fun)}"
    if location is not None and hasattr(fun, "__code__"):
        location = Location(location.filename, fun.__code__.co_firstlineno, 0)
    if isinstance(value, (bool, np.bool_)):
        raise NonDifferentiableError(
            f"cannot differentiate with respect to {where}: it is a bool ({value!r})",
            location, "pass a float, or leave it out of argnums")
    if isinstance(value, numbers.Integral):
        raise NonDifferentiableError(
            f"cannot differentiate with respect to {where}: it is an integer ({value!r})",
            location, f"pass a float, e.g. {float(value)!r}, or leave it out of argnums")
    if isinstance(value, (complex, np.complexfloating)):
        raise NonDifferentiableError(
            f"cannot differentiate with respect to {where}: complex numbers are not "
            "supported", location, "split it into real and imaginary parts")
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and (type(value) is np.ndarray or isinstance(
                value, np.memmap)):
            return
        if value.dtype.kind == "f":
            raise NonDifferentiableError(
                f"cannot differentiate with respect to {where}: a {type(value).__name__} (a "
                "subclass of np.ndarray)", location, "pass np.asarray(value)")
        raise NonDifferentiableError(
            f"cannot differentiate with respect to {where}: an array of dtype {value.dtype}",
            location, "convert it with .astype(float)")
    if is_protocol_array(value):  # a Dask or CuPy array
        if value.dtype.kind == "f":
            return
        raise NonDifferentiableError(
            f"cannot differentiate with respect to {where}: a {type(value).__name__} of dtype "
            f"{value.dtype}", location, "convert it with .astype(float)")
    if isinstance(value, (numbers.Real, np.floating)):
        return
    if is_container(value):
        check_tree(value, where, param, location)
        return
    raise NonDifferentiableError(
        f"cannot differentiate with respect to {where}: a {type(value).__name__}",
        location, "pass a float or a NumPy float array")


def check_tree(tree, where: str, param: str, location) -> None:
    """A container argument: its float leaves are differentiated, and its ints, strings and
    None pass through (their gradient is None); a complex leaf or a float array subclass is
    an error naming the leaf's path."""
    for path, leaf in paths(tree, param):
        problem = None
        if isinstance(leaf, (complex, np.complexfloating)) or isinstance(
                leaf, np.ndarray) and leaf.dtype.kind == "c":
            problem = "is complex: ast-ad differentiates real-valued code only", \
                "split it into real and imaginary parts"
        elif isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f" and not (
                type(leaf) is np.ndarray or isinstance(leaf, np.memmap)):
            problem = f"is a {type(leaf).__name__} (a subclass of np.ndarray)", \
                "pass np.asarray(value)"
        if problem is not None:
            raise NonDifferentiableError(
                f"cannot differentiate with respect to {where}: its leaf {path} {problem[0]}",
                location, problem[1])


def check_no_container(what: str, argnums, values) -> None:
    """Derivatives of derivatives are taken with respect to floats and arrays only."""
    for i in argnums:
        if is_container(values[i]):
            raise ADError(
                f"differentiating {what} (itself a derivative) with respect to argument {i}, "
                f"a {type(values[i]).__name__}, is not supported",
                hint="differentiate a function of the container's arrays (ast_ad.tree_flatten "
                     "gives them), or take the second derivative with respect to one array")


def derivative_of_generated(generated, mode: str, argnums: tuple, is_tuple: bool, values):
    """grad(g) for g a function ast-ad made: forward mode through g's generated code.

    The result is itself generated code (`value, t = g_jvp(x, 1.0)`), registered
    like the rest, so it can be differentiated again: derivatives to any order.
    """
    check_no_container(generated.__name__, argnums, values)
    if any(np.ndim(values[i]) != 0 for i in argnums):
        return _gradient_by_vector_mode(generated, mode, argnums, is_tuple, values)
    return higher.derivative_of_generated(generated, mode, argnums, is_tuple, values)


def _gradient_by_vector_mode(generated, mode: str, argnums: tuple, is_tuple: bool, values):
    """grad(g) with respect to an array, for g a derivative with a scalar value (g =
    grad(f, 1) of f(x, s) at an array x): the Jacobian of g's generated code in vector mode
    (every direction of the array in one call), which for a scalar is the gradient."""
    def rejected(why: str) -> ADError:
        return ADError(f"differentiating {generated.__name__} (itself a derivative) with "
                       f"respect to an array: {why}",
                       hint="for second derivatives with respect to arrays use "
                            "ast_ad.hessian(f) or ast_ad.jacfwd(ast_ad.grad(f))")

    if mode != "grad":
        raise rejected("value_and_grad is not supported")
    if np.ndim(generated(*values)) != 0:
        raise rejected("its value is not a scalar (grad needs one)")
    kinds = tuple(kind_of_value(v) for v in values)
    arrays = tuple(array_info(v) for v in values)
    try:
        (fn,) = compile_function(get_source(generated), Options(
            "vector", argnums, is_tuple, kinds, arrays, values=of_arguments(values, arrays)))
    except VectorModeError as error:
        raise rejected(error.message if hasattr(error, "message") else str(error)) from None
    return fn
