"""The metrics of the generic search against scikit-learn's brute force.

Usage::

    python benchmarks/bench_metrics.py [--train 10000] [--queries 1000]
        [--dims 50 784] [--sklearn-queries 1000] [--callable-queries 20]
        [--json PATH]

The first ``--train`` Fashion-MNIST training images are the index and the
first ``--queries`` test images the queries, k = 5, as float64: the pixels
(784) or their first ``d`` principal components (fitted on the index rows).
For each metric, in one run on the same arrays:

* fmnist: ``BlockKNNClassifier(5, metric=m, metric_params=...)``, one timed
  ``kneighbors`` after a warm-up call (numba compiles the kernel of the
  distance), search reuse off;
* scikit-learn: ``KNeighborsClassifier(5, algorithm='brute', n_jobs=-1)`` with
  the same parameters on ``--sklearn-queries`` of the queries, scaled to all;
* for the user metrics (a manhattan distance decorated with ``numba.njit``,
  and the same in NumPy as a plain Python function), scikit-learn calls the
  function per pair from Python: it is timed on ``--callable-queries``
  queries and scaled; fmnist runs the numba one inside its compiled search
  (timed on all the queries) and the plain one through chunks of
  ``pairwise_distances`` as scikit-learn does (timed on the same
  ``--callable-queries`` queries).

The neighbours are checked to agree (the share of equal index sets).
Threads: fmnist's search and scikit-learn's joblib workers use every core.
"""

import argparse
import time

import numba
import numpy as np
from _results import add_json_option, write_results


@numba.njit
def user_manhattan(x, y):
    total = 0.0
    for i in range(x.shape[0]):
        total += abs(x[i] - y[i])
    return total


def python_manhattan(x, y):
    return float(np.abs(x - y).sum())


def _cases(X):
    """``(label, metric, metric_params, sklearn metric)`` of each timed case."""
    rng = np.random.default_rng(0)
    d = X.shape[1]
    cases = [
        ("braycurtis", "braycurtis", None, "braycurtis"),
        ("canberra", "canberra", None, "canberra"),
        ("correlation", "correlation", None, "correlation"),
        ("seuclidean", "seuclidean", {"V": X.var(axis=0) + 1.0}, "seuclidean"),
        ("minkowski w p=3", "minkowski", {"w": rng.random(d), "p": 3}, "minkowski"),
        ("user njit manhattan", user_manhattan, None, user_manhattan),
        ("python manhattan", python_manhattan, None, python_manhattan),
    ]
    if d <= 64:  # d * d work per pair
        VI = np.linalg.inv(np.cov(X.T) + np.eye(d)).T
        cases.insert(4, ("mahalanobis", "mahalanobis", {"VI": VI}, "mahalanobis"))
    return cases


def _time(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def _row(X, y, Q, case, n_sklearn):
    from sklearn.neighbors import KNeighborsClassifier

    from fmnist import BlockKNNClassifier
    from fmnist.neighbors import search_cache

    label, metric, params, sk_metric = case
    ours = BlockKNNClassifier(5, metric=metric, metric_params=params).fit(X, y)
    if label == "python manhattan":
        Q = Q[:n_sklearn]
    ours.kneighbors(Q[:2])  # compiles the kernel
    search_cache.clear()
    seconds, (_, ind) = _time(lambda: ours.kneighbors(Q))
    ref = KNeighborsClassifier(
        5, metric=sk_metric, metric_params=params, algorithm="brute", n_jobs=-1
    ).fit(X, y)
    sk_seconds, (_, sk_ind) = _time(lambda: ref.kneighbors(Q[:n_sklearn]))
    sk_seconds *= len(Q) / n_sklearn
    same = np.mean(
        [set(a) == set(b) for a, b in zip(ind[:n_sklearn], sk_ind, strict=True)]
    )
    return {
        "metric": label,
        "queries": len(Q),
        "fmnist_s": seconds,
        "sklearn_s": sk_seconds,
        "sklearn_queries": n_sklearn,
        "ratio": sk_seconds / seconds,
        "same_neighbours": same,
    }


def _rows_of(X_train, X_test, d):
    X = X_train.astype(np.float64)
    Q = X_test.astype(np.float64)
    if d < X.shape[1]:
        from sklearn.decomposition import PCA

        pca = PCA(d, random_state=0).fit(X)
        X, Q = pca.transform(X), pca.transform(Q)
    return np.ascontiguousarray(X), np.ascontiguousarray(Q)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dims", type=int, nargs="+", default=[50, 784])
    parser.add_argument("--sklearn-queries", type=int, default=1000)
    parser.add_argument("--callable-queries", type=int, default=20)
    add_json_option(parser)
    args = parser.parse_args()

    from fmnist.datasets import load_train_test

    X_train, X_test, y_train, _ = load_train_test()
    X_train, y = X_train[: args.train], y_train[: args.train]
    X_test = X_test[: args.queries]
    print(f"{'d':>4} {'metric':22} {'fmnist s':>9} {'sklearn s':>10} {'ratio':>7}")
    rows = []
    for d in args.dims:
        X, Q = _rows_of(X_train, X_test, d)
        for case in _cases(X):
            callable_case = case[0] in ("user njit manhattan", "python manhattan")
            n_sklearn = args.callable_queries if callable_case else args.sklearn_queries
            row = {"dims": d, **_row(X, y, Q, case, min(n_sklearn, len(Q)))}
            rows.append(row)
            print(
                f"{d:>4} {row['metric']:22} {row['fmnist_s']:9.3f} "
                f"{row['sklearn_s']:10.3f} {row['ratio']:7.1f}"
                f"  same {row['same_neighbours']:.3f}",
                flush=True,
            )
    write_results(
        args.json,
        {
            "info": {
                "train": args.train,
                "queries": args.queries,
                "k": 5,
                "numba_threads": numba.get_num_threads(),
            },
            "rows": rows,
        },
        info_key="info",
    )


if __name__ == "__main__":
    main()
