"""Levenberg-Marquardt: fit y = a exp(-b t) + c to noisy data, with ast-ad's Jacobian.

The Jacobian of the residuals (20 residuals, 3 parameters) comes from
ast_ad.jacobian, which picks forward mode here (fewer inputs than outputs).

Run:  python samples/levenberg_marquardt.py
"""

import numpy as np

import ast_ad

TRUE = np.array([2.5, 1.3, 0.5])


def model(params: np.ndarray, t: np.ndarray) -> np.ndarray:
    a, b, c = params[0], params[1], params[2]
    return a * np.exp(-b * t) + c


def residuals(params: np.ndarray, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    return model(params, t) - y


def main(iterations: int = 30):
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 4.0, 20)
    y = model(TRUE, t) + 0.01 * rng.normal(size=t.shape)
    jacobian = ast_ad.jacobian(residuals)
    params, damping = np.array([1.0, 0.5, 0.0]), 1e-2
    cost = 0.5 * np.sum(residuals(params, t, y) ** 2)
    for iteration in range(iterations):
        r, J = residuals(params, t, y), jacobian(params, t, y)
        step = np.linalg.solve(J.T @ J + damping * np.diag(np.diag(J.T @ J)), -J.T @ r)
        trial = params + step
        trial_cost = 0.5 * np.sum(residuals(trial, t, y) ** 2)
        if trial_cost < cost:
            params, cost, damping = trial, trial_cost, damping / 3
        else:
            damping *= 4
        print(f"iteration {iteration}: cost {cost:.6e}  params {np.round(params, 4)}")
        if np.linalg.norm(step) < 1e-10:
            break
    print(f"fitted a, b, c = {np.round(params, 3)} (true {TRUE})")
    return params


if __name__ == "__main__":
    main()
