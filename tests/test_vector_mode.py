"""Vector mode: jacfwd, jacobian, hessian in one generated call (docs/vector_mode.md).

Each result is compared with the one-direction-at-a-time path (what vector mode
replaces) and with central differences; hvp with the Hessian times v.
"""

import numpy as np
import pytest
import vector_cases as vc
from numeric import numeric_gradient

import ast_ad
from ast_ad import transforms

rng = np.random.default_rng(7)


def per_direction(fun, argnums, hessian=False):
    nums, is_tuple = (argnums, True) if isinstance(argnums, tuple) else ((argnums,), False)
    target = ast_ad.grad(fun, argnums) if hessian else fun
    return transforms._jacfwd_loop(target, nums, is_tuple)


def jacobian_by_differences(fun, args, argnum, eps=1e-6):
    x = np.asarray(args[argnum], dtype=float)
    columns = []
    for j in range(x.size):
        def moved(step, j=j):
            y = x.copy()
            y.flat[j] += step
            shifted = list(args)
            shifted[argnum] = y if np.ndim(args[argnum]) else float(y)
            return np.asarray(fun(*shifted), dtype=float)
        columns.append((moved(eps) - moved(-eps)) / (2 * eps))
    out = np.shape(fun(*args))
    return np.stack(columns, axis=-1).reshape(out + x.shape)


def state_of(made):
    return made.__ast_ad_jacobian__


def close(a, b, rtol=1e-9, atol=1e-10):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                               rtol=rtol, atol=atol)


# (function, argnums, arguments)
HESSIANS = [
    (vc.rosenbrock, 0, (np.linspace(-1.0, 1.5, 6),)),
    (vc.matrix_loss, 0, (rng.normal(size=(3, 3)), rng.normal(size=3))),
    (vc.array_loop, 0, (rng.normal(size=5),)),
    (vc.branches, 0, (np.array([0.3, 0.1, 0.4]),)),
    (vc.branches, 0, (np.array([-0.3, 0.1, -0.4]),)),
    (vc.with_helper, 0, (rng.normal(size=4),)),
    (vc.mixed, 0, (rng.normal(size=3), 1.3)),
    (vc.recurrence, 0, (np.array([0.3, -0.4, 0.7, 0.2]),)),
]


@pytest.mark.parametrize("fun, argnums, args", HESSIANS,
                         ids=[f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(HESSIANS)])
def test_hessian_in_one_call(fun, argnums, args):
    made = ast_ad.hessian(fun, argnums)
    got = made(*args)
    assert state_of(made).why is None  # vector mode, not the per-direction loop
    close(got, per_direction(fun, argnums, hessian=True)(*args))
    gradient = ast_ad.grad(fun, argnums)
    close(got, jacobian_by_differences(gradient, args, argnums), rtol=1e-5, atol=1e-5)


def test_hessian_reading_rows_a_loop_writes():
    # (a 2-D state's shape is lost at the loop merge: the per-direction path, still right)
    args = (rng.normal(size=(3, 2)),)
    got = ast_ad.hessian(vc.row_recurrence)(*args)
    close(got, jacobian_by_differences(ast_ad.grad(vc.row_recurrence), args, 0),
          rtol=1e-5, atol=1e-5)


def test_hessian_of_floats_is_folded_scalar_code():
    made = ast_ad.hessian(vc.seed, (0, 1))
    got = made(2.0, 5.0)
    assert got == ((-0.25, 1.0), (1.0, np.sin(5.0)))
    assert all(type(v) is float for row in got for v in row)
    text = ast_ad.generated_source(vc.seed, 2.0, 5.0, mode="hessian")
    assert "np." not in text and "return (" in text
    close(got, per_direction(vc.seed, (0, 1), hessian=True)(2.0, 5.0))


def test_hessian_of_a_float_loop():
    made = ast_ad.hessian(vc.float_loop, (0, 1))
    got = made(0.4, 0.9)
    assert state_of(made).why is None
    close(got, per_direction(vc.float_loop, (0, 1), hessian=True)(0.4, 0.9))
    for i in range(2):
        g = ast_ad.grad(vc.float_loop, i)
        for j in range(2):
            expected = numeric_gradient(g, (0.4, 0.9), j)
            close(got[i][j], expected, rtol=1e-5, atol=1e-6)


