"""Forward accumulation: the tangent trace of f = log(x1) + x1 x2 - sin(x2) at (2, 5).

Seeding the tangent (1, 0) gives df/dx1 = 5.5, seeding (0, 1) gives df/dx2 = 1.7163;
each is one forward pass. The generated code below is that tangent trace.

Run:  python samples/forward_trace.py
"""

import math

import ast_ad


def f(x1: float, x2: float) -> float:
    return math.log(x1) + x1 * x2 - math.sin(x2)


def main():
    print(ast_ad.generated_source(f, 2.0, 5.0, mode="jvp", trace=True))
    for seed in ((1.0, 0.0), (0.0, 1.0)):
        value, derivative = ast_ad.jvp(f, (2.0, 5.0), seed)
        print(f"seed {seed}: f = {value:.4f}, directional derivative = {derivative:.4f}")


if __name__ == "__main__":
    main()
