"""`ast_ad.trace` and `ast-ad trace`: the textbook evaluation traces, with the numbers the
generated code computes (checked against the textbook and against grad and jvp)."""

import csv
import io
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import trace_cases as c
from numeric import numeric_gradient

import ast_ad
from ast_ad.cli import main

CASES = str(Path(__file__).resolve().parent / "trace_cases.py")

def nfc(text):  # the tests spell ẋ as one character, the trace as x and a combining dot
    return unicodedata.normalize("NFC", text)


# The textbook's tables for f(x1, x2) = log(x1) + x1 x2 - sin(x2) at (2, 5).
PRIMAL = [("v₋₁", "x1", 2.0), ("v₀", "x2", 5.0), ("v₁", "math.log(v₋₁)", 0.6931),
          ("v₂", "v₋₁ * v₀", 10.0), ("v₃", "math.sin(v₀)", -0.9589),
          ("v₄", "v₁ + v₂", 10.6931), ("v₅", "v₄ - v₃", 11.6521), ("textbook", "v₅", 11.6521)]
TANGENT = [("v̇₋₁", "ẋ1", 1.0), ("v̇₀", "ẋ2", 0.0), ("v̇₁", "v̇₋₁ / v₋₁", 0.5),
           ("v̇₂", "v̇₋₁ * v₀ + v₋₁ * v̇₀", 5.0), ("v̇₃", "v̇₀ * math.cos(v₀)", 0.0),
           ("v̇₄", "v̇₁ + v̇₂", 5.5), ("v̇₅", "v̇₄ - v̇₃", 5.5), ("ṫextbook", "v̇₅", 5.5)]
ADJOINT = [("v̄₅", "1.0", 1.0), ("v̄₄", "v̄₅", 1.0), ("v̄₃", "-v̄₅", -1.0),
           ("v̄₀", "v̄₃ * math.cos(v₀)", -0.2837), ("v̄₁", "v̄₄", 1.0), ("v̄₂", "v̄₄", 1.0),
           ("v̄₋₁", "v̄₂ * v₀", 5.0), ("v̄₀", "v̄₀ + v̄₂ * v₋₁", 1.7163),
           ("v̄₋₁", "v̄₋₁ + v̄₁ / v₋₁", 5.5), ("x̄1", "v̄₋₁", 5.5), ("x̄2", "v̄₀", 1.7163)]
PRIMAL, TANGENT, ADJOINT = ([(nfc(a), nfc(b), v) for a, b, v in rows]
                            for rows in (PRIMAL, TANGENT, ADJOINT))


def table(rows):
    return [(nfc(r.label), nfc(r.expression), round(float(r.value), 4)) for r in rows]


def test_the_textbook_primal_trace():
    t = ast_ad.trace(c.textbook, 2.0, 5.0)
    assert table(t.rows) == PRIMAL
    assert [r.code for r in t.rows[2:7]] == ["t1", "t2", "t4", "t3", "t5"]
    assert {r.line for r in t.rows[2:7]} == {c.textbook.__code__.co_firstlineno + 1}
    assert t.value == c.textbook(2.0, 5.0)


def test_the_textbook_tangent_trace():
    t = ast_ad.trace(c.textbook, 2.0, 5.0, mode="forward")
    assert table(t.rows) == PRIMAL
    assert table(r.tangent for r in t.rows) == TANGENT
    assert t.derivative == ast_ad.jvp(c.textbook, (2.0, 5.0), (1.0, 0.0))[1]
    assert nfc("ṫextbook = ∂textbook/∂x1 = 5.5") in nfc(str(t))
    other = ast_ad.trace(c.textbook, 2.0, 5.0, mode="forward", seed=(0.0, 1.0))
    assert other.derivative == ast_ad.jvp(c.textbook, (2.0, 5.0), (0.0, 1.0))[1]
    assert round(other.derivative, 4) == 1.7163 and "∂textbook/∂x2 = 1.7163" in str(other)
    assert [r.tangent.code for r in other.rows[:7]] == ["dx1", "dx2", "dt1", "dt2", "dt4",
                                                         "dt3", "dt5"]