JACOBIANS = [
    (vc.tanh_cubic, 0, (rng.normal(size=6), rng.normal(size=(6, 6)))),
    (vc.tanh_cubic, 1, (rng.normal(size=3), rng.normal(size=(3, 3)))),
    (vc.tanh_cubic, (0, 1), (rng.normal(size=3), rng.normal(size=(3, 3)))),
    (vc.matrix_map, 0, (rng.normal(size=(3, 3)), rng.normal(size=3))),
    (vc.model, 0, (np.array([2.5, 1.3, 0.5]), np.linspace(0.0, 4.0, 7))),
]


@pytest.mark.parametrize("fun, argnums, args", JACOBIANS,
                         ids=[f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(JACOBIANS)])
def test_jacfwd_in_one_call(fun, argnums, args):
    made = ast_ad.jacfwd(fun, argnums)
    got = made(*args)
    assert state_of(made).why is None
    expected = per_direction(fun, argnums)(*args)
    if isinstance(argnums, tuple):
        for g, e, i in zip(got, expected, argnums):
            close(g, e)
            close(g, jacobian_by_differences(fun, args, i), rtol=1e-5, atol=1e-6)
    else:
        close(got, expected)
        close(got, jacobian_by_differences(fun, args, argnums), rtol=1e-5, atol=1e-6)


def test_tuple_output_and_mixed_inputs():
    x, s = rng.normal(size=3), 0.7
    made = ast_ad.jacfwd(vc.two_outputs, (0, 1))
    got = made(x, s)
    assert state_of(made).why is None
    expected = per_direction(vc.two_outputs, (0, 1))(x, s)
    for g_out, e_out in zip(got, expected):
        for g, e in zip(g_out, e_out):
            close(g, e)


def test_jacobian_picks_vector_forward_mode():
    args = (np.array([1.0, 0.5, 0.0]), np.linspace(0.0, 4.0, 20))
    made = ast_ad.jacobian(vc.model)
    close(made(*args), per_direction(vc.model, 0)(*args))
    assert state_of(made).why is None
    wide = ast_ad.jacobian(vc.model)
    close(wide(np.ones(3), np.ones(2)), per_direction(vc.model, 0)(np.ones(3), np.ones(2)))
    assert "reverse" in state_of(wide).why  # 2 outputs of 3 inputs: reverse mode


def test_float32():
    x = np.linspace(-1.0, 1.5, 6).astype(np.float32)
    got = ast_ad.hessian(vc.rosenbrock)(x)
    close(got, per_direction(vc.rosenbrock, 0, hessian=True)(x), rtol=1e-5, atol=1e-3)
    close(got, ast_ad.hessian(vc.rosenbrock)(x.astype(float)), rtol=1e-4, atol=1e-2)
    assert got.dtype == np.float32


@pytest.mark.parametrize("jac", ["jacobian", "jacfwd", "jacrev", "hessian"])
def test_float32_stays_float32(jac):
    """As in JAX: float32 inputs (and outputs) give float32 Jacobians and Hessians (the
    identity seeds, unit vectors and stacked columns were float64)."""
    x = np.linspace(-1.0, 1.5, 4).astype(np.float32)
    A = rng.normal(size=(4, 4)).astype(np.float32)
    fun = vc.matrix_loss if jac == "hessian" else vc.tanh_cubic
    args = (A, x) if jac == "hessian" else (x, A)
    made = getattr(ast_ad, jac)(fun)
    got = made(*args)
    assert got.dtype == np.float32, (jac, got.dtype)
    wide = made(*[a.astype(np.float64) for a in args])
    assert wide.dtype == np.float64
    close(got, wide, rtol=1e-4, atol=1e-4)
    if jac in ("jacfwd", "hessian"):  # in one call (np.asarray(g, dtype=x.dtype) batched)
        assert state_of(made).why is None, state_of(made).why


def test_a_rule_it_cannot_batch_falls_back_soundly():
    x = rng.normal(size=4)
    made = ast_ad.hessian(vc.cumulative)
    got = made(x)
    assert "cannot batch" in state_of(made).why
    close(got, jacobian_by_differences(ast_ad.grad(vc.cumulative), (x,), 0), rtol=1e-5,
          atol=1e-6)


def test_a_loop_that_saves_array_values_falls_back_soundly():
    # the values pass does not know the shape of what the gradient's stack pops
    x = np.array([0.3, -0.2, 0.5])
    made = ast_ad.hessian(vc.array_state_loop)
    got = made(x)
    assert "shape" in state_of(made).why
    close(got, jacobian_by_differences(ast_ad.grad(vc.array_state_loop), (x,), 0), rtol=1e-5,
          atol=1e-6)


