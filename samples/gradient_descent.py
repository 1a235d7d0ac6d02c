"""Baby steps of gradient descent on f = 3 (x1^2 + x2 x3), printing the cost at each step.

Run:  python samples/gradient_descent.py
"""

import ast_ad


def cost(x1: float, x2: float, x3: float) -> float:
    return 3 * (x1 ** 2 + x2 * x3)


STEPS = 5
RATE = 0.01


def main():
    cost_and_gradient = ast_ad.value_and_grad(cost, argnums=(0, 1, 2))
    point = (2.0, 3.0, 4.0)
    for step in range(STEPS + 1):
        value, gradient = cost_and_gradient(*point)
        shown = ", ".join(f"{p:.4f}" for p in point)
        print(f"step {step}: x = ({shown})  cost = {value:.4f}")
        point = tuple(p - RATE * g for p, g in zip(point, gradient))


if __name__ == "__main__":
    main()
