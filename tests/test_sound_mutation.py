"""Sound or rejected: in-place changes, casts, and functions without rules never give a
silently wrong derivative (issue 9).

Each reproducer gave a wrong gradient before; now it gives the right one, or a
NoRuleError naming the call, its line, and what to write instead.
"""

import importlib.util
import inspect
import math
import random
import warnings

import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad
from ast_ad import NonDifferentiableError, NoRuleError
from ast_ad.rules import registry

X = np.array([0.5, 1.7, 2.2])
UNSORTED = np.array([1.7, 0.5, 2.2])


def _rejected(fn, args, offset, *words, modes=("grad", "jvp")):
    """fn(*args) is rejected in each mode with a NoRuleError at its line `def + offset`."""
    line = fn.__code__.co_firstlineno + offset
    for mode in modes:
        with pytest.raises(NoRuleError) as info:
            if mode == "grad":
                ast_ad.grad(fn)(*args)
            else:
                ast_ad.jvp(fn, args, tuple(np.ones_like(a) for a in args))
        error = info.value
        assert error.location.lineno == line, (mode, str(error))
        assert error.location.filename == __file__
        for word in words:
            assert word in str(error), (mode, str(error))
        assert error.hint, str(error)


# -- 1. in-place changes the derivative passes do not see -------------------------------


def sorts_in_place(x):
    y = x * 1.0
    y.sort()
    return y[0] * x[0]


def fills(x):
    y = x * 2.0
    y.fill(1.0)
    return np.sum(y * x)


def adds_at(x):
    y = np.zeros(3)
    np.add.at(y, [0, 1], x[:2])
    return np.sum(y * y)


def multiplies_into(x):
    y = np.zeros(3)
    np.multiply(x, x, out=y)
    return np.sum(y)


def multiplies_into_positionally(x):
    y = np.zeros(3)
    np.multiply(x, x, y)
    return np.sum(y)


def copies_into(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y * y)


def clips_into_itself(x):
    y = x * 1.0
    np.clip(y, 0.0, 1.0, out=y)
    return np.sum(y * x)


def sums_into(x):
    y = np.zeros(())
    z = np.sum(x * x, 0, None, y)  # out= by position
    return z * 1.0


def puts(x):
    y = x * 1.0
    np.put(y, [0], 5.0)
    return np.sum(y * x)


def puts_method(x):
    y = x * 1.0
    y.put([0], 5.0)
    return np.sum(y * x)


def places(x):
    y = x * 1.0
    np.putmask(y, y > 1.0, 0.0)
    return np.sum(y * x)


def fills_diagonal(x):
    y = np.outer(x, x)
    np.fill_diagonal(y, 0.0)
    return np.sum(y)


def partitions(x):
    y = x * 1.0
    y.partition(1)
    return y[0] * x[0]


def sorts_through_the_class(x):
    y = x * 1.0
    np.ndarray.sort(y)
    return y[0] * x[0]


def shuffles(x):
    y = x * 1.0
    np.random.shuffle(y)
    return y[0]


def swaps_bytes_in_place(x):
    y = x * 1.0
    y.byteswap(True)
    return np.sum(y)


def multiplies_at(x):
    y = np.ones(3)
    np.multiply.at(y, [0], x[0])
    return np.sum(y)


def extends_a_list(x):
    ys = [x]
    ys.extend([x * 2.0])
    return np.sum(np.stack(ys))


def adds_in_place_by_method(x):
    y = x * 1.0
    y.__iadd__(x)
    return np.sum(y)


def fills_a_view(x):
    y = x * 1.0
    v = y.reshape(3)
    v.fill(0.0)
    return np.sum(y * x)


