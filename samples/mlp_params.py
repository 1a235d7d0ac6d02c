"""Training a small MLP whose parameters are a dict, with `tree_map` updates.

The network fits y = sin(3x) on [-1, 1]. The loss takes the whole parameter
dict; `value_and_grad` returns the gradient as a dict with the same keys, and
one `tree_map` applies the gradient step to every array in it.

Run:  python samples/mlp_params.py          (--show: print the generated gradient code)
"""

import numpy as np

import ast_ad


def predict(params, X):
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"]


def loss(params, X, y):
    error = predict(params, X) - y
    return np.mean(error ** 2)


def init(rng, sizes=(1, 16, 1)):
    return {"W1": rng.normal(size=sizes[:2]) / np.sqrt(sizes[0]), "b1": np.zeros(sizes[1]),
            "W2": rng.normal(size=sizes[1:]) / np.sqrt(sizes[1]), "b2": np.zeros(sizes[2])}


def main(epochs: int = 600, rate: float = 0.2):
    rng = np.random.default_rng(0)
    X = np.linspace(-1.0, 1.0, 64)[:, None]
    y = np.sin(3.0 * X)
    params = init(rng)
    step = ast_ad.value_and_grad(loss)
    for epoch in range(epochs + 1):
        value, grads = step(params, X, y)
        if epoch % 100 == 0:
            print(f"epoch {epoch}: loss {value:.6f}")
        params = ast_ad.tree_map(lambda p, g: p - rate * g, params, grads)
    print("gradient keys:", ", ".join(grads))
    return value


if __name__ == "__main__":
    import sys

    if "--show" in sys.argv:
        params = init(np.random.default_rng(0))
        X = np.zeros((4, 1))
        print(ast_ad.source(ast_ad.grad(loss), params, X, X))
    else:
        main()
