"""Time the first fit + predict of BlockKNNClassifier in a new process.

Usage::

    NUMBA_CACHE_DIR=$(mktemp -d) PYTHONPATH=<checkout> \\
        python benchmarks/time_first_call.py euclidean 2 brute

Arguments: metric, ``n_jobs`` and ``algorithm``. Fits on 3,000 random uint8
rows of 784 features and predicts 600, so the time is almost all numba
compiling (or loading) the kernels of that route: with an empty
``NUMBA_CACHE_DIR`` it is what a new install waits for once. Only the public
API is used, so any checkout can be timed (``PYTHONPATH``). Prints the
import time and the time of the first fit + predict.
"""

import argparse
import time

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metric", nargs="?", default="euclidean")
    parser.add_argument("n_jobs", nargs="?", type=int, default=2)
    parser.add_argument("algorithm", nargs="?", default="brute")
    args = parser.parse_args(argv)
    metric, n_jobs, algorithm = args.metric, args.n_jobs, args.algorithm
    start = time.perf_counter()
    from fmnist import BlockKNNClassifier

    imported = time.perf_counter()
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (3000, 784), dtype=np.uint8)
    y = rng.integers(0, 10, 3000)
    est = BlockKNNClassifier(5, metric=metric, n_jobs=n_jobs, algorithm=algorithm).fit(
        X, y
    )
    est.predict(X[:600])
    print(
        f"{metric} n_jobs={n_jobs} {algorithm}: import {imported - start:.1f} s, "
        f"first fit + predict {time.perf_counter() - imported:.1f} s"
    )


if __name__ == "__main__":
    main()