MUTATIONS = [
    (sorts_in_place, 2, ".sort()", "`y`", "np.sort"),
    (fills, 2, ".fill()", "`y`", "np.ones_like"),
    (multiplies_into, 2, "numpy.multiply", "`y`", "out="),
    (multiplies_into_positionally, 2, "numpy.multiply", "`y`", "out="),
    (copies_into, 2, "numpy.copyto", "`y`"),
    (clips_into_itself, 2, "numpy.clip", "`y`", "out="),
    (sums_into, 2, "numpy.sum", "`y`", "out="),
    (puts, 2, "numpy.put", "`y`"),
    (puts_method, 2, ".put()", "`y`"),
    (places, 2, "numpy.putmask", "`y`", "np.where"),
    (fills_diagonal, 2, "numpy.fill_diagonal", "`y`"),
    (partitions, 2, ".partition()", "`y`"),
    (sorts_through_the_class, 2, "sort", "`y`"),
    (shuffles, 2, "shuffle", "`y`"),
    (swaps_bytes_in_place, 2, ".byteswap()", "`y`"),
    (multiplies_at, 2, "numpy.multiply.at", "`y`"),
    (extends_a_list, 2, ".extend()", "`ys`"),
    (adds_in_place_by_method, 2, ".__iadd__()", "`y`"),
    (fills_a_view, 3, ".fill()", "`v`"),
]


@pytest.mark.parametrize("case", MUTATIONS, ids=[c[0].__name__ for c in MUTATIONS])
def test_in_place_change_of_a_differentiated_array_is_rejected(case):
    fn, offset, *words = case
    _rejected(fn, (UNSORTED.copy(),), offset, "in place", *words)


def sorts(x, m):
    y = np.sort(x)
    return y[0] * x[0] + np.sum(np.sort(m, axis=0)[0] * np.arange(3.0)) \
        + np.sum(np.sort(m, axis=None)[:4] ** 2)


def test_what_the_hint_says_works():
    # `y.sort()` is rejected with the hint `y = np.sort(y)`: that is differentiable.
    m = np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.5]])
    check_gradient(sorts, UNSORTED.copy(), m)
    check_jvp(sorts, UNSORTED.copy(), m)


def adds_at_after_a_read(x):
    y = np.ones(3) * x
    z = y * x
    np.add.at(y, [0, 0], x[0])  # a repeated index adds twice
    return np.sum(z) + np.sum(y * y)


def adds_at_into_a_view(x):
    y = np.zeros(4)
    v = y[0:2]
    np.add.at(v, [0, 0], x[0])
    return np.sum(y * y)


def adds_at_into_a_copy(x):
    y = x * 1.0
    np.add.at(y, [0, 0], x[1])
    return np.sum(y * x)


def adds_a_scalar_at(x, s):
    y = x * 2.0
    np.add.at(y, [0, 2, 2], s * s)
    return np.sum(y ** 3)


def adds_at_in_a_loop(x):
    y = np.zeros(3)
    for k in range(3):
        np.add.at(y, [k, 0], x[k] * y[k] + x[0])
    return np.sum(y ** 2)


def adds_at_into_a_matrix(w, v):
    m = w * 1.0
    np.add.at(m, ([0, 0, 1], [1, 1, 0]), v)
    return np.sum(np.tanh(m))


ADDS_AT = [(adds_at, (X,)), (adds_at_after_a_read, (X,)), (adds_at_into_a_copy, (X,)),
           (adds_a_scalar_at, (X, 0.7)), (adds_at_in_a_loop, (X,)),
           (adds_at_into_a_matrix, (np.arange(6.0).reshape(2, 3) / 5, UNSORTED))]


@pytest.mark.parametrize("case", ADDS_AT, ids=[c[0].__name__ for c in ADDS_AT])
def test_add_at_is_followed(case):
    # np.add.at(y, i, v) was ignored: v got no gradient (all zeros before).
    fn, args = case
    check_gradient(fn, *args)
    check_jvp(fn, *args)


def test_add_at_leaves_the_callers_tangent_alone():
    # y's tangent was dx itself, and np.add.at wrote into the caller's tangent.
    tangent = np.ones(3)
    _, dy = ast_ad.jvp(adds_at_into_a_copy, (X.copy(),), (tangent,))
    np.testing.assert_array_equal(tangent, np.ones(3))
    assert dy == pytest.approx(2 * np.sum(X) + 2 * X[1] + 2 * X[0])


def test_add_at_into_a_view_is_rejected():
    # Forward mode would add to v's tangent, not to y's.
    _rejected(adds_at_into_a_view, (X.copy(),), 3, "numpy.add.at", "`v`")


def copies_into_a_constant_then_writes(x):
    y = np.zeros(3)
    y.fill(2.0)  # y is constant here, but receives x below
    y[0] = x[0]
    return np.sum(y * y)


def changes_what_the_backward_pass_reads(x):
    c = np.ones(3)
    z = c * x
    c.fill(3.0)  # the backward pass of z = c * x needs c == 1
    return np.sum(z)