def test_the_textbook_adjoint_trace():
    t = ast_ad.trace(c.textbook, 2.0, 5.0, mode="reverse")
    assert table(r for r in t.rows if r.section == "forward") == PRIMAL
    assert table(r for r in t.rows if r.section == "backward") == ADJOINT
    assert t.gradient == ast_ad.grad(c.textbook, argnums=(0, 1))(2.0, 5.0)
    assert [r.code for r in t.rows if r.kind == "adjoint"] == \
        ["bt5", "bt3", "bt4", "bx2", "bt1", "bt2", "bx1", "bx2", "bx1"]


def test_rows_name_the_generated_codes_temporaries():
    code = ast_ad.generated_source(c.textbook, 2.0, 5.0, mode="value_and_grad", trace=True)
    t = ast_ad.trace(c.textbook, 2.0, 5.0, mode="reverse")
    for row in t.rows:
        if row.kind in ("primal", "adjoint"):
            assert f"    {row.code} = " in code


def test_text_table():
    text = nfc(str(ast_ad.trace(c.textbook, 2.0, 5.0, mode="reverse")))
    lines = text.splitlines()
    assert text.endswith("\n")
    assert lines[0] == "textbook(x1, x2) at x1 = 2, x2 = 5"
    assert "forward primal trace" in lines and "reverse adjoint trace" in lines
    cells = [line.split() for line in lines]
    assert ["v₁", "math.log(v₋₁)", "0.6931", "t1", "9"] in cells
    assert nfc("v̄₀ v̄₃ * math.cos(v₀) -0.2837 bx2 9").split() in cells
    assert nfc("x̄2 v̄₀ 1.7163").split() in cells
    forward = lines.index("forward primal trace")
    assert lines[forward + 1].split() == ["expression", "value", "code", "line"]
    assert lines[forward + 3].index("x1") == lines[forward + 1].index("expression")
    assert lines[-1] == "line 9: return math.log(x1) + x1 * x2 - math.sin(x2)"


def test_markdown_table():
    t = ast_ad.trace(c.textbook, 2.0, 5.0, mode="forward")
    md = t._repr_markdown_()
    assert md == t.format("markdown")
    md = nfc(md)
    assert nfc("| v₁ | `math.log(v₋₁)` | 0.6931 | v̇₁ | `v̇₋₁ / v₋₁` | 0.5 | `t1, dt1` | 9 |") \
        in md
    assert "|  | expression | value |  | tangent | value | code | line |" in md
    assert "line 9: `return math.log(x1) + x1 * x2 - math.sin(x2)`" in md


def test_csv_has_every_digit():
    t = ast_ad.trace(c.textbook, 2.0, 5.0, mode="reverse")
    rows = list(csv.DictReader(io.StringIO(t.format("csv"))))
    assert [nfc(r["label"]) for r in rows] == [label for label, _, _ in PRIMAL + ADJOINT]
    assert float(rows[-2]["value"]) == t.gradient[0]
    assert float(rows[-1]["value"]) == t.gradient[1]
    assert rows[2]["source"] == "return math.log(x1) + x1 * x2 - math.sin(x2)"
    assert rows[2]["code"] == "t1" and rows[2]["line"] == "9"


def test_arrays_show_shape_and_summary():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(3, 4)), rng.normal(size=4)
    t = ast_ad.trace(c.layer, x, w, mode="reverse")
    grads = ast_ad.grad(c.layer, argnums=(0, 1))(x, w)
    for got, want in zip(t.gradient, grads):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    bx = next(r for r in t.rows if nfc(r.label) == nfc("x̄"))
    np.testing.assert_allclose(bx.value, grads[0], rtol=1e-12)
    text = str(t)
    assert "shape (3, 4): min " in text and ", mean " in text
    y = next(r for r in t.rows if r.code == "y")
    np.testing.assert_allclose(y.value, np.tanh(x @ w))
    forward = ast_ad.trace(c.layer, x, w, mode="forward")
    seed = np.zeros_like(x)
    seed[0, 0] = 1.0  # the default: along the first element of the first argument
    _, want = ast_ad.jvp(c.layer, (x, w), (seed, np.zeros_like(w)))
    assert forward.derivative == pytest.approx(want, rel=1e-12)