def test_containers_keep_working():
    params, x = {"w": rng.normal(size=3), "b": 0.3}, rng.normal(size=3)
    made = ast_ad.jacfwd(vc.dict_loss)
    got = made(params, x)
    assert state_of(made).why is not None  # the per-direction path handles containers
    close(got["w"], numeric_gradient(lambda w: vc.dict_loss({"w": w, "b": 0.3}, x), (
        params["w"],), 0), rtol=1e-5, atol=1e-6)


def test_hvp():
    x, v = np.linspace(-1.0, 1.5, 6), rng.normal(size=6)
    close(ast_ad.hvp(vc.rosenbrock)(x, v), ast_ad.hessian(vc.rosenbrock)(x) @ v)
    s, w = 1.3, rng.normal(size=3)
    y = rng.normal(size=3)
    H = ast_ad.hessian(vc.mixed, (0, 1))(y, s)
    got = ast_ad.hvp(vc.mixed, (0, 1))(y, s, (w, 0.5))
    close(got[0], H[0][0] @ w + H[0][1] * 0.5)
    close(got[1], H[1][0] @ w + H[1][1] * 0.5)


def test_hvp_wrong_vectors():
    with pytest.raises(ast_ad.ADError, match="hvp got 3 vector"):
        ast_ad.hvp(vc.mixed, (0, 1))(np.ones(3), 1.0, np.ones(3))
    with pytest.raises(ast_ad.ADError, match=r"has shape \(2,\), but the argument has"):
        ast_ad.hvp(vc.rosenbrock)(np.ones(3), np.ones(2))
    # a vector NumPy cannot make an array of is told apart by its structure (not a ValueError)
    with pytest.raises(ast_ad.ADError, match="vector for argument 0 has the structure"):
        ast_ad.hvp(vc.rosenbrock)(np.ones(3), [np.ones(3), {"a": 1.0}])


def test_hessian_of_a_vector_valued_function_is_rejected():
    with pytest.raises(ast_ad.NonScalarOutputError):
        ast_ad.hessian(vc.vector_valued)(np.ones(3))


def test_grad_of_grad_with_respect_to_an_array():
    x, s = rng.normal(size=3), 1.5
    got = ast_ad.grad(ast_ad.grad(vc.mixed, 1), 0)(x, s)
    close(got, 2 * s * np.cos(x) + np.eye(3)[0])
    close(got, numeric_gradient(ast_ad.grad(vc.mixed, 1), (x, s), 0), rtol=1e-5, atol=1e-6)


def test_grad_of_grad_of_an_array_gradient_is_rejected():
    with pytest.raises(ast_ad.ADError, match="its value is not a scalar"):
        ast_ad.grad(ast_ad.grad(vc.rosenbrock))(np.ones(3))


def test_cli_shows_the_vector_function(capsys):
    from ast_ad import cli

    path = vc.__file__
    assert cli.main(["show", path, "-f", "rosenbrock", "--mode", "hessian",
                     "--at", "[1.0, 2.0, 3.0]"]) == 0
    out = capsys.readouterr().out
    assert "def rosenbrock_hessian(x):" in out and "dx = identity3" in out
    assert cli.main(["show", path, "-f", "tanh_cubic", "--mode", "jacfwd", "--argnums", "0",
                     "--at", "[1.0, 2.0], [[1.0, 0.0], [0.0, 2.0]]"]) == 0
    assert "def tanh_cubic_jacfwd(x, A):" in capsys.readouterr().out


REVERSE = [
    (vc.tanh_cubic, 0, (rng.normal(size=6), rng.normal(size=(6, 6))), True),
    (vc.tanh_cubic, (0, 1), (rng.normal(size=3), rng.normal(size=(3, 3))), True),
    (vc.model, 0, (np.array([2.5, 1.3, 0.5]), np.linspace(0.0, 4.0, 7)), True),
    (vc.matrix_map, 0, (rng.normal(size=(3, 3)), rng.normal(size=3)), False),
    (vc.rosenbrock, 0, (rng.normal(size=4),), False),
    # the backward function reads its residuals in the order its own forward saved them
    (vc.residual_order, 1, (rng.normal(size=3), rng.normal(size=(3, 3))), True),
]


@pytest.mark.parametrize("fun, argnums, args, vector", REVERSE,
                         ids=[f"{f.__name__}-{i}" for i, (f, _, _, _) in enumerate(REVERSE)])