def changes_a_view_of_what_the_backward_pass_reads(x):
    c = np.ones(3)
    z = c * x
    v = c[:]
    v.fill(3.0)
    return np.sum(z)


def changes_inside_a_loop(x):
    c = np.ones(3)
    total = 0.0
    for _ in range(2):
        total = total + np.sum(c * x)
        c.fill(2.0)
    return total


def test_change_of_an_array_that_receives_a_derivative_later_is_rejected():
    _rejected(copies_into_a_constant_then_writes, (X.copy(),), 2, ".fill()", "`y`")


def test_change_of_a_value_the_backward_pass_reads_is_rejected():
    for fn, offset in ((changes_what_the_backward_pass_reads, 3),
                       (changes_a_view_of_what_the_backward_pass_reads, 4),
                       (changes_inside_a_loop, 5)):
        _rejected(fn, (X.copy(),), offset, "reads its value from before the change")


def fills_a_constant(x):
    c = np.empty(3)
    c.fill(2.0)
    idx = np.argsort(x)
    idx.sort()  # integers: no derivative
    counts = np.zeros(3)
    np.add.at(counts, [0, 0, 2], 1.0)
    w = np.zeros(3)
    np.multiply(c, counts, out=w)
    return np.sum(c * x * w) + x[idx[0]]


def test_change_of_a_constant_array_is_harmless():
    check_gradient(fills_a_constant, X.copy())
    check_jvp(fills_a_constant, X.copy())


def calls_an_unknown_function_for_its_effect(x, f):
    y = x * 1.0
    f(y)
    return np.sum(y)


def test_call_for_its_effect_on_a_differentiated_value_is_rejected():
    with pytest.raises(NoRuleError, match="only for what it does to its arguments"):
        ast_ad.grad(calls_an_unknown_function_for_its_effect)(X.copy(), np.ndarray.sort)
    with pytest.raises(NoRuleError, match="only for what it does to its arguments"):
        ast_ad.grad(calls_an_unknown_function_for_its_effect)(X.copy(), np.random.seed)


def shuffles_with_the_standard_library(x):
    ys = [x[0], x[1], x[2]]
    done = random.shuffle(ys)
    return ys[0] + 0.0 * (done is None)


def calls_an_unknown_method(x, box):
    y = x * 1.0
    n = box.update(y)
    return y[0] + 0.0 * (n is None)


def test_call_ast_ad_cannot_see_into_is_rejected_whatever_its_result():
    fn = shuffles_with_the_standard_library
    with pytest.raises(NoRuleError, match="shuffle is given values") as info:
        ast_ad.grad(fn)(X.copy())
    assert info.value.location.lineno == fn.__code__.co_firstlineno + 2
    with pytest.raises(NoRuleError, match=r"\.update\(\) changes `box` in place"):
        ast_ad.grad(calls_an_unknown_method)(X.copy(), {})


# -- 2. casts ------------------------------------------------------------------------


def cast_int(x):
    return np.sum(x.astype(int) * x)


def cast_bool(x):
    return np.sum(x.astype(bool) * x)


def asarray_int(x):
    return np.sum(np.asarray(x, dtype=int) * x)


def array_int64(x):
    return np.sum(np.array(x, dtype=np.int64) * x)


def astype_string(x):
    return np.sum(x.astype("int32") * x)


def astype_positional(x):
    return np.sum(np.asarray(x, np.uint8) * x)


def astype_through_a_name(x):
    dt = np.int16
    return np.sum(x.astype(dt) * x)


def astype_like_an_int_argument(x, n):
    return np.sum(x.astype(n.dtype) * x)


@pytest.mark.parametrize("fn", [cast_int, cast_bool, asarray_int, array_int64, astype_string,
                                astype_positional, astype_through_a_name],
                         ids=lambda f: f.__name__)
def test_cast_to_integers_or_bools_has_no_derivative(fn):
    g = ast_ad.grad(fn)(X.copy())
    expected = X.astype(bool if fn is cast_bool else int).astype(float)
    np.testing.assert_allclose(g, expected)  # was X.astype(int) + X: the cast taken as x
    check_jvp(fn, X.copy())


def test_cast_like_an_integer_argument_has_no_derivative():
    g = ast_ad.grad(astype_like_an_int_argument)(X.copy(), np.arange(3))
    np.testing.assert_allclose(g, [0.0, 1.0, 2.0])


