"""`ast-ad export`: the generated derivative as a standalone module, which runs with ast_ad
unimportable and gives what ast_ad gives."""

import ast
import importlib.util
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ast_ad
from ast_ad import ADError
from ast_ad.cli import main
from ast_ad.export import export_module

MODEL = '''
import math

import numpy as np

SCALE = 0.5
W0 = np.array([[1.0, -2.0], [0.5, 4.0]])


def layer(w, x, shift=0.1):
    a = np.tanh(w @ x + shift)
    b = a * 2.0
    c = b + 1.0
    d = np.sin(c)
    e = d * a
    f = e + b
    g = f * c
    h = g - a
    i = h * h
    j = i + e
    k = j * 0.5
    m = k + d
    return m * SCALE


def small(v):
    return v * v + math.exp(-SCALE)


def loss(w, x, n):
    h = x
    for _ in range(n):
        h = layer(w, h)
    return np.sum(small(h)) + np.sum(W0 * w) * math.cos(SCALE)
'''

AT = "[[0.3, -0.2], [0.1, 0.4]], [1.0, 2.0], 3"
W = np.array([[0.3, -0.2], [0.1, 0.4]])
X = np.array([1.0, 2.0])
DW = np.array([[0.5, 1.0], [-1.0, 0.25]])
DX = np.array([0.7, -0.3])

# Run in a fresh interpreter where `import ast_ad` (and any ast_ad.*) fails.
BLOCKED = '''
import sys

class NoAstAd:
    def find_spec(self, name, path=None, target=None):
        if name == "ast_ad" or name.startswith("ast_ad."):
            raise ImportError("ast_ad is blocked in this test")

sys.meta_path.insert(0, NoAstAd())
sys.path.insert(0, sys.argv[1])
import numpy as np
'''


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    spec = importlib.util.spec_from_file_location("model_for_export", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


def run_blocked(directory, code: str) -> dict:
    """Run `code` with ast_ad unimportable; it saves its results with np.savez(OUT, ...)."""
    out = directory / "results.npz"
    script = BLOCKED + f"OUT = {str(out)!r}\n" + textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", script, str(directory)], capture_output=True,
                            text=True, cwd=directory)
    assert result.returncode == 0, result.stderr
    with np.load(out) as data:
        return dict(data)


def export(path, *options, output=None) -> str:
    target = output or path.parent / "out.py"
    assert main(["export", str(path), "-f", "loss", "--at", AT, *options,
                 "-o", str(target)]) == 0
    return target.read_text()


@pytest.mark.parametrize("mode", ["reverse", "grad", "forward", "hessian"])
def test_exported_module_runs_without_ast_ad_and_agrees(model, mode, capsys):
    path, module = model
    text = export(path, "--argnums", "0,1", "--mode", mode,
                  output=path.parent / f"loss_{mode}.py")
    assert f"wrote {path.parent / f'loss_{mode}.py'}" in capsys.readouterr().out
    for line in text.splitlines():  # only the header comment names ast-ad
        assert "ast_ad" not in line or line.startswith("#"), line
    call = {"reverse": "value, (gw, gx) = m.loss_value_and_grad(w, x, 3)",
            "grad": "gw, gx = m.loss_grad(w, x, 3)",
            "forward": "value, t = m.loss_jvp(w, x, 3, dw, dx)",
            "hessian": "(gw, gx), (hw, hx) = m.loss_grad_jvp(w, x, 3, dw, dx)"}[mode]
    got = run_blocked(path.parent, f"""
        w, x = np.array({W.tolist()}), np.array({X.tolist()})
        dw, dx = np.array({DW.tolist()}), np.array({DX.tolist()})
        import loss_{mode} as m
        assert "ast_ad" not in sys.modules
        {call}
        np.savez(OUT, **{{k: v for k, v in dict(locals()).items()
                         if k in ("value", "gw", "gx", "t", "hw", "hx")}})
    """)
    value, (gw, gx) = ast_ad.value_and_grad(module.loss, argnums=(0, 1))(W, X, 3)
    if mode == "forward":
        expected = dict(zip(["value", "t"], ast_ad.jvp(module.loss, (W, X, 3), (DW, DX, 0))))
    elif mode == "hessian":
        (gw, gx), (hw, hx) = ast_ad.jvp(ast_ad.grad(module.loss, argnums=(0, 1)),
                                        (W, X, 3), (DW, DX, 0))
        expected = {"gw": gw, "gx": gx, "hw": hw, "hx": hx}
    else:
        expected = {"value": value, "gw": gw, "gx": gx}
        if mode == "grad":
            del expected["value"]
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=1e-13, atol=1e-15, err_msg=key)
    if mode == "reverse":  # and the gradient is right, not only the same
        ast_ad.check_grads(module.loss, (W, X, 3))