def test_values_written_in_place_are_recorded_as_they_were():
    a = np.array([1.0, -2.0, 0.5])
    code = ast_ad.generated_source(c.accumulate, a, 3, mode="value_and_grad", trace=True)
    assert "ba += bt2 * t1" in code  # the adjoint accumulates in place
    t = ast_ad.trace(c.accumulate, a, 3, mode="reverse")
    ba = [r.value for r in t.rows if r.code == "ba"]
    bt2 = 2 * 6 * a  # the adjoint of each iteration's a * (i + 1)
    for got, want in zip(ba, [0, 3, 5, 6]):
        np.testing.assert_allclose(got, want * bt2)
    assert len(ba) == 4
    np.testing.assert_allclose(t.gradient[0], ast_ad.grad(c.accumulate)(a, 3), rtol=1e-12)
    totals = [r.value for r in t.rows if r.code == "total_2"]
    for k, total in enumerate(totals, 1):
        np.testing.assert_allclose(total, a * sum(range(1, k + 1)))


def test_a_write_into_an_array_is_a_new_value():
    x = np.array([1.0, 2.0, 3.0])
    t = ast_ad.trace(c.scatter, x, mode="reverse")
    ys = [r for r in t.rows if r.code == "y" and r.section == "forward"]
    label = {r.code: r.label for r in t.rows if r.section == "forward"}  # the last, for y
    assert [nfc(r.expression) for r in ys] == ["np.zeros(4)", f"v₁[{label['t2']}] = {label['t4']}"]
    assert ys[0].label == "v₁" and ys[1].label not in ("v₁", label["t4"])
    np.testing.assert_array_equal(ys[0].value, np.zeros(4))
    np.testing.assert_array_equal(ys[1].value, [1.0, 3.0, 0.0, 0.0])
    assert next(r.expression for r in t.rows if r.code == "t5") == f"{ys[1].label} ** 2"
    grad = ast_ad.grad(c.scatter)(x)
    np.testing.assert_array_equal(t.gradient[0], grad)
    np.testing.assert_allclose(grad, numeric_gradient(c.scatter, (x,), 0), rtol=1e-7)


def test_loops_are_listed_for_a_few_iterations_with_a_note():
    t = ast_ad.trace(c.iterate, 0.7, 6, mode="reverse", iterations=2)
    forward = [r for r in t.rows if r.section == "forward" and r.iteration]
    assert sorted({r.iteration for r in forward}) == [(1,), (2,)]
    assert [r.code for r in forward if r.iteration == (1,)] == ["t1", "t2", "s_2"]
    notes = [r.label for r in t.rows if r.kind == "note"]
    assert notes == ["... iterations 3-6 of 6 of the loop at line 19 not listed "
                     "(iterations=2)"] * 2
    s = 0.5
    for _ in range(2):  # the values are the loop's, iteration by iteration
        s = s + 0.7 * np.sin(s)
    assert [r.value for r in forward if r.code == "s_2"][-1] == pytest.approx(s, rel=1e-15)
    grad = ast_ad.grad(c.iterate)(0.7, 6)
    assert t.gradient[0] == grad
    assert grad == pytest.approx(numeric_gradient(c.iterate, (0.7, 6), 0), rel=1e-7)
    backward = [r for r in t.rows if r.section == "backward" and r.iteration == (1,)]
    assert backward and all(r.kind == "adjoint" for r in backward)
    f = ast_ad.trace(c.iterate, 0.7, 6, mode="forward", iterations=0)
    assert not any(r.iteration for r in f.rows if r.kind != "note")
    assert f.derivative == pytest.approx(grad, rel=1e-12)


def test_api_errors():
    with pytest.raises(ast_ad.ADError, match="only floats and float arrays"):
        ast_ad.trace(c.textbook, 2, 5.0, argnums=(0, 1))
    with pytest.raises(ast_ad.ADError, match="no float argument"):
        ast_ad.trace(c.textbook, 2, 5)
    with pytest.raises(ast_ad.ADError, match="unknown trace mode 'backward'"):
        ast_ad.trace(c.textbook, 2.0, 5.0, mode="backward")
    with pytest.raises(ast_ad.ADError, match="the seed gives 1 tangent"):
        ast_ad.trace(c.textbook, 2.0, 5.0, mode="forward", seed=(1.0,))
    with pytest.raises(ast_ad.ADError, match=r"tangent of x has shape \(2,\)"):
        ast_ad.trace(c.layer, np.ones((2, 3)), np.ones(3), mode="forward",
                     seed=(np.ones(2), np.ones(3)))
    with pytest.raises(ast_ad.ADError, match="takes 2 positional argument"):
        ast_ad.trace(c.textbook, 2.0)


