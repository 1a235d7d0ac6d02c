"""ast_ad.check_grads (AD against central differences, forward against reverse, orders 1
and 2) and `ast-ad check` (the finite-difference table against the step, and its plot)."""

import re
import sys
from pathlib import Path

import check_cases as cases
import numpy as np
import pytest

import ast_ad
from ast_ad import ADError, check_grads
from ast_ad.cli import main

ROOT = Path(__file__).resolve().parent.parent
FOUR = str(ROOT / "samples" / "four_methods.py")
SEEDS = str(ROOT / "samples" / "seeds.py")

rng = np.random.default_rng(13)
X = rng.standard_normal(3)
Y = rng.standard_normal(3)
W = rng.standard_normal((3, 3)) * 0.5


# -- right derivatives pass


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("modes", [("fwd", "rev"), ("fwd",), ("rev",)])
def test_right_derivatives_pass(order, modes):
    check_grads(cases.scalar_args, (0.7, 1.9), order=order, modes=modes)
    check_grads(cases.two_outputs, (X, Y), order=order, modes=modes)


def test_a_loop_with_an_int_argument_passed_through():
    check_grads(cases.layer, (W, X, 3))  # n = 3 is not differentiated
    check_grads(cases.layer, (W, X, 3), order=2, modes="fwd")
    check_grads(cases.layer, (W, X, 3), argnums=1)


def test_float32_arguments_get_looser_defaults():
    check_grads(cases.two_outputs, (X.astype(np.float32), Y.astype(np.float32)), order=2)


def test_lists_of_arrays_as_far_as_ast_ad_differentiates_them():
    ws = [W, W.T.copy()]
    check_grads(cases.loss_of_list, (ws, X), argnums=1)  # the list passed as a constant
    _, vjp_fn = ast_ad.vjp(cases.loss_of_list, ws, X)
    if vjp_fn(1.0)[0] is None:  # ast-ad does not differentiate with respect to a list yet
        with pytest.raises(ADError, match=r"does not differentiate .*loss_of_list with "
                                          r"respect to argument 0 \(ws\), a list"):
            check_grads(cases.loss_of_list, (ws, X))
    else:
        check_grads(cases.loss_of_list, (ws, X))


def test_namedtuple_dataclass_and_dict_arguments():
    """Every container grad differentiates: directions and cotangents of its structure (a
    NamedTuple was rebuilt from a generator, and a dataclass was refused)."""
    import calls_cases

    x = rng.standard_normal(3)
    affine = calls_cases.Affine(rng.standard_normal(3), 0.5)
    layer = calls_cases.Layer(rng.standard_normal((2, 3)), rng.standard_normal(2))
    check_grads(calls_cases.affine_used_and_passed, (affine, x))
    check_grads(calls_cases.layer_passed, (layer, x))
    check_grads(cases.dict_layer, ({"W": W, "b": 0.3}, x))
    check_grads(calls_cases.affine_energy, (affine, x), order=2, modes="fwd")


def test_a_derivative_zero_by_cancellation_is_not_a_disagreement():
    """Forward and reverse mode each give rounding (1e-16) where the terms cancel; their
    difference was measured against their own size, not the problem's, and failed."""
    x = rng.standard_normal((5, 3))
    check_grads(cases.normalised_sum, (x, rng.standard_normal(3)), order=2)


# -- wrong derivatives are found and named


def test_a_wrong_adjoint_names_the_argument_and_direction():
    check_grads(cases.bad_reverse_in_y, (X, Y), modes="fwd")  # its tangent rule is right
    with pytest.raises(AssertionError) as info:
        check_grads(cases.bad_reverse_in_y, (X, Y), modes="rev")
    text = str(info.value)
    assert text.startswith("check_grads(bad_reverse_in_y): reverse mode (vjp) disagrees with "
                           "central differences with respect to argument 1 (y)\n")
    assert "argument 0 (x)" not in text
    assert re.search(r"direction v = y: \[.*\]", text)
    ad, fd = re.search(r"<vjp\(u\), v> = (\S+) but <u, central difference> = (\S+) ", text
                       ).groups()
    assert float(ad) == pytest.approx(1.1 * float(fd), rel=1e-3)  # 3.3 x^2 for 3 x^2