def test_jacrev_in_one_backward_call(fun, argnums, args, vector):
    made = ast_ad.jacrev(fun, argnums)
    got = made(*args)
    assert (state_of(made).why is None) == vector, state_of(made).why
    nums, is_tuple = (argnums, True) if isinstance(argnums, tuple) else ((argnums,), False)
    expected = transforms._jacrev_loop(fun, nums, is_tuple)(*args)
    for g, e, i in zip(got if is_tuple else (got,), expected if is_tuple else (expected,), nums):
        assert np.shape(g) == np.shape(e)
        close(g, e)
        close(g, jacobian_by_differences(fun, args, i), rtol=1e-5, atol=1e-6)
    again = made(*args)  # the forward pass runs on every call
    for g, a in zip(got if is_tuple else (got,), again if is_tuple else (again,)):
        close(a, g)


def test_jacrev_follows_a_rebound_global():
    x, A = rng.normal(size=3), rng.normal(size=(3, 3))
    made = ast_ad.jacrev(vc.scaled)
    first = made(x, A)
    old = vc.SCALE
    try:
        vc.SCALE = 3.0
        close(made(x, A), first * 3.0 / old)
    finally:
        vc.SCALE = old


@pytest.mark.parametrize("transform", [ast_ad.jacfwd, ast_ad.jacrev, ast_ad.jacobian])
def test_the_jacobian_is_an_array_of_its_own(transform):
    # I @ A.T is A.T, and the seeds are made once: the result must not be a view of either
    x, A = np.ones(3), np.arange(9.0).reshape(3, 3)
    J = transform(vc.linear)(x, A)
    J[0, 0] = 100.0
    assert A[0, 0] == 0.0
    J = transform(vc.same)(x)
    J[0, 0] = 5.0
    close(transform(vc.same)(x), np.eye(3))


def test_a_jacobian_of_a_jacobian_is_rejected():
    with pytest.raises(ast_ad.ADError, match="jacfwd of a Jacobian or Hessian ast-ad made"):
        ast_ad.jacfwd(ast_ad.hessian(vc.rosenbrock))


def test_hvp_leaves_other_arguments_alone():
    params, x, v = {"w": rng.normal(size=3), "b": 0.3}, rng.normal(size=3), rng.normal(size=3)

    def loss_of_x(x):
        return vc.dict_loss(params, x)

    got = ast_ad.hvp(vc.dict_loss, 1)(params, x, v)
    expected = ast_ad.hessian(vc.dict_loss, 1)(params, x) @ v
    close(got, expected)


def test_second_derivative_through_a_runtime_helper_is_rejected_at_the_users_line():
    # grad's code computes this norm's derivative with ast_ad.runtime.norm_gradient,
    # which has no derivative rule: an error at the user's line, not inside ast-ad
    x = np.array([0.3, -0.4, 0.7, 0.2, 0.9, -0.1])
    np.testing.assert_allclose(ast_ad.grad(vc.row_normalized)(x),
                               numeric_gradient(vc.row_normalized, (x,), 0), atol=1e-6)
    line = vc.row_normalized.__code__.co_firstlineno + 2
    for made in (ast_ad.hessian(vc.row_normalized),
                 lambda x: ast_ad.hvp(vc.row_normalized)(x, x)):
        with pytest.raises(ast_ad.NoRuleError,
                           match="norm_gradient.*cannot be differentiated again") as err:
            made(x)
        assert f"vector_cases.py:{line}:" in str(err.value)
        assert "np.linalg.norm(a, axis=1" in str(err.value)


# A 0-d input's one direction, when it is the only input, kept its direction axis: the
# Jacobian of a scalar function of a 0-d array had shape (1,) rather than (), and jacrev
# of a scalar-valued function (whose backward pass is batched over a 0-d cotangent) had
# shape (1,) + input.shape rather than input.shape.


def scaled_sine(t):
    return np.sin(t) * 3.0


def sum_of_cubes(x):
    return np.sum(x ** 3)


@pytest.mark.parametrize("transform", [ast_ad.jacfwd, ast_ad.jacrev, ast_ad.jacobian,
                                       ast_ad.hessian])
def test_jacobian_of_a_scalar_of_a_0d_array_has_no_axes(transform):
    t = np.array(0.3)
    block = transform(scaled_sine)(t)
    assert np.shape(block) == ()
    want = 3.0 * np.cos(0.3) if transform is not ast_ad.hessian else -3.0 * np.sin(0.3)
    np.testing.assert_allclose(block, want, rtol=1e-12)


@pytest.mark.parametrize("x", [np.array([0.2, 0.5, -1.0]), np.ones((2, 3))])
def test_jacrev_of_a_scalar_valued_function_has_the_inputs_shape(x):
    block = ast_ad.jacrev(sum_of_cubes)(x)
    assert block.shape == x.shape
    np.testing.assert_allclose(block, 3 * x ** 2, rtol=1e-12)
