"""Issue 9, aliasing and callees: right derivatives or a clear ADError, never a silent wrong one.

Views read after their array is written, lists and arrays a called function
mutates, writes into globals, second derivatives of code that builds lists,
and second derivatives through helpers compiled for several argument patterns.
"""

import numpy as np
import pytest
from numeric import check_gradient, check_jvp

import ast_ad


@pytest.fixture(autouse=True)
def fresh_caches():
    ast_ad.clear_caches()
    yield
    ast_ad.clear_caches()


def second(f, x, eps=1e-5):
    """d2f/dx2 of a scalar function, by central differences of ast-ad's first derivative."""
    g = ast_ad.grad(f)
    return (g(x + eps) - g(x - eps)) / (2 * eps)


# -- second order through helpers compiled for several argument patterns ----------------------
# inner(a, b) called as inner(a, b) and inner(b, a) is compiled twice (a active, then b
# active); both versions were registered under one linecache name, so differentiating the
# generated code again read back the other version's text (and cached the result).

def inner(a, b):
    return a * b + a * a


def inner_cube(a, b):
    return a * a * b


def swapped(a, b):
    return inner(a, b) + inner(b, a)


def only_inner(a, b):
    return inner(a, b)


def swapped_cube(a, b):
    return inner_cube(b, a) * 2.0 + inner_cube(a, b)


def only_cube(a, b):
    return inner_cube(a, b)


