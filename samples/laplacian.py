"""The Laplacian of f(x, y) = x y^2 + cos(x y), from its Hessian.

The Hessian is forward mode applied to the generated gradient code; its trace
is the Laplacian, which should equal 2x - x^2 cos(xy) - y^2 cos(xy).

Run:  python samples/laplacian.py
"""

import math

import ast_ad


def f(x: float, y: float) -> float:
    return x * y ** 2 + math.cos(x * y)


def main():
    for x, y in ((1.0, 2.0), (0.5, -1.5)):
        (fxx, fxy), (fyx, fyy) = ast_ad.hessian(f, argnums=(0, 1))(x, y)
        laplacian = fxx + fyy
        expected = 2 * x - x * x * math.cos(x * y) - y * y * math.cos(x * y)
        print(f"at ({x}, {y}): Hessian [[{fxx:.4f}, {fxy:.4f}], [{fyx:.4f}, {fyy:.4f}]], "
              f"Laplacian {laplacian:.6f} (formula {expected:.6f})")


if __name__ == "__main__":
    main()