def test_names_are_those_show_prints_and_the_header_says_what(model, capsys):
    path, module = model
    text = export(path)
    capsys.readouterr()
    assert main(["show", str(path), "-f", "loss", "--at", AT]) == 0
    shown = capsys.readouterr().out
    defs = {node.name: ast.get_source_segment(shown, node)
            for node in ast.parse(shown).body if isinstance(node, ast.FunctionDef)}
    assert set(defs) == {"loss_value_and_grad", "layer_forward", "layer_backward"}
    for name, source in defs.items():
        assert source in text, name
    header = [line for line in text.splitlines() if line.startswith("#")][:5]
    assert header[0] == f"# Generated by ast-ad {ast_ad.__version__} (ast-ad export); do not " \
                        "edit, export again."
    line = MODEL.splitlines().index("def loss(w, x, n):") + 1
    assert header[1] == f"# Source: model.loss in model.py, line {line}"
    assert header[2] == "# Mode: reverse: value and gradient (reverse mode), with respect to " \
                        "w, x, n (argnums 0,1,2)"
    assert header[3] == "# Argument kinds: w: array, x: array, n: scalar"
    # the globals it reads come from the user's module; modules by name; helpers inlined
    assert "\nimport math\nimport numpy as np\nfrom model import SCALE, W0\n" in text
    assert "\ndef unbroadcast(g, x):\n" in text or "unbroadcast" not in text
    assert "\ndef matmul_adjoint_x(g, x, y):\n" in text