def test_a_wrong_tangent_names_the_output_element():
    check_grads(cases.bad_forward, (X,), modes="rev")
    with pytest.raises(AssertionError) as info:
        check_grads(cases.bad_forward, (X,), modes="fwd")
    text = str(info.value)
    assert "forward mode (jvp) disagrees with central differences with respect to argument 0 " \
           "(x)" in text
    assert re.search(r"at output\[\d\]: jvp \S+, central difference \S+ \(difference", text)


def test_forward_against_reverse_finds_what_differences_miss():
    check_grads(cases.slightly_off, (1.3,), modes="fwd")
    check_grads(cases.slightly_off, (1.3,), modes="rev")  # 1e-7 is below the difference's error
    with pytest.raises(AssertionError, match=r"forward and reverse mode disagree with respect "
                                             r"to argument 0 \(x\)"):
        check_grads(cases.slightly_off, (1.3,))


def test_order_2_checks_the_derivatives_of_the_derivatives():
    check_grads(cases.bad_second, (X,))  # the first derivative is right
    with pytest.raises(AssertionError, match=r"check_grads\(jvp of bad_second\): forward mode"):
        check_grads(cases.bad_second, (X,), order=2, modes="fwd")
    with pytest.raises(AssertionError, match=r"check_grads\(gradient of <u, bad_second>\): "
                                             r"reverse mode .* argument 0 \(x\)"):
        check_grads(cases.bad_second, (X,), order=2, modes="rev")


def test_wrong_requests_raise_value_error():
    with pytest.raises(ValueError, match="order=3"):
        check_grads(cases.scalar_args, (0.7, 1.9), order=3)
    with pytest.raises(ValueError, match="unknown mode 'backward'"):
        check_grads(cases.scalar_args, (0.7, 1.9), modes=("backward",))
    with pytest.raises(ValueError, match="argument 2 is not a float"):
        check_grads(cases.layer, (W, X, 3), argnums=2)
    with pytest.raises(ValueError, match="no argument to differentiate"):
        check_grads(cases.layer, (W.astype(int), X.astype(int), 3))


# -- ast-ad check


def _rows(out: str) -> dict:
    """eps -> (forward error, central error), from the table."""
    rows = {}
    for line in out.splitlines():
        m = re.match(r"\s+(1e-\d\d)\s+(.*)$", line)
        if m:
            errors = re.findall(r"(\d\.\d\de[+-]\d\d)\*?", m.group(2))
            rows[float(m.group(1))] = (float(errors[0]), float(errors[1]))
    return rows


def test_check_prints_the_table_with_truncation_and_rounding(capsys):
    assert main(["check", SEEDS, "-f", "log_sin", "--at", "2.0, 5.0"]) == 0
    out = capsys.readouterr().out
    assert "AD         (5.5, 1.716337815)   (x1, x2)" in out
    rows = _rows(out)
    assert sorted(rows) == [10.0 ** -k for k in range(15, 0, -1)]
    # truncation: the forward error is O(eps), the central one O(eps^2)
    assert rows[1e-2][0] / rows[1e-3][0] == pytest.approx(10, rel=0.05)
    assert rows[1e-2][1] / rows[1e-3][1] == pytest.approx(100, rel=0.05)
    # rounding: below the best step the errors grow again
    best_forward = float(re.search(r"best eps: forward (\S+)", out).group(1))
    best_central = float(re.search(r"central (\S+) \(error", out).group(1))
    assert 1e-9 <= best_forward <= 1e-6 and 1e-6 <= best_central <= 1e-4
    assert rows[1e-13][0] > 100 * rows[best_forward][0]
    assert rows[1e-13][1] > 100 * rows[best_central][1]
    line = next(row for row in out.splitlines() if row.startswith(f"{best_central:>7.0e}"))
    assert line.endswith("*") and "(5.5, 1.71633781" in line  # the best central one, marked


