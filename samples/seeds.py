"""The worked examples: values and gradients of four small functions, checked by hand.

Run:  python samples/seeds.py
See the generated code:  ast-ad show samples/seeds.py
"""

import math

import ast_ad


def quadratic(x1: float, x2: float, x3: float) -> float:
    """f = 3 (x1^2 + x2 x3); at (2, 3, 4): 48, gradient (12, 12, 9)."""
    return 3 * (x1 ** 2 + x2 * x3)


def log_sin(x1: float, x2: float) -> float:
    """f = log(x1) + x1 x2 - sin(x2); at (2, 5): 11.652, gradient (5.5, 1.7163)."""
    return math.log(x1) + x1 * x2 - math.sin(x2)


def product_sin(x: float, y: float, z: float) -> float:
    """f = x y sin(y z); at (3, -1, 2)."""
    return x * y * math.sin(y * z)


def sin_plus_cos(x: float, y: float) -> float:
    """f = sin(x y) + cos(x y); at (2, 3)."""
    return math.sin(x * y) + math.cos(x * y)


def _report(f, *point):
    value, gradient = ast_ad.value_and_grad(f, argnums=tuple(range(len(point))))(*point)
    shown = ", ".join(f"{g:.4f}" for g in gradient)
    print(f"{f.__name__}{point}: value {value:.4f}, gradient ({shown})")
    return value, gradient


def main():
    _report(quadratic, 2.0, 3.0, 4.0)
    _report(log_sin, 2.0, 5.0)
    _report(product_sin, 3.0, -1.0, 2.0)
    _report(sin_plus_cos, 2.0, 3.0)


if __name__ == "__main__":
    main()
