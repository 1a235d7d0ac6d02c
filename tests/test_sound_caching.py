"""Cached code never outlives what it assumed; caches are bounded, weak and thread-safe."""

import functools
import gc
import importlib
import sys
import textwrap
import threading
import types
import weakref

import numpy as np
import pytest
from numeric import numeric_gradient

import ast_ad
from ast_ad import cache

X = np.array([0.3, 0.7, -0.4])


def write_module(tmp_path, name: str, text: str):
    """Import `text` as a fresh module `name` (from a file, so its source is readable)."""
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
    sys.path.insert(0, str(tmp_path))
    try:
        sys.modules.pop(name, None)
        importlib.invalidate_caches()
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def jvp_tangent(f, x):
    return ast_ad.jvp(f, (x,), (np.ones_like(x),))[1]


# -- 1. rebinding what the code was generated for ----------------------------------


ACTIVATIONS = """
    import numpy as np

    act = np.tanh

    def f(x):
        return np.sum(act(x))

    def h1(x):
        return x ** 2

    def h2(x):
        return x ** 3

    helper = h1

    def g(x):
        return helper(x) * 2.0

    def calls_g(x):
        return g(x) + x
"""


def test_rebinding_a_global_function_regenerates(tmp_path):
    m = write_module(tmp_path, "rebind_act", ACTIVATIONS)
    g = ast_ad.grad(m.f)
    np.testing.assert_allclose(g(X), 1 - np.tanh(X) ** 2)
    assert np.sum(jvp_tangent(m.f, X)) == pytest.approx(np.sum(1 - np.tanh(X) ** 2))
    m.act = np.sin
    np.testing.assert_allclose(g(X), np.cos(X))  # was tanh's derivative
    np.testing.assert_allclose(ast_ad.grad(m.f)(X), np.cos(X))
    assert jvp_tangent(m.f, X) == pytest.approx(np.sum(np.cos(X)))
    _, vjp_fn = ast_ad.vjp(m.f, X)
    np.testing.assert_allclose(vjp_fn(1.0)[0], np.cos(X))
    np.testing.assert_allclose(ast_ad.value_and_grad(m.f)(X)[1],
                               numeric_gradient(m.f, (X,), 0), rtol=1e-6)


def test_rebinding_a_helper_regenerates_callers(tmp_path):
    m = write_module(tmp_path, "rebind_helper", ACTIVATIONS)
    g, outer = ast_ad.grad(m.g), ast_ad.grad(m.calls_g)
    assert (g(2.0), outer(2.0)) == (8.0, 9.0)
    m.helper = m.h2
    assert (g(2.0), outer(2.0)) == (24.0, 25.0)  # was 8.0 and 9.0: h1's gradient
    assert ast_ad.jvp(m.calls_g, (2.0,), (1.0,))[1] == 25.0
    m.helper = m.h1
    assert (g(2.0), outer(2.0)) == (8.0, 9.0)


def test_rebinding_a_global_in_a_callees_module(tmp_path):
    m = write_module(tmp_path, "rebind_callee_module", ACTIVATIONS)
    user = write_module(tmp_path, "rebind_callee_user", """
        from rebind_callee_module import g

        def uses(x):
            return g(x) * 3.0
    """)
    g = ast_ad.grad(user.uses)
    assert g(2.0) == 24.0
    m.helper = m.h2  # a global of the callee's module, not of the caller's
    assert g(2.0) == 72.0


def make_closure():
    act = np.tanh

    def f(x):
        return np.sum(act(x))

    def rebind():
        nonlocal act
        act = np.sin

    return f, rebind


def test_rebinding_a_closure_cell_regenerates():
    f, rebind = make_closure()
    g = ast_ad.grad(f)
    np.testing.assert_allclose(g(X), 1 - np.tanh(X) ** 2)
    rebind()
    np.testing.assert_allclose(g(X), np.cos(X))