def cast_float32(x):
    return np.sum(x.astype(np.float32) * x)


def cast_float_like(x, y):
    return np.sum(np.asarray(x * y, dtype=x.dtype) ** 2) + np.sum(x.astype(y.dtype))


def float64_scalar(s):
    return np.float64(s) * s


def array_float32(x):
    return np.sum(np.array(x, dtype=np.float32) ** 2) + np.sum(np.asarray(x, np.float32) * x)


def test_cast_to_a_float_keeps_the_derivative():
    g = ast_ad.grad(cast_float32)(X.copy())
    np.testing.assert_allclose(g, 2 * X, rtol=1e-6)
    assert g.dtype == X.dtype  # the adjoint of the cast is cast back
    g = ast_ad.grad(array_float32)(X.copy())
    np.testing.assert_allclose(g, 4 * X, rtol=1e-6)
    assert g.dtype == X.dtype
    check_gradient(cast_float_like, X.copy(), UNSORTED.copy())
    check_jvp(cast_float_like, X.copy(), UNSORTED.copy())
    check_gradient(float64_scalar, 1.3)
    check_jvp(float64_scalar, 1.3)


def int64_scalar(s):
    return np.int64(s) * s


def int_scalar(s):
    return int(s) * s


def round_scalar(s):
    return round(s) * s


def floor_scalar(s):
    return math.floor(s) * s


def test_scalar_casts_to_integers_have_no_derivative():
    for fn, value in ((int64_scalar, 2.0), (int_scalar, 2.0), (round_scalar, 3.0),
                      (floor_scalar, 2.0)):
        assert ast_ad.grad(fn)(2.7) == pytest.approx(value)
        assert ast_ad.jvp(fn, (2.7,), (1.0,))[1] == pytest.approx(value)


def cast_to_a_dtype_argument(x, dtype):
    return np.sum(x.astype(dtype) * x)


def cast_like_a_constant(x):
    c = np.zeros(3)
    return np.sum(x.astype(c.dtype) * x)


def test_cast_to_a_dtype_unknown_before_running_is_rejected():
    for fn, args in ((cast_to_a_dtype_argument, (X.copy(), "int32")),
                     (cast_to_a_dtype_argument, (X.copy(), np.float64)),
                     (cast_like_a_constant, (X.copy(),))):
        line = fn.__code__.co_firstlineno + (1 if fn is cast_to_a_dtype_argument else 2)
        with pytest.raises(NoRuleError, match="dtype ast-ad cannot tell") as info:
            ast_ad.grad(fn)(*args)
        assert info.value.location.lineno == line
        with pytest.raises(NoRuleError, match="dtype ast-ad cannot tell"):
            ast_ad.jvp(fn, args, (np.ones(3),) + tuple(np.zeros(()) for _ in args[1:]))


# -- 3. functions without rules --------------------------------------------------------


def r_(x):
    return np.sum(np.r_[x, x] ** 2)


def c_(x):
    return np.sum(np.c_[x, 2 * x] ** 2)


def linspace_of_arrays(x):
    return np.sum(np.linspace(x[:2], x[1:], 5) ** 2)


def arange(x):
    return np.sum(np.arange(x[0], 3.0, 0.5))


@pytest.mark.parametrize("case", [(r_, "np.r_[...]"), (c_, "np.c_[...]"),
                                  (linspace_of_arrays, "numpy.linspace"),
                                  (arange, "numpy.arange")],
                         ids=lambda c: c[0].__name__)
def test_function_without_rule_on_a_differentiated_value_is_rejected(case):
    fn, what = case
    _rejected(fn, (X.copy(),), 1, what)


def linspace(x):
    return np.sum(np.linspace(x[0], x[1], 5) ** 2) + np.sum(np.linspace(0.5, x[2], 4, False) ** 3)


def full(x):
    return np.sum(np.full(3, x[0]) * x) + np.sum(np.full((2, 3), x[2]) ** 2)


def full_like(x):
    return np.sum(np.full_like(x, x[1]) * x)


@pytest.mark.parametrize("fn", [linspace, full, full_like], ids=lambda f: f.__name__)
def test_constructors_are_differentiable_in_their_values(fn):
    # linspace was listed as "a constant array": a zero gradient for start and stop.
    check_gradient(fn, X.copy())
    check_jvp(fn, X.copy())


