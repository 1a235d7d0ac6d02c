"""Four ways to the gradient of f(x1, x2, x3) = 3 (x1^2 + x2 x3) at (2, 3, 4), side by side.

1. by hand: df/dx1 = 6 x1, df/dx2 = 3 x3, df/dx3 = 3 x2, typed in as code;
2. symbolically, with SymPy (skipped if it is not installed: pip install sympy);
3. finite differences, forward and central, one call of f per input (two for central);
4. automatic differentiation, with ast-ad.

Each row shows the gradient, its largest error against the exact (12, 12, 9) and the time
one gradient takes. Run:  python samples/four_methods.py
Then try:  ast-ad check samples/four_methods.py --function f --at '2.0, 3.0, 4.0'
"""

import time

import ast_ad

POINT = (2.0, 3.0, 4.0)
EXACT = (12.0, 12.0, 9.0)
EPS = {"forward": 1e-7, "central": 1e-5}  # near the best steps (ast-ad check shows why)


def f(x1: float, x2: float, x3: float) -> float:
    return 3 * (x1 ** 2 + x2 * x3)


def by_hand(x1, x2, x3):
    return 6 * x1, 3 * x3, 3 * x2


def forward_difference(x1, x2, x3, h=EPS["forward"]):
    fx = f(x1, x2, x3)
    return ((f(x1 + h, x2, x3) - fx) / h, (f(x1, x2 + h, x3) - fx) / h,
            (f(x1, x2, x3 + h) - fx) / h)


def central_difference(x1, x2, x3, h=EPS["central"]):
    return ((f(x1 + h, x2, x3) - f(x1 - h, x2, x3)) / (2 * h),
            (f(x1, x2 + h, x3) - f(x1, x2 - h, x3)) / (2 * h),
            (f(x1, x2, x3 + h) - f(x1, x2, x3 - h)) / (2 * h))


def symbolic():
    """The gradient as SymPy derives it, compiled to a Python function (None without SymPy),
    and the time deriving and compiling took."""
    try:
        import sympy
    except ImportError:
        return None, None, None
    start = time.perf_counter()
    x1, x2, x3 = sympy.symbols("x1 x2 x3")
    expression = f(x1, x2, x3)  # f runs on symbols: the same source
    derivatives = [sympy.diff(expression, x) for x in (x1, x2, x3)]
    compiled = sympy.lambdify((x1, x2, x3), derivatives, "math")
    return compiled, derivatives, time.perf_counter() - start


def per_call(fn, repeat=2000) -> float:
    """Seconds per call, the best of 3 runs of `repeat` calls."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn(*POINT)
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def row(method, gradient, seconds, note=""):
    error = max(abs(g - e) for g, e in zip(gradient, EXACT))
    shown = "(" + ", ".join(f"{g:.10g}" for g in gradient) + ")"
    print(f"{method:<22} {shown:<40} {error:9.2e} {seconds * 1e6:9.2f} µs  {note}")


def main():
    print(f"f(x1, x2, x3) = 3 (x1^2 + x2 x3) at {POINT}: value {f(*POINT)}")
    print(f"{'method':<22} {'gradient':<40} {'error':>9} {'time':>12}")
    row("1. by hand", by_hand(*POINT), per_call(by_hand), "6 x1, 3 x3, 3 x2")
    compiled, derivatives, derive_time = symbolic()
    if compiled is None:
        print("2. symbolic             skipped: SymPy is not installed (pip install sympy)")
    else:
        row("2. symbolic (SymPy)", [float(g) for g in compiled(*POINT)], per_call(compiled),
            f"{derivatives}, derived in {derive_time * 1e3:.1f} ms")
    row("3. forward difference", forward_difference(*POINT), per_call(forward_difference),
        f"eps {EPS['forward']:g}: 4 calls of f")
    row("3. central difference", central_difference(*POINT), per_call(central_difference),
        f"eps {EPS['central']:g}: 6 calls of f")
    gradient = ast_ad.grad(f, argnums=(0, 1, 2))
    start = time.perf_counter()
    gradient(*POINT)  # the first call generates the code
    generate_time = time.perf_counter() - start
    row("4. AD (ast-ad)", gradient(*POINT), per_call(gradient),
        f"code generated in {generate_time * 1e3:.1f} ms (ast-ad show samples/four_methods.py"
        " -f f)")


if __name__ == "__main__":
    main()