def test_grad_grad_through_a_helper_called_with_swapped_arguments():
    # swapped = 2ab + a^2 + b^2: d2/da2 = 2 (it gave 1.0), d2/dadb = 2
    assert ast_ad.grad(ast_ad.grad(swapped))(3.0, 2.0) == pytest.approx(2.0)
    assert ast_ad.grad(ast_ad.grad(swapped), argnums=1)(3.0, 2.0) == pytest.approx(2.0)
    assert ast_ad.grad(ast_ad.grad(swapped, argnums=1), argnums=1)(3.0, 2.0) == pytest.approx(2.0)
    # the code compiled for swapped's helpers must not leak into other callers
    hessian = ast_ad.hessian(only_inner, argnums=(0, 1))(3.0, 2.0)
    np.testing.assert_allclose(np.array(hessian, dtype=float), [[2.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("order", ["swapped_first", "single_first"])
def test_second_derivatives_do_not_depend_on_what_was_compiled_before(order):
    a, b = 3.0, 2.0
    # swapped_cube = 2 b^2 a + a^2 b; only_cube = a^2 b
    expected = {
        "swapped": [[2 * b, 4 * b + 2 * a], [4 * b + 2 * a, 4 * a]],
        "single": [[2 * b, 2 * a], [2 * a, 0.0]],
    }
    runs = {"swapped": swapped_cube, "single": only_cube}
    names = ["swapped", "single"] if order == "swapped_first" else ["single", "swapped"]
    for name in names:
        f = runs[name]
        hessian = np.array(ast_ad.hessian(f, argnums=(0, 1))(a, b), dtype=float)
        np.testing.assert_allclose(hessian, expected[name], err_msg=name)
        for i in range(2):
            for j in range(2):
                got = ast_ad.grad(ast_ad.grad(f, argnums=i), argnums=j)(a, b)
                assert got == pytest.approx(expected[name][i][j]), (name, i, j)


def test_one_helper_from_several_callers_matches_a_fresh_compile():
    a, b = 1.5, -0.5
    runs = [lambda: ast_ad.grad(ast_ad.grad(swapped_cube, argnums=1), argnums=1)(a, b),
            lambda: ast_ad.grad(ast_ad.grad(only_cube))(a, b),
            lambda: ast_ad.grad(ast_ad.grad(swapped_cube))(a, b),
            lambda: ast_ad.grad(ast_ad.grad(only_cube, argnums=1), argnums=0)(a, b)]
    together = [run() for run in runs]
    alone = []
    for run in runs:
        ast_ad.clear_caches()
        alone.append(run())
    np.testing.assert_allclose(together, alone)
    np.testing.assert_allclose(together, [4 * a, 2 * b, 2 * b, 2 * a])


def inner_loop(a, b):
    t = a * b
    for _ in range(2):
        t = t * a + b
    return t


def calls_inner_loop(a, b):
    return inner_loop(a, b) + inner_loop(b, a) * 0.5


def power_by_loop(a, b):
    for _ in range(2):
        b = b * a
    return b


def test_second_order_through_a_helper_with_a_loop():
    # The helper's backward function carries its adjoint parameter around a loop: forward
    # mode over it read that parameter's tangent before giving it one (UnboundLocalError).
    a, b = 0.7, -1.3
    for i in range(2):
        for j in range(2):
            g = ast_ad.grad(calls_inner_loop, argnums=i)
            args = [a, b]
            plus, minus = list(args), list(args)
            plus[j] += 1e-5
            minus[j] -= 1e-5
            expected = (g(*plus) - g(*minus)) / 2e-5
            got = ast_ad.grad(ast_ad.grad(calls_inner_loop, argnums=i), argnums=j)(a, b)
            assert got == pytest.approx(expected, rel=1e-6), (i, j)


def test_jvp_of_a_parameter_a_loop_makes_depend_on_the_input():
    value, tangent = ast_ad.jvp(power_by_loop, (0.7, 2), (1.0, 0))
    assert value == pytest.approx(2 * 0.49) and tangent == pytest.approx(4 * 0.7)


# -- second order through code that builds lists ----------------------------------------------
# The generated gradient starts list adjoints with the runtime helper zeros_like and turns
# arrays back into lists with unstack: forward mode over that code compiled the helpers'
# own source (a comprehension: an error pointing into ast_ad/runtime.py).

def list_product(x):
    s = []
    s.append(x * x)
    s.append(x)
    return s[0] * s[1]


def list_in_loop(x):
    s = []
    for i in range(3):
        s.append(x * float(i))
    t = 0.0
    for v in s:
        t = t + v * v * x
    return t


def list_stacked(x):
    s = []
    for i in range(3):
        s.append(np.sin(x * i))
    return np.sum(np.stack(s) ** 2)


def list_to_array(x):
    s = []
    s.append(x)
    s.append(x * 2.0)
    return np.sum(np.array(s) ** 3)


def list_item_written(x):
    s = [x, x * x]
    s[0] = s[1] * x
    return s[0] + s[1]


def list_slice_read(x):
    s = [x, x * x, x * 3.0]
    t = s[1:]
    return t[0] * t[1] * x


def repeated_index_write(x):
    z = np.array([x, x * x, 2.0 * x])
    i = np.array([0, 0, 2])
    y = z[i]
    w = np.zeros(3)
    w[i] = y * x
    return np.sum(w * w)


@pytest.mark.parametrize("f", [list_product, list_in_loop, list_stacked, list_to_array,
                               list_item_written, list_slice_read, repeated_index_write])
def test_second_derivative_of_code_building_a_list(f):
    # list_slice_read, repeated_index_write: the gradient code adds into an adjoint with
    # add_at / np.add.at, which forward mode did not follow (half the right value)
    x = 0.7
    expected = second(f, x)
    assert ast_ad.grad(ast_ad.grad(f))(x) == pytest.approx(expected, rel=1e-6)
    assert ast_ad.hessian(f)(x) == pytest.approx(expected, rel=1e-6)


def test_second_derivative_of_list_product_is_analytic():
    assert ast_ad.grad(ast_ad.grad(list_product))(2.0) == pytest.approx(12.0)


@pytest.mark.parametrize("f", [list_stacked, list_to_array])
def test_hessian_of_array_code_building_a_list(f):
    x = np.array([0.7, 1.3])
    g = ast_ad.grad(f)
    expected = np.array([(g(x + e) - g(x - e)) / 2e-5 for e in np.eye(2) * 1e-5]).T
    np.testing.assert_allclose(ast_ad.hessian(f)(x), expected, atol=1e-5)
    np.testing.assert_allclose(ast_ad.jacfwd(g)(x), expected, atol=1e-5)


def sum_broadcast(x):
    return np.sum(x[None, :] * np.ones((3, 1)) * x)


def test_hessian_through_the_adjoint_of_a_broadcast_sum():
    x = np.array([0.7, 1.3])
    np.testing.assert_allclose(ast_ad.hessian(sum_broadcast)(x), 6.0 * np.eye(2))
    np.testing.assert_allclose(ast_ad.jacrev(ast_ad.grad(sum_broadcast))(x), 6.0 * np.eye(2))


def test_gradient_of_a_written_list_item():
    # `bs[0].copy()` on a float adjoint: AttributeError from the generated code
    check_gradient(list_item_written, 0.7)
    check_jvp(list_item_written, 0.7)


# -- views read after their array is written -------------------------------------------------
# NumPy's view sees a later write into its array; ast-ad's derivative code did not (the
# gradient was silently wrong). Rejected at the write, naming the view and the read.

def row_view(x):
    z = x * 1.0
    r = z[0]
    z[0] = z[1] * 3.0
    return np.sum(r * r)


def column_view(x):
    z = x * 1.0
    y = z[:, 0]
    z[0, 0] = 5.0
    return np.sum(y * y)


def reshaped_view(x):
    z = x * 1.0
    y = z.reshape(-1)
    z[0, 0] = 5.0 * z[1, 1]
    return np.sum(y * y)


def transposed_view(x):
    z = x * 1.0
    y = z.T
    z[0, 1] = 5.0 * z[1, 1]
    return np.sum(y * y)


def transpose_call_view(x):
    z = x * 1.0
    y = np.transpose(z)
    z[0, 1] = 5.0 * z[1, 1]
    return np.sum(y * y)


def raveled_view(x):
    z = x * 1.0
    y = np.ravel(z)
    z[1, 2] = 2.0 * z[0, 0]
    return np.sum(y * y)


def sliced_view(x):
    z = x * 1.0
    y = z[1:]
    z[1, 1] = 2.0 * z[0, 0]
    return np.sum(y * y)


def view_chosen_in_a_branch(x):
    z = x * 1.0
    if x[0, 0] > 0:
        r = z[0]
    else:
        r = z[1]
    z[0, 0] = 7.0
    return np.sum(r * r)


def list_holding_the_array(x):
    z = x * 1.0
    s = [z]
    z[0] = z[1] * 3.0
    return np.sum(s[0] * s[0])


def view_of_a_view(x):
    z = x * 1.0
    r = z[0]
    y = r[1:]
    z[0, 1] = 3.0
    return np.sum(y * y)


def first_row(a):
    return a[0]


def view_from_a_helper(x):
    z = x * 1.0
    r = first_row(z)
    z[0] = z[1] * 3.0
    return np.sum(r * r)


def view_in_a_loop(x):
    z = x * 1.0
    r = z[0]
    for i in range(2):
        z[1, i] = r[i] * 2.0
    return np.sum(r * r) + np.sum(z)


X2 = np.arange(1.0, 7.0).reshape(2, 3) / 3


@pytest.mark.parametrize("f, view, line", [
    (row_view, "r", 3), (column_view, "y", 3), (reshaped_view, "y", 3),
    (transposed_view, "y", 3), (transpose_call_view, "y", 3), (raveled_view, "y", 3),
    (sliced_view, "y", 3), (view_chosen_in_a_branch, "r", 6), (list_holding_the_array, "s", 3),
    (view_of_a_view, "y", 4), (view_from_a_helper, "r", 3), (view_in_a_loop, "r", 4)])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_view_read_after_its_array_is_written_is_rejected(f, view, line, mode):
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        if mode == "grad":
            ast_ad.grad(f)(X2)
        else:
            ast_ad.jvp(f, (X2,), (np.ones_like(X2),))
    message = str(info.value)
    assert f"writing into `z` changes `{view}`" in message
    assert "r = z[0].copy()" in message
    assert info.value.location.lineno == f.__code__.co_firstlineno + line


def scalar_item(x):
    z = x * 1.0
    r = z[0]
    z[0] = z[1] * 3.0
    return r * r + np.sum(z)


def copy_of_the_view(x):
    z = x * 1.0
    r = z[0].copy()
    c = np.copy(z[:, 1])
    z[0] = z[1] * 3.0
    return np.sum(r * r) + np.sum(c) * np.sum(z[0])


def view_read_before_the_write(x):
    z = x * 1.0
    r = z[0]
    t = np.sum(r * r)
    z[0] = z[1] * 3.0
    return t + np.sum(z * z)


def view_taken_after_the_write(x):
    z = x * 1.0
    z[0] = z[1] * 3.0
    r = z[0]
    return np.sum(r * r)


def fancy_index_copy(x):
    z = x * 1.0
    r = z[np.array([0, 1])]
    z[0] = z[1] * 3.0
    return np.sum(r * r) + np.sum(z)


def view_retaken_in_a_loop(x):
    z = x * 1.0
    r = z[0]
    for i in range(1):
        z[i] = r * 2.0
        r = z[i + 1]
    return np.sum(r * r) + np.sum(z)


def shape_read_after_the_write(x):
    z = x * 1.0
    s = z.shape
    z[0] = z[1] * 3.0
    return np.sum(z) * s[0]


def unread_view_in_a_branch(x):
    z = x * 1.0
    r = z[0]
    if np.sum(x) > 0:
        z[1] = r * 2.0
    else:
        r = r * 3.0
    return np.sum(z)


def copy_then_write(x):
    z = x * 1.0
    w = z
    z[0] = z[1] * 3.0
    return np.sum(w * w)


@pytest.mark.parametrize("f, x", [
    (scalar_item, X2[0]), (fancy_index_copy, X2), (fancy_index_copy, X2[0]),
    (copy_of_the_view, X2), (view_read_before_the_write, X2), (view_taken_after_the_write, X2),
    (view_retaken_in_a_loop, X2), (shape_read_after_the_write, X2),
    (unread_view_in_a_branch, X2), (copy_then_write, X2)])
def test_reads_that_see_the_write_or_copies_are_right(f, x):
    # copy_then_write: `w = z; z[0] = v` gave a wrong gradient (w is z, and sees the write);
    # view_read_before_the_write: jvp folded `np.sum(2 * dr * r)` past the write into dz,
    # which dr is a view of (190.0 instead of 104.0 along ones)
    check_gradient(f, x)
    check_jvp(f, x)


def test_shape_generic_code_is_conservative_about_views():
    # after many shapes, one shape-generic version: z[0] may then be a row (a view)
    g = ast_ad.grad(scalar_item)
    for n in range(2, 2 + ast_ad.api.MAX_SHAPE_SPECIALISATIONS):
        assert g(np.arange(1.0, n + 1)) == pytest.approx(check_gradient(
            scalar_item, np.arange(1.0, n + 1))[0])
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="its shape is not known here"):
        g(np.arange(1.0, 20.0))


# -- functions that change their arguments (or globals) in place -----------------------------
# The caller's derivative code did not follow the change: `s = []; push(s, a); b = pop(s);
# return a * b` gave 3.0 at 3.0 (right: 6.0), in reverse and forward mode. Rejected at the
# call, naming the function and its line that changes the argument.

def push(s, v):
    s.append(v)


def pop(s):
    return s.pop()


def extend_twice(s, v):
    s.extend([v, v])


def insert_first(s, v):
    s.insert(0, v)


def set_first(s, v):
    s[0] = v


def add_to_list(s, v):
    s += [v]


def write_first(a, v):
    a[0] = v


def add_in_place(a, v):
    a += v


def add_at_first(a, v):
    np.add.at(a, [0, 0], v)


def multiply_into(a, v):
    np.multiply(a, v, out=a)


def write_through_a_view(a, v):
    r = a[0]
    r[1] = v


def push_through_a_helper(s, v):
    push(s, v)


def pushed_then_popped(a):
    s = []
    push(s, a)
    b = pop(s)
    return a * b


def extended(a):
    s = [a]
    extend_twice(s, a)
    return s[0] * s[2]


def inserted(a):
    s = [a]
    insert_first(s, a * 2.0)
    return s[0] * s[1]


def item_set(a):
    s = [1.0, 2.0]
    set_first(s, a)
    return s[0] * a


def list_added(a):
    s = [a]
    add_to_list(s, a)
    return s[1] * a


def pushed_through_a_helper(a):
    s = []
    push_through_a_helper(s, a)
    return s[0] * a


def array_written(x):
    z = x * 1.0
    write_first(z, x[1] * 2.0)
    return np.sum(z * z)


def array_added(x):
    z = x * 1.0
    add_in_place(z, x)
    return np.sum(z * z)


def array_added_at(x):
    z = x * 1.0
    add_at_first(z, x[1])
    return np.sum(z * z)


def array_multiplied_into(x):
    z = x * 1.0
    multiply_into(z, x)
    return np.sum(z)


def matrix_written_through_a_view(x):
    z = np.outer(x, x)
    write_through_a_view(z, x[0])
    return np.sum(z)


X1 = np.array([0.5, 1.5, 2.0])


@pytest.mark.parametrize("f, x, callee, arg, change", [
    (pushed_then_popped, 3.0, "push", "s", "s.append(v)"),
    (extended, 3.0, "extend_twice", "s", "s.extend([v, v])"),
    (inserted, 3.0, "insert_first", "s", "s.insert(0, v)"),
    (item_set, 3.0, "set_first", "s", "s[0] = v"),
    (list_added, 3.0, "add_to_list", "s", "s += [v]"),
    (pushed_through_a_helper, 3.0, "push_through_a_helper", "s", "push(s, v)"),
    (array_written, X1, "write_first", "z", "a[0] = v"),
    (array_added, X1, "add_in_place", "z", "a += v"),
    (array_added_at, X1, "add_at_first", "z", "np.add.at(a, [0, 0], v)"),
    (array_multiplied_into, X1, "multiply_into", "z", "np.multiply(a, v, out=a)"),
    (matrix_written_through_a_view, X1, "write_through_a_view", "z", "r[1] = v")])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_calling_a_function_that_changes_its_argument_is_rejected(f, x, callee, arg, change,
                                                                   mode):
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        if mode == "grad":
            ast_ad.grad(f)(x)
        else:
            ast_ad.jvp(f, (x,), (np.ones_like(x) if np.ndim(x) else 1.0,))
    message = str(info.value)
    fn = globals()[callee]
    assert f"test_sound_aliasing.{callee} changes its argument `{arg}` in place" in message
    changed_line = next(i for i, text in enumerate(open(__file__).read().splitlines(), 1)
                        if text.strip() == change and i > fn.__code__.co_firstlineno)
    assert f"(line {changed_line}: `{change}`)" in message
    call_line = next(i for i, text in enumerate(open(__file__).read().splitlines(), 1)
                     if f"{callee}(" in text and i > f.__code__.co_firstlineno)
    assert info.value.location.lineno == call_line


def copy_then_write_first(a, v):
    b = a.copy()
    b[0] = v
    return b


def list_built_inside(v):
    s = []
    s.append(v)
    return s[0] * 2.0


def helper_writes_its_own_copy(x):
    z = x * 1.0
    w = copy_then_write_first(z, x[1] * 2.0)
    return np.sum(w * z)


def helper_builds_its_own_list(a):
    return list_built_inside(a) * a


@pytest.mark.parametrize("f, x", [(helper_writes_its_own_copy, X1),
                                  (helper_builds_its_own_list, 3.0)])
def test_helpers_that_change_only_their_own_values_are_fine(f, x):
    check_gradient(f, x)
    check_jvp(f, x)
    assert ast_ad.grad(ast_ad.grad(helper_builds_its_own_list))(3.0) == pytest.approx(4.0)


# -- globals changed in place ----------------------------------------------------------------
# `G_ARR[0] = x` raised `NameError: bG_ARR` (reverse) / `dG_ARR` (forward) from the generated
# code; through a helper the gradient was silently wrong.

G_ARR = np.zeros(3)
G_LIST = []


def writes_a_global(x):
    G_ARR[0] = x
    return np.sum(G_ARR * x)


def appends_to_a_global(x):
    G_LIST.append(x * 2.0)
    return G_LIST[-1] * x


def set_global(x):
    G_ARR[1] = x


def global_written_by_a_helper(x):
    set_global(x)
    return np.sum(G_ARR) * x


@pytest.mark.parametrize("f, line, fragment", [
    (writes_a_global, 1, "changing `G_ARR` in place, a global"),
    (appends_to_a_global, 1, "changing `G_LIST` in place, a global"),
    (global_written_by_a_helper, 1, "set_global changes the global `G_ARR` in place"),
])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_changing_a_global_is_rejected(f, line, fragment, mode):
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        if mode == "grad":
            ast_ad.grad(f)(2.0)
        else:
            ast_ad.jvp(f, (2.0,), (1.0,))
    assert fragment in str(info.value)
    assert "copy" in str(info.value)  # the hint: copy the global into a local first
    assert info.value.location.lineno == f.__code__.co_firstlineno + line


# -- found on the way: second derivatives through adjoints the gradient code builds ----------

def squared_sum(x):
    return np.sum(x) ** 2


def dot_times_sum(a, b):
    return (a @ b) * np.sum(b * b)


def filled(x):
    return np.sum(np.full((2, 3), x[0]) * np.full_like(x, x[1]) ** 2)


def cube_helper(a, b):
    return np.sum(a * a * b)


def helper_of_one_argument(a, b):
    return cube_helper(a, b)


def test_hessian_when_the_adjoint_of_a_sum_depends_on_the_input():
    # The adjoint of np.sum is np.full_like(x, g): a "constant array" to forward mode, so
    # the Hessian of sum(x)**2 was 0 (right: 2 everywhere).
    x = np.array([0.3, -0.7, 1.1])
    np.testing.assert_allclose(ast_ad.hessian(squared_sum)(x), np.full((3, 3), 2.0))
    a, b = x, np.array([0.5, 0.2, -0.4])
    expected = 2 * (a @ b) * np.eye(3) + 2 * np.outer(b, a) + 2 * np.outer(a, b)
    np.testing.assert_allclose(ast_ad.hessian(dot_times_sum, argnums=1)(a, b), expected)


def test_full_and_full_like_carry_the_derivative_of_their_fill_value():
    x = np.array([0.3, -0.7, 1.1])
    check_gradient(filled, x)
    check_jvp(filled, x)


def test_jacrev_of_a_gradient_through_a_helper():
    # Reverse mode over the generated gradient added the adjoint of a tuple item that is
    # itself a tuple with `+=`: list concatenation instead of a sum (zeros).
    a, b = np.array([0.3, -0.7, 1.1]), np.array([0.5, 0.2, -0.4])
    g = ast_ad.grad(helper_of_one_argument)
    np.testing.assert_allclose(ast_ad.jacrev(g)(a, b), np.diag(2 * b))
    np.testing.assert_allclose(ast_ad.jacrev(g, argnums=1)(a, b), np.diag(2 * a))


def read_then_changed_by_a_helper(x):
    z = x * 1.0
    t = np.sum(z * z)
    write_first(z, 5.0)
    return t


def step_in_place(h, w):
    h += w * h
    return h


def stepped_in_a_loop(x):
    h = x * 1.0
    for _ in range(3):
        h = step_in_place(h, x)
    return np.sum(h)


def pushed_and_never_read(a):
    s = []
    push(s, a * 2.0)
    return a * a


def test_an_argument_read_before_a_helper_changes_it_is_rejected():
    # the backward pass of `t = np.sum(z * z)` reads z, which write_first changed (wrong
    # gradient in reverse mode)
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(read_then_changed_by_a_helper)(X1)
    assert "write_first changes its argument `z` in place" in str(info.value)
    assert "`z` was read before" in str(info.value)
    assert info.value.location.lineno == read_then_changed_by_a_helper.__code__.co_firstlineno + 3


@pytest.mark.parametrize("f, x", [(stepped_in_a_loop, X1), (pushed_and_never_read, 3.0)])
def test_a_helper_may_change_what_the_caller_no_longer_reads(f, x):
    check_gradient(f, x)
    check_jvp(f, x)


# -- a helper that fills a new list with views of its argument changes the list only -----


def pieces(flat):
    out, start = [], 0
    for size in (3, 3):
        out.append(np.reshape(flat[start:start + size], (size, 1)))
        start += size
    return out


def from_pieces(flat):
    a, b = pieces(flat)
    return np.sum(np.tanh(a * b.T)) + np.dot(flat, flat)


def raveled(layers):
    return np.concatenate([np.ravel(w) for layer in layers for w in layer])


def penalised(layers):
    flat = raveled(layers)
    return np.dot(flat, flat) + np.sum(np.sin(layers[0][0]))


def appends_to_a_list_it_put_in_its_argument(nested, v):
    out = []
    nested.append(out)
    out.append(v)
    return 2.0


def reads_after_a_list_in_it_grew(x):
    nested = [[x]]
    scale = appends_to_a_list_it_put_in_its_argument(nested, x * 3.0)
    return nested[-1][0] * scale


def appends_through_a_copy_of_an_item(nested, v):
    out = [nested[0]]
    out[0].append(v)
    return 2.0


def reads_after_an_item_grew(x):
    nested = [[x], [x]]
    scale = appends_through_a_copy_of_an_item(nested, x * 3.0)
    return nested[0][-1] * scale


def test_a_new_list_of_views_of_an_argument_is_not_a_change_of_it():
    flat = np.linspace(-1.0, 1.0, 6)
    check_gradient(from_pieces, flat)
    check_jvp(from_pieces, flat)
    layers = [(np.array([[0.5, -1.0], [2.0, 0.3]]), np.array([0.1, -0.2]))]
    grads = ast_ad.grad(penalised)(layers)
    w, b = layers[0]
    np.testing.assert_allclose(grads[0][0], 2 * w + np.cos(w))
    np.testing.assert_allclose(grads[0][1], 2 * b)


@pytest.mark.parametrize("fn", [reads_after_a_list_in_it_grew, reads_after_an_item_grew])
def test_a_list_the_argument_holds_that_grows_is_still_a_change_of_it(fn):
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match="changes its argument `nested`"):
        ast_ad.grad(fn)(1.5)


# -- helpers whose changes were missed or imagined ----------------------------------------------
# A helper ast-ad could not analyse (a chained write `ys[0][1] = v` is rejected) was assumed to
# change nothing: called where its result carries no derivative, its write into the caller's
# array was missed and the gradient silently wrong.

def write_through_a_list(a):
    ys = [a]
    ys[0][1] = 3.0
    return 0.0


def write_through_a_dict(a):
    d = {"a": a}
    d["a"][0] = 2.0
    return 0.0


def changed_by_an_unanalysed_helper(x):
    z = x * 1.0
    t = np.sum(z * x)
    write_through_a_list(z)
    return t + np.sum(z * x)


def changed_through_a_dict(x):
    z = x * 1.0
    t = np.sum(z * x)
    write_through_a_dict(z)
    return t + np.sum(z * x)


def scipy_like(f, y0, data):
    out = [y0, {"message": ""}]
    out[1]["message"] = "done"
    return y0 * data


def passes_a_function(x):
    return np.sum(scipy_like(squared_sum, x, 2.0))


@pytest.mark.parametrize("f, callee", [(changed_by_an_unanalysed_helper, "write_through_a_list"),
                                       (changed_through_a_dict, "write_through_a_dict")])
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_a_helper_ast_ad_cannot_analyse_is_assumed_to_change_its_arguments(f, callee, mode):
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        if mode == "grad":
            ast_ad.grad(f)(X1)
        else:
            ast_ad.jvp(f, (X1,), (np.ones(3),))
    assert f"{callee} may change its argument `z` in place: ast-ad cannot read it" \
        in str(info.value)


# A list made in the helper that holds an argument (`ys = [y0]`, the trajectory of an ODE
# solver, the layers of a flat parameter vector) is a new list: appending to it changes no
# argument, and the call used to be rejected as if it did.

def trajectory(y0, a):
    ys = [y0]
    y = y0
    for _ in range(3):
        y = y * a
        ys.append(y)
    return np.stack(ys)


def layers_of(w):
    layers = []
    layers.append((w[:2], w[2]))
    return layers


Y0 = np.array([1.0, 2.0])


def trajectory_from_a_global(a):
    return np.sum(trajectory(Y0, a) ** 2)


def trajectory_after_a_read(a, y0):
    return np.sum(y0 * a) + np.sum(trajectory(y0, a) ** 2)


def layers_after_a_read(w):
    W, b = layers_of(w)[0]
    return np.sum(w ** 2) + np.sum(np.tanh(W * b))


@pytest.mark.parametrize("f, args", [(trajectory_from_a_global, (0.7,)),
                                     (trajectory_after_a_read, (0.7, np.array([0.5, -1.5]))),
                                     (layers_after_a_read, (X1,))])
def test_a_list_the_helper_made_holding_an_argument_may_grow(f, args):
    check_gradient(f, *args)
    check_jvp(f, *args)


def item_of_a_new_list_written(a):
    ys = [a]
    r = ys[0]
    r[0] = 5.0
    return 0.0


def written_through_an_item_of_a_new_list(x):
    z = x * 1.0
    t = np.sum(z * x)
    item_of_a_new_list_written(z)
    return t + np.sum(z * x)


def test_a_write_into_an_item_of_a_new_list_still_changes_the_argument():
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(written_through_an_item_of_a_new_list)(X1)
    assert "item_of_a_new_list_written changes its argument `z` in place" in str(info.value)


def test_a_function_given_to_an_unreadable_helper_is_not_changed():
    # (squared_sum is assumed changed like any argument; a function cannot change: no rejection
    # that names it, rather the helper's own error when it is differentiated)
    with pytest.raises(ast_ad.UnsupportedSyntaxError) as info:
        ast_ad.grad(passes_a_function)(X1)
    assert "writing into part of an indexed value" in str(info.value)
    assert "the global `squared_sum`" not in str(info.value)


# vjp and jacrev call the backward function again and again. It puts back what the
# forward pass overwrote, into the saved array itself; a view of that array read before
# the write (`y[1:3] * ...` below) must see it put back. The saved arrays were handed to
# the backward pass as copies, which that view is not a view of: it kept the overwritten
# values, and the cotangent of x[:2] came out wrong (jacfwd was right).


def view_read_then_written(x):
    y = np.zeros(x.shape[0])
    y[::-1] = x ** 2
    y[1:3] = y[1:3] * x[:2]
    return y


def test_a_saved_view_sees_what_vjp_puts_back():
    x = np.array([0.3, -0.7, 1.2, 0.5])
    jacobian = ast_ad.jacfwd(view_read_then_written)(x)
    value, vjp_fn = ast_ad.vjp(view_read_then_written, x)
    kept = value.copy()
    u = np.array([1.0, 2.0, 3.0, 4.0])
    for _ in range(2):  # (and again: the saved values are as they were)
        np.testing.assert_allclose(vjp_fn(u)[0], u @ jacobian, rtol=1e-12)
    np.testing.assert_array_equal(value, kept)  # the caller's output is left alone
    np.testing.assert_allclose(ast_ad.jacrev(view_read_then_written)(x), jacobian,
                               rtol=1e-12)


# A helper called (not inlined: it has a default) whose backward function puts values back
# into the array it returned: the caller's backward pass read that array after calling
# the helper's backward function (`bt2 * z`, folded into by's sum) and saw the values put
# back, not those returned. The helper now returns a copy of such an array.


def filled_then_rescaled(x, c=1.0):
    y = np.zeros(x.shape[0])
    y[::-1] = x ** 2
    y[1:3] = y[1:3] * x[:2] * c
    return y


def reads_a_helpers_output_after_its_backward(x):
    y = filled_then_rescaled(x)
    z = filled_then_rescaled(y * 0.5)
    return np.sum(y * z) + np.sum(y ** 2)


def filled_pair(x, c=1.0):
    y = np.zeros(x.shape[0])
    y[::-1] = x ** 2
    y[1:3] = y[1:3] * x[:2] * c
    return y, np.sum(y)


def reads_a_tuple_output_after_its_backward(x):
    y, s = filled_pair(x)
    z, t = filled_pair(y * 0.5)
    return np.sum(y * z) + s * t


@pytest.mark.parametrize("f", [reads_a_helpers_output_after_its_backward,
                               reads_a_tuple_output_after_its_backward])
def test_a_helpers_output_is_not_what_its_backward_puts_back(f):
    x = np.array([0.3, -0.7, 1.2, 0.5])
    check_gradient(f, x)
    check_jvp(f, x)