def constant_arrays(x):
    n = x.shape[0]
    grid = np.linspace(0.0, 1.0, n) + np.arange(n) + np.full(n, 2.0) + np.full_like(x, 0.5)
    return np.sum(grid * x) + np.sum(np.r_[grid, grid])


def test_those_functions_on_constants_are_constants():
    check_gradient(constant_arrays, X.copy())
    check_jvp(constant_arrays, X.copy())


# -- the sweep over NumPy's and math's public API --------------------------------------

ARRAY = np.array([0.3, 0.6, 0.8])
MODULES = [(np, ARRAY), (np.linalg, np.eye(2) + 0.1), (np.fft, ARRAY), (np.random, ARRAY),
           (math, 0.4)]


def _public_callables():
    found = []
    for module, arg in MODULES:
        for name in sorted(dir(module)):
            if name.startswith("_"):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn = getattr(module, name, None)
            if callable(fn) and not inspect.ismodule(fn):
                found.append((f"{module.__name__}.{name}", fn, arg))
    return found


PUBLIC = _public_callables()


def _calling(fn):
    def f(x):
        return fn(x)

    return f


def test_every_public_callable_has_a_rule_is_constant_or_is_rejected():
    """Each of NumPy's and math's public callables either has a rule, is declared to have
    no derivative (with a reason), or raises NoRuleError naming it when given a value that
    carries a derivative."""
    assert len(PUBLIC) > 500
    line = _calling.__code__.co_firstlineno + 2
    rejected = 0
    for shown, fn, arg in PUBLIC:
        if registry.lookup(fn) is not None:
            continue
        if registry.is_nondifferentiable(fn):
            assert registry.NONDIFFERENTIABLE[fn].strip(), shown
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # NonDifferentiableError: makes complex numbers or a np.matrix
            with pytest.raises((NoRuleError, NonDifferentiableError)) as info:
                ast_ad.grad(_calling(fn))(np.copy(arg) if isinstance(arg, np.ndarray) else arg)
        assert info.value.location.lineno == line, shown
        assert getattr(fn, "__name__", shown.rsplit(".", 1)[-1]) in str(info.value), shown
        rejected += 1
    assert rejected > 300


def test_every_constant_is_constant():
    """What the table says has no derivative does not change when its float input moves
    a little (checked wherever it accepts a float array or a float); stop_gradient is the
    identity that differentiation is asked to treat as a constant."""
    rng = np.random.default_rng(0)
    for fn, why in registry.NONDIFFERENTIABLE.items():
        assert why.strip(), fn
        if not callable(fn) or fn in (print, np.empty, np.empty_like,  # uninitialised
                                      ast_ad.stop_gradient):
            continue
        for x in (rng.uniform(0.1, 0.4, size=4) + np.arange(4), 1.3):
            # np.floor(x), np.digitize(x, bins), np.full(3, x) (not constant: it has a rule)
            for args in ((x,), (x, x + 1.0), (3, x)):
                moved = tuple(a + 1e-7 if a is x else a for a in args)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        before, after = fn(*args), fn(*moved)
                except Exception:
                    continue  # takes a shape, a string...: not a function of a float
                if isinstance(before, (np.ndarray, float, np.floating)):
                    np.testing.assert_array_equal(before, after, err_msg=repr(fn))


def test_every_array_method_has_a_meaning_or_is_rejected(tmp_path):
    """`x.name()` for every method of an ndarray: a rule or a constant through the method
    table, or a NoRuleError naming the method."""
    x = np.ones(3)
    names = [n for n in dir(x) if not n.startswith("__") and callable(getattr(type(x), n))]
    source = "".join(f"def m_{n}(x):\n    return x.{n}()\n\n\n" for n in names)
    path = tmp_path / "array_methods.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("array_methods", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for n in names:
        meaning = registry.METHODS.get(n)
        if meaning is not None and (registry.lookup(meaning.function) is not None
                                    or registry.is_nondifferentiable(meaning.function)):
            continue
        with pytest.raises(NoRuleError) as info:
            ast_ad.grad(getattr(module, f"m_{n}"))(ARRAY.copy())
        assert f".{n}()" in str(info.value), n
        if n in registry.INPLACE_METHODS:
            assert "in place" in str(info.value), n
