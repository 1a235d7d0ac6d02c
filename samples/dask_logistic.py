"""Logistic regression by gradient descent on a Dask array that need not fit in memory.

The data are generated chunk by chunk (`dask.array.random`) and never held whole:
each step, `ast_ad.value_and_grad` builds the loss and its gradient lazily, and one
`dask.compute` makes one pass over the chunks for both. With `dask.distributed`
installed the steps run on a LocalCluster, otherwise on Dask's threads.

Run:  python samples/dask_logistic.py                  (40,000 rows: seconds)
      python samples/dask_logistic.py --rows 400_000_000 --chunk-rows 2_000_000
          (X is 400 million x 20 float64, 64 GB, in 200 chunks of 320 MB; each
          step streams through them, regenerating each chunk from its seed)
Needs dask:  pip install 'ast-ad[dask]'  (and dask.distributed for the cluster)
"""

import argparse
import time

import numpy as np

import ast_ad


def loss(w, X, y):
    """Mean negative log-likelihood of labels y in {0, 1} given features X."""
    Xw = X @ w
    return np.mean(np.logaddexp(0.0, Xw) - y * Xw)


def dataset(rows, columns, chunk_rows, seed=0):
    """(X, y, true_w): X normal, y drawn from the logistic model at true_w, chunk by chunk."""
    import dask.array as da

    rng = da.random.default_rng(seed)
    X = rng.normal(size=(rows, columns), chunks=(chunk_rows, columns))
    true_w = np.linspace(-2.0, 2.0, columns)
    p = 1.0 / (1.0 + np.exp(-(X @ true_w)))
    y = (rng.random(size=rows, chunks=chunk_rows) < p).astype(float)
    return X, y, true_w


def scheduler(choice):
    """A LocalCluster's client when dask.distributed is installed (and not declined)."""
    if choice == "threads":
        return None, "threads"
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        if choice == "distributed":
            raise
        return None, "threads (dask.distributed is not installed)"
    cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                           dashboard_address=None)
    return Client(cluster), "dask.distributed LocalCluster"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=lambda s: int(s.replace("_", "")), default=40_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--chunk-rows", type=lambda s: int(s.replace("_", "")),
                        default=10_000)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--scheduler", choices=("auto", "distributed", "threads"),
                        default="auto")
    args = parser.parse_args(argv)

    import dask

    client, where = scheduler(args.scheduler)
    try:
        X, y, true_w = dataset(args.rows, args.columns, args.chunk_rows)
        print(f"X: {args.rows} x {args.columns} float64 ({X.nbytes / 1e9:.3g} GB) in "
              f"{X.numblocks[0]} chunks, on {where}")
        loss_and_gradient = ast_ad.value_and_grad(loss)
        w = np.zeros(args.columns)
        for step in range(args.steps):
            start = time.perf_counter()
            value, gradient = loss_and_gradient(w, X, y)  # lazy: nothing computed yet
            if step == 0:
                print(f"value and gradient before computing: {type(value).__name__}, "
                      f"{type(gradient).__name__} of chunks {gradient.chunks}")
            value, gradient = dask.compute(value, gradient)  # one pass over the chunks
            print(f"step {step}: loss {value:.6f}  |gradient| {np.linalg.norm(gradient):.2e}"
                  f"  ({time.perf_counter() - start:.2f} s)")
            w = w - args.rate * gradient
        cosine = w @ true_w / (np.linalg.norm(w) * np.linalg.norm(true_w))
        print(f"cosine(w, true w) = {cosine:.4f}")
    finally:
        if client is not None:
            client.close()
            client.cluster.close()


if __name__ == "__main__":
    main()