def test_output_is_deterministic(model, tmp_path):
    path, _ = model
    texts = []
    for k in range(2):  # two fresh processes, and this one
        out = tmp_path / f"again{k}.py"
        result = subprocess.run([sys.executable, "-m", "ast_ad.cli", "export", str(path), "-f",
                                 "loss", "--kinds", "generic", "-o", str(out)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        texts.append(out.read_text())
    assert main(["export", str(path), "-f", "loss", "--kinds", "generic",
                 "-o", str(tmp_path / "here.py")]) == 0
    texts.append((tmp_path / "here.py").read_text())
    assert texts[0] == texts[1] == texts[2]
    assert "\ndef matmul_adjoint_x(g, x, y):\n" in texts[0]


def test_generic_code_with_helpers_runs_without_ast_ad(model, capsys):
    path, module = model
    export(path, "--kinds", "generic", "--argnums", "0,1", output=path.parent / "generic.py")
    assert main(["export", str(path), "-f", "small", "--kinds", "generic",
                 "-o", str(path.parent / "small_generic.py")]) == 0
    text = (path.parent / "small_generic.py").read_text()
    assert "def check_scalar_output(y):" in text and "def output_problem(" in text
    got = run_blocked(path.parent, f"""
        import generic, small_generic
        value, (gw, gx) = generic.loss_value_and_grad(np.array({W.tolist()}),
                                                      np.array({X.tolist()}), 3)
        assert small_generic.small_value_and_grad(3.0)[1] == 6.0
        try:
            small_generic.small_value_and_grad(np.ones(2))
        except ValueError as error:  # the output check, standalone
            message = str(error)
        np.savez(OUT, value=value, gw=gw, gx=gx, message=message)
    """)
    value, (gw, gx) = ast_ad.value_and_grad(module.loss, argnums=(0, 1))(W, X, 3)
    np.testing.assert_allclose(got["value"], value, rtol=1e-13)
    np.testing.assert_allclose(got["gw"], gw, rtol=1e-13)
    np.testing.assert_allclose(got["gx"], gx, rtol=1e-13)
    line = next(k for k, text in enumerate(MODEL.splitlines(), 1) if "return v * v" in text)
    assert str(got["message"]) == "grad requires model.small to return a scalar, but it " \
                                  f"returned ndarray of shape (2,) (at model.py:{line})"


def test_scipy_calls_import_their_modules(tmp_path):
    pytest.importorskip("scipy")
    path = tmp_path / "solve.py"
    path.write_text(textwrap.dedent('''
        import numpy as np
        import scipy.linalg
        from scipy.special import logsumexp


        def f(a, x):
            l = np.tril(a) + 3.0 * np.eye(2)
            z = scipy.linalg.solve_triangular(l, x, lower=True)
            return logsumexp(z) + np.sum(z ** 2)
    '''))
    assert main(["export", str(path), "-f", "f", "--at", "[[1.0, 0.5], [0.2, 2.0]], [1.5, 2.5]",
                 "-o", str(tmp_path / "solve_grad.py")]) == 0
    text = (tmp_path / "solve_grad.py").read_text()
    assert "import scipy.linalg\n" in text and "from solve import logsumexp\n" in text
    got = run_blocked(tmp_path, """
        import solve_grad
        value, (ga, gx) = solve_grad.f_value_and_grad(np.array([[1.0, 0.5], [0.2, 2.0]]),
                                                      np.array([1.5, 2.5]))
        np.savez(OUT, value=value, ga=ga, gx=gx)
    """)
    spec = importlib.util.spec_from_file_location("solve_for_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    a, x = np.array([[1.0, 0.5], [0.2, 2.0]]), np.array([1.5, 2.5])
    value, (ga, gx) = ast_ad.value_and_grad(module.f, argnums=(0, 1))(a, x)
    np.testing.assert_allclose(got["value"], value, rtol=1e-13)
    np.testing.assert_allclose(got["ga"], ga, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got["gx"], gx, rtol=1e-13)


def test_export_to_stdout_and_errors(model, tmp_path, capsys):
    path, _ = model
    assert main(["export", str(path), "-f", "small", "--kinds", "scalar"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Generated by ast-ad") and "def small_value_and_grad(v):" in out
    assert main(["export", str(path), "-f", "nothing"]) == 1
    assert "defines no function 'nothing'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["export", str(path), "-f", "loss", "--argnums", "5"])
    assert info.value.code == 2


def test_a_global_of_an_unimportable_module_is_reported(tmp_path):
    path = tmp_path / "script.py"
    path.write_text("import numpy as np\n\nK = 2.0\n\n\ndef f(x):\n    return np.sum(K * x)\n")
    spec = importlib.util.spec_from_file_location("__main__", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    g = ast_ad.value_and_grad(module.f)
    g(np.ones(2))
    generated = g.__ast_ad__.latest
    with pytest.raises(ADError, match=r"cannot export: f_value_and_grad reads the global K of "
                                      r"a module that cannot be imported \(__main__\)"):
        export_module(generated, ["header"])


def test_stop_gradient_is_inlined_too(tmp_path):
    path = tmp_path / "shifted.py"
    path.write_text(textwrap.dedent('''
        import numpy as np

        import ast_ad
        from ast_ad import stop_gradient


        def f(x):
            m = ast_ad.stop_gradient(np.max(x))
            return np.log(np.sum(np.exp(x - m))) + m + stop_gradient(x[0])
    '''))
    assert main(["export", str(path), "-f", "f", "--at", "[1.0, 2.0, 0.5]",
                 "-o", str(tmp_path / "shifted_grad.py")]) == 0
    text = (tmp_path / "shifted_grad.py").read_text()
    assert "class ast_ad:" in text and "    stop_gradient = staticmethod(stop_gradient)" in text
    got = run_blocked(tmp_path, """
        import shifted_grad
        value, g = shifted_grad.f_value_and_grad(np.array([1.0, 2.0, 0.5]))
        np.savez(OUT, value=value, g=g)
    """)
    spec = importlib.util.spec_from_file_location("shifted_for_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    value, g = ast_ad.value_and_grad(module.f)(np.array([1.0, 2.0, 0.5]))
    np.testing.assert_allclose(got["value"], value, rtol=1e-14)
    np.testing.assert_allclose(got["g"], g, rtol=1e-14)


def test_the_check_before_a_loop_over_an_unknown_sequence_is_standalone(tmp_path):
    # (a loop over what the code cannot tell is a list, tuple or array is preceded by a
    # check that it is read by position: exported, it raises TypeError, without ast_ad)
    path = tmp_path / "over_chars.py"
    path.write_text(textwrap.dedent('''
        import numpy as np


        def f(x, word):
            total = 0.0
            for c in word:
                total = total + np.sin(x * len(c))
            return total
    '''))
    assert main(["export", str(path), "-f", "f", "--argnums", "0", "--at", "0.5, 'abc'",
                 "-o", str(tmp_path / "over_chars_grad.py")]) == 0
    assert "def check_positional(seq):" in (tmp_path / "over_chars_grad.py").read_text()
    got = run_blocked(tmp_path, """
        import over_chars_grad
        value, g = over_chars_grad.f_value_and_grad(0.5, 'abc')
        try:
            over_chars_grad.f_value_and_grad(0.5, {'a': 1})
            refused = 0
        except TypeError:
            refused = 1
        np.savez(OUT, value=value, g=g, refused=refused)
    """)
    assert got["refused"] == 1
    np.testing.assert_allclose(got["g"], 3 * np.cos(0.5), rtol=1e-14)