def test_a_module_alias_the_function_never_reads_is_not_used(tmp_path):
    # The generated code reached numpy through any global bound to it (`BACKEND.full_like`):
    # rebinding BACKEND changed the gradient of a function that never reads it.
    m = write_module(tmp_path, "rebind_backend", """
        import numpy as _numpy
        BACKEND = _numpy

        def loss(x, W):
            return (W @ x).sum()
    """)
    W = np.arange(6.0).reshape(2, 3)
    g = ast_ad.grad(m.loss)
    np.testing.assert_allclose(g(X, W), W.sum(axis=0))
    assert "BACKEND" not in ast_ad.source(g, X, W)
    m.BACKEND = types.SimpleNamespace(full_like=lambda a, v: np.zeros_like(a))
    np.testing.assert_allclose(g(X, W), W.sum(axis=0))  # was zeros


def test_rebinding_a_module_alias_the_function_reads(tmp_path):
    m = write_module(tmp_path, "rebind_alias", """
        import math
        import numpy
        BACKEND = numpy

        def f(x):
            return BACKEND.sin(x) * 2.0
    """)
    g = ast_ad.grad(m.f)
    assert g(1.0) == pytest.approx(2 * np.cos(1.0))
    m.BACKEND = types.SimpleNamespace(sin=np.tanh)
    assert g(1.0) == pytest.approx(2 * (1 - np.tanh(1.0) ** 2))


def test_global_constants_changing_kind_or_shape(tmp_path):
    m = write_module(tmp_path, "rebind_constant", """
        import numpy as np
        W = 2.0
        V = np.ones(3)

        def f(x):
            return np.sum(x * W)

        def g(x):
            return np.sum(x * V)
    """)
    gf, gg = ast_ad.grad(m.f), ast_ad.grad(m.g)
    assert gf(0.5) == 2.0 and gg(0.5) == 3.0
    m.W = np.arange(3.0)  # a float became an array: x's gradient sums it
    assert gf(0.5) == 3.0  # was [0. 1. 2.]: `bx = W`, generated for a float W
    assert ast_ad.jvp(m.f, (0.5,), (1.0,))[1] == 3.0
    m.W = 4.0  # another float: the same code again, the value is read when it runs
    assert gf(0.5) == 4.0
    m.V = np.ones((2, 3))  # another shape
    assert gg(0.5) == 6.0
    np.testing.assert_allclose(ast_ad.grad(m.g)(np.ones(3)), [2.0, 2.0, 2.0])


def test_second_derivatives_follow_a_rebinding(tmp_path):
    m = write_module(tmp_path, "rebind_second", """
        import numpy as np
        act = np.sin

        def f(x):
            return act(x) * 1.0
    """)
    g2 = ast_ad.grad(ast_ad.grad(m.f))
    assert g2(0.5) == pytest.approx(-np.sin(0.5))
    m.act = np.cos
    assert g2(0.5) == pytest.approx(-np.cos(0.5))
    assert ast_ad.hessian(m.f)(0.5) == pytest.approx(-np.cos(0.5))


