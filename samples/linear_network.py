"""Training a two-layer linear network y = W2 (W1 x) with gradient descent.

The data come from a known linear map; the loss (mean squared error) falls
towards the noise floor as the product W2 W1 learns the map.

Run:  python samples/linear_network.py
"""

import numpy as np

import ast_ad


def loss(W1: np.ndarray, W2: np.ndarray, X: np.ndarray, Y: np.ndarray) -> float:
    hidden = X @ W1.T
    prediction = hidden @ W2.T
    return np.mean((prediction - Y) ** 2)


def main(epochs: int = 200, rate: float = 0.05):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 3))
    true_map = np.array([[1.0, -2.0, 0.5], [0.3, 0.8, -1.0]])
    Y = X @ true_map.T + 0.01 * rng.normal(size=(100, 2))
    W1, W2 = 0.1 * rng.normal(size=(4, 3)), 0.1 * rng.normal(size=(2, 4))
    step = ast_ad.value_and_grad(loss, argnums=(0, 1))
    for epoch in range(epochs + 1):
        value, (g1, g2) = step(W1, W2, X, Y)
        if epoch % 40 == 0:
            print(f"epoch {epoch}: loss {value:.6f}")
        W1, W2 = W1 - rate * g1, W2 - rate * g2
    print("learned map:\n", np.round(W2 @ W1, 3))
    return value


if __name__ == "__main__":
    main()