def test_check_four_methods_sample_and_arrays(capsys, tmp_path):
    assert main(["check", FOUR, "-f", "f", "--at", "2.0, 3.0, 4.0"]) == 0
    out = capsys.readouterr().out
    assert "AD         (12, 12, 9)" in out
    assert _rows(out)[0.1][0] == pytest.approx(0.3, rel=1e-9)  # 3 (2 x1 + h) - 6 x1 = 3 h
    source = tmp_path / "arrays.py"
    source.write_text("import numpy as np\n\ndef f(w, x):\n    return np.sum(np.tanh(w @ x))\n")
    assert main(["check", str(source), "-f", "f", "--at", "[[1.0, 2.0], [3.0, 4.0]], "
                 "[0.1, 0.2]", "--argnums", "1"]) == 0
    out = capsys.readouterr().out
    assert "(x[0], x[1])" in out and len(_rows(out)) == 15


def test_check_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")  # in the test extra; optional for users
    png = tmp_path / "err.png"
    assert main(["check", SEEDS, "-f", "log_sin", "--at", "2.0, 5.0", "--plot", str(png)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"plot: {png}")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_check_plot_without_matplotlib_says_what_to_install(tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib: ImportError
    png = tmp_path / "err.png"
    assert main(["check", SEEDS, "-f", "log_sin", "--at", "2.0, 5.0", "--plot", str(png)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert "ast-ad: --plot needs matplotlib, which is not installed — pip install matplotlib " \
           "(or pip install -e '.[plot]'" in captured.err
    assert not png.exists()


def test_check_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["check", SEEDS, "-f", "log_sin"])  # no --at
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["check", SEEDS, "-f", "log_sin", "--at", "2.0"])
    assert info.value.code == 2
    assert "--at gives 1 value(s) but log_sin takes 2" in capsys.readouterr().err
    source = tmp_path / "vector.py"
    source.write_text("import numpy as np\n\ndef f(x):\n    return np.sin(x)\n")
    assert main(["check", str(source), "-f", "f", "--at", "[1.0, 2.0]"]) == 1
    err = capsys.readouterr().err
    assert "requires vector.f to return a scalar" in err and "Traceback" not in err


def test_four_methods_sample():
    import subprocess

    result = subprocess.run([sys.executable, FOUR], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "at (2.0, 3.0, 4.0): value 48.0" in out
    rows = {line[:22].strip(): line for line in out.splitlines()[2:]}
    for method in ("1. by hand", "4. AD (ast-ad)"):
        assert rows[method][22:].startswith(" (12, 12, 9)") and " 0.00e+00 " in rows[method]
    for method in ("3. forward difference", "3. central difference"):
        error = float(rows[method].split(")")[1].split()[0])
        assert 1e-12 < error < 1e-6, rows[method]
    try:
        import sympy  # noqa: F401
    except ImportError:
        assert "skipped: SymPy is not installed" in rows["2. symbolic"]
    else:
        assert "[6*x1, 3*x3, 3*x2]" in rows["2. symbolic (SymPy)"]


def scaled_by_a_pair(pair, x, e):
    a, b = pair
    return np.sum(np.tanh(a * x) * e) + np.sum(b * e ** 2)


@pytest.mark.parametrize("modes", [("fwd",), ("rev",), ("fwd", "rev")])
def test_order_2_with_a_container_left_out_of_argnums(modes):
    # The container is a constant: the derivative checked at order 2 (itself generated
    # code, not differentiated with respect to containers) was differentiated with
    # respect to it too, and check_grads raised an ADError instead of checking.
    pair = (np.full(3, 0.5), np.ones(3))
    ast_ad.check_grads(scaled_by_a_pair, (pair, np.arange(3.0), np.full(3, 0.3)), order=2,
                       argnums=(1, 2), modes=modes)