# -- the command line ----------------------------------------------------------------


def test_cli_reverse(capsys):
    assert main(["trace", CASES, "-f", "textbook", "--at", "2, 5", "--mode", "reverse"]) == 0
    out = capsys.readouterr().out
    assert out == str(ast_ad.trace(c.textbook, 2.0, 5.0, mode="reverse"))


def test_cli_forward_with_a_seed_and_formats(capsys):
    assert main(["trace", CASES, "-f", "textbook", "--at", "2, 5", "--mode", "forward",
                 "--seed", "0, 1", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    t = ast_ad.trace(c.textbook, 2.0, 5.0, mode="forward", seed=(0.0, 1.0))
    assert out == t.format("markdown") and "∂textbook/∂x2 = 1.7163" in out
    assert main(["trace", CASES, "-f", "textbook", "--at", "2.0, 5.0", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(nfc(r["label"]), nfc(r["expression"]), round(float(r["value"]), 4))
            for r in rows] == PRIMAL


def test_cli_arrays_and_loops(capsys):
    assert main(["trace", CASES, "-f", "iterate", "--at", "0.7, 6", "--iterations", "1",
                 "--mode", "reverse"]) == 0
    out = capsys.readouterr().out
    assert "iterations 2-6 of 6 of the loop at line 19 not listed" in out
    assert main(["trace", CASES, "-f", "layer", "--at", "[[1, 2], [3, 4]], [0.5, -0.5]"]) == 0
    out = capsys.readouterr().out
    assert "shape (2, 2): min 1, mean 2.5, max 4" in out
    assert ["v₁", "v₋₁", "@", "v₀", "[-0.5,", "-0.5]", "t1", "13"] in \
        [line.split() for line in out.splitlines()]


@pytest.mark.parametrize("options, message", [
    (["--at", "2, (5"], "--at takes Python literals"),
    (["--at", "2"], "--at gives 1 value(s) but textbook takes 2 positional parameter(s)"),
    (["--at", "'a', 'b'"], "--at gives no number to differentiate"),
    (["--at", "2, 5", "--mode", "forward", "--seed", "1, 0, 0"],
     "--seed: the seed gives 3 tangent(s) but 2 argument(s) are differentiated (x1, x2)"),
    (["--at", "2, 5", "--mode", "forward", "--seed", "[1, 0], 0"],
     "--seed: the seed's tangent of x1 has shape (2,), x1 has shape ()"),
    (["--at", "2, 5", "--mode", "forward", "--seed", "1, ["], "--seed takes Python literals"),
    (["--at", "2, 5", "--mode", "reverse", "--seed", "1, 0"],
     "--seed is for --mode forward, not --mode reverse"),
    (["--at", "2, 5", "--argnums", "0", "--mode", "forward", "--seed", "1, 0"],
     "--seed: the seed gives 2 tangent(s) but 1 argument(s) are differentiated (x1)"),
    (["--at", "2, 5", "--iterations", "-1"], "--iterations takes a count >= 0"),
    (["--at", "2, 5", "--argnums", "2"], "--argnums 2 is out of range"),
])
def test_cli_usage_errors(options, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["trace", CASES, "-f", "textbook", *options])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ast-ad trace")
    assert message in err


def test_cli_needs_a_function_if_the_file_has_several(capsys):
    with pytest.raises(SystemExit) as info:
        main(["trace", CASES, "--at", "2, 5"])
    assert info.value.code == 2
    assert "--function is needed: " in capsys.readouterr().err


def test_cli_user_errors_exit_1(capsys):
    assert main(["trace", CASES, "-f", "textbook", "--at", "-2, 5"]) == 1
    err = capsys.readouterr().err
    assert err == "ast-ad: textbook raised ValueError at --at -2, 5: math domain error\n"
    assert main(["trace", CASES, "-f", "missing", "--at", "2, 5"]) == 1
    assert "defines no function 'missing'" in capsys.readouterr().err