def test_an_unchanged_world_is_not_regenerated(tmp_path, monkeypatch):
    m = write_module(tmp_path, "rebind_nothing", ACTIVATIONS)
    calls = []
    real = ast_ad.compile.generate
    monkeypatch.setattr(ast_ad.compile, "generate",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    g = ast_ad.grad(m.calls_g)
    for _ in range(3):
        assert g(2.0) == 9.0
    m.helper = m.h1  # rebound to the same function
    assert g(2.0) == 9.0
    assert len(calls) == 3  # calls_g, g, h1 once each


# -- 2. decorators ------------------------------------------------------------------


def twice(f):
    @functools.wraps(f)
    def wrapper(x):
        return 2 * f(x)
    return wrapper


@twice
def cube(x):
    return x ** 3


def test_functools_wraps_differentiates_the_wrapper_not_the_wrapped():
    assert cube(1.0) == 2.0
    assert ast_ad.grad(cube)(1.0) == 6.0  # was 3.0: the derivative of __wrapped__
    assert ast_ad.value_and_grad(cube)(2.0) == (16.0, 24.0)
    assert ast_ad.jvp(cube, (1.0,), (1.0,)) == (2.0, 6.0)


def logged(f):
    @functools.wraps(f)
    def wrapper(*args):
        return f(*args)
    return wrapper


@logged
def square(x):
    return x * x


def test_a_wrapper_that_cannot_be_differentiated_is_rejected():
    with pytest.raises(ast_ad.UnsupportedSyntaxError, match=r"\*args") as info:
        ast_ad.grad(square)
    assert "test_sound_caching.py" in str(info.value)


# -- 3. a file edited after import ------------------------------------------------------


def test_source_edited_after_import_is_rejected(tmp_path):
    m = write_module(tmp_path, "edited_on_disk", """
        def f(x):
            return x ** 3
    """)
    (tmp_path / "edited_on_disk.py").write_text("def f(x):\n    return x * 5.0\n")
    assert m.f(3.0) == 27.0
    with pytest.raises(ast_ad.SourceUnavailableError, match="reload the module") as info:
        ast_ad.value_and_grad(m.f)(3.0)  # was (15.0, 5.0): the file's derivative
    assert "edited_on_disk.py:1:1: the source of edited_on_disk.f" in str(info.value)
    assert "is not the code that runs" in str(info.value)
    with pytest.raises(ast_ad.SourceUnavailableError, match="reload the module"):
        ast_ad.jvp(m.f, (3.0,), (1.0,))
    sys.path.insert(0, str(tmp_path))
    try:
        m = importlib.reload(m)
    finally:
        sys.path.remove(str(tmp_path))
    assert ast_ad.value_and_grad(m.f)(3.0) == (15.0, 5.0)


def test_a_callee_edited_after_import_is_rejected(tmp_path):
    m = write_module(tmp_path, "edited_callee", """
        def helper(x):
            return x ** 3

        def f(x):
            return helper(x) + 1.0
    """)
    (tmp_path / "edited_callee.py").write_text(
        "def helper(x):\n    return x * 5.0\n\ndef f(x):\n    return helper(x) + 1.0\n")
    with pytest.raises(ast_ad.SourceUnavailableError, match="edited_callee.helper"):
        ast_ad.grad(m.f)(3.0)


def test_a_lambda_edited_after_import_is_rejected(tmp_path):
    m = write_module(tmp_path, "edited_lambda", """
        k = 2.0
        f = lambda x: x ** 3 * k
    """)
    (tmp_path / "edited_lambda.py").write_text("\nk = 2.0\nf = lambda x: x * 5.0 * k\n")
    with pytest.raises(ast_ad.SourceUnavailableError, match="lambda at .*edited_lambda.py:3"):
        ast_ad.grad(m.f)(1.0)  # was 10.0: the file's derivative


# -- 4. threads ---------------------------------------------------------------------


def pair_loss(x, y):
    return np.sum(x * y) + np.sum(y ** 2)


def run_threads(n, target):
    errors = []

    def run(k):
        try:
            target(k)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert not errors, errors[:3]


def test_one_gradient_called_from_16_threads_with_many_shapes():
    g = ast_ad.grad(pair_loss, argnums=1)
    wrong = []

    def calls(k):
        for i in range(300):
            n = (k + i) % 6 + 1
            y = np.arange(float(n)) if n % 2 else np.arange(2.0 * n).reshape(2, n)
            r = g(1.5, y)
            if r.shape != y.shape or not np.allclose(r, 1.5 + 2 * y):
                wrong.append((y.shape, r))

    run_threads(16, calls)
    assert not wrong


def test_16_threads_compiling_callers_of_one_helper(tmp_path):
    text = "def helper(x):\n    return x * x\n\n" + "".join(
        f"def caller{i}(x):\n    return helper(x) * {i + 1}.0\n\n" for i in range(16))
    m = write_module(tmp_path, "threads_helper", text)
    results = {}

    def compile_one(k):
        results[k] = ast_ad.grad(getattr(m, f"caller{k}"))(2.0)

    run_threads(16, compile_one)  # was: "helper is recursive" from other threads' compiling
    assert results == {k: 4.0 * (k + 1) for k in range(16)}


def test_rebinding_while_16_threads_call(tmp_path):
    m = write_module(tmp_path, "threads_rebind", ACTIVATIONS)
    g = ast_ad.grad(m.g)
    seen = set()

    def calls(k):
        for i in range(100):
            if k == 0 and i == 50:
                m.helper = m.h2
            seen.add(g(2.0))

    run_threads(16, calls)
    assert seen <= {8.0, 24.0} and g(2.0) == 24.0


# -- 5. caches: weak, bounded, one place -----------------------------------------------


def make_scaled(k):
    def f(x):
        return x * x * k
    return f


def test_dropped_functions_are_collected_and_caches_stay_bounded(tmp_path):
    gc.collect()
    before = cache.size()
    refs = []
    namespace_source = ("import numpy as np\n\ndef h(x):\n    return np.sin(x) * x\n\n"
                        "def caller(x):\n    return h(x) + x\n")
    module = write_module(tmp_path, "many_functions", namespace_source)
    for k in range(1000):
        f = make_scaled(float(k))
        refs.append(weakref.ref(f))
        g = ast_ad.grad(f)  # reads, checks and remembers the source
        if k % 4 == 0:  # generating code takes ~10 ms: for a quarter of them
            assert g(2.0) == pytest.approx(4.0 * k)
        if k % 50 == 0:  # functions whose globals hold them, and their callees
            ns = dict(module.__dict__)
            exec(compile(namespace_source, module.__file__, "exec"), ns)
            refs.append(weakref.ref(ns["caller"]))
            assert ast_ad.jvp(ns["caller"], (1.0,), (1.0,))[1] == pytest.approx(
                np.cos(1.0) + np.sin(1.0) + 1.0)
            ast_ad.grad(ast_ad.grad(ns["caller"]))(1.0)
            del ns
        if k % 100 == 0:
            gc.collect()  # the exec'd functions are in cycles with their globals
            assert cache.size() - before < 40  # bounded while it runs, too
    del f, g
    gc.collect()
    assert sum(r() is not None for r in refs) == 0
    assert cache.size() - before < 20
    assert not [k for k in sys.modules["linecache"].cache
                if "make_scaled.<locals>.f" in str(k)]


def test_per_function_entries_are_bounded():
    def f(x):
        return np.sum(x * x)

    g = ast_ad.grad(f)
    for n in range(1, cache.MAX_ENTRIES + 20):
        ast_ad.jvp(f, (np.ones(n),), (np.ones(n),))
        g(np.ones(n))
    assert len(cache.entries(f, "transforms")) <= cache.MAX_ENTRIES
    assert len(cache.entries(f, "generated")) <= cache.MAX_ENTRIES


def test_clear_caches_forgets_everything(monkeypatch):
    def f(x):
        return x * x

    g = ast_ad.grad(f)
    assert g(3.0) == 6.0 and ast_ad.jvp(f, (3.0,), (1.0,)) == (9.0, 6.0)
    assert cache.entries(f, "generated") and cache.entries(f, "transforms")
    ast_ad.clear_caches()
    assert not cache.entries(f, "generated") and not cache.entries(f, "transformed")
    assert not cache.entries(f, "transforms")
    calls = []
    real = ast_ad.compile.generate
    monkeypatch.setattr(ast_ad.compile, "generate",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    assert g(3.0) == 6.0 and len(calls) == 1  # generated again


def test_functions_stay_picklable_and_copyable():
    import copy
    import pickle

    g = ast_ad.grad(make_scaled(3.0))
    assert g(1.0) == 6.0
    f = g.__wrapped__
    holder = f.__dict__["__ast_ad_cache__"]
    assert type(pickle.loads(pickle.dumps(holder))) is type(holder)  # empty: no code, no refs
    assert copy.deepcopy(f.__dict__)["__ast_ad_cache__"].owner is None


def test_clear_caches_forgets_everything_every_time():
    # clear_caches() emptied the tables and forgot which functions had them; code made
    # after a first clear survived the second (a later clear_caches() did nothing).
    def f(x):
        return x * x

    for _ in range(3):
        ast_ad.clear_caches()
        assert cache.entries(f, "generated") == {}
        assert ast_ad.grad(f)(3.0) == 6.0
        assert len(cache.entries(f, "generated")) == 1
