"""Time GridSearchCV over n_neighbors and metric on all of Fashion-MNIST.

Usage::

    python benchmarks/bench_grid.py [--n-train 60000] [--n-jobs 1]
        [--backend loky|dask] [--without-reuse] [--json out.json]

The call, as a user writes it::

    GridSearchCV(BlockKNNClassifier(),
                 {"n_neighbors": [1, 3, 5, 7, 9],
                  "metric": ["euclidean", "manhattan", "cosine"]},
                 cv=5).fit(X_train, y_train)

It needs 3 metrics x 5 folds = 15 neighbour searches; the other 60 candidate
fits reuse them (:data:`fmnist.neighbors.search_cache`). The script reports the
wall time of the call, the searches actually run and reused in this process,
and, in the same run, the time of one full search of the 10,000 test images in
the 60,000 training images (manhattan, k=5, reuse off). ``--without-reuse``
runs the same call again with reuse off and checks that ``cv_results_`` (mean
and per-split scores, ranks) are identical. ``--n-jobs 2`` runs the candidates
in two joblib workers (``--backend loky`` processes, or ``dask`` on a local
cluster of two one-thread workers): each process keeps its own cache.
"""

import argparse
import json
import time

import numpy as np
from _results import add_json_option, write_results

GRID = {"n_neighbors": [1, 3, 5, 7, 9], "metric": ["euclidean", "manhattan", "cosine"]}


def _grid_search(X, y, n_jobs, backend):
    import joblib
    from sklearn.model_selection import GridSearchCV

    from fmnist import BlockKNNClassifier

    grid = GridSearchCV(BlockKNNClassifier(), GRID, cv=5, n_jobs=n_jobs)
    start = time.perf_counter()
    if backend == "dask":
        from distributed import Client, LocalCluster

        from fmnist.distributed import worker_env

        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, env=worker_env(1), host="127.0.0.1"
            ) as cluster,
            Client(cluster),
        ):
            start = time.perf_counter()
            with joblib.parallel_backend("dask"):
                grid.fit(X, y)
    else:
        with joblib.parallel_backend(backend):
            grid.fit(X, y)
    return time.perf_counter() - start, grid


def _scores(grid):
    res = grid.cv_results_
    keys = ["mean_test_score", "rank_test_score"] + [
        f"split{i}_test_score" for i in range(5)
    ]
    return {key: np.asarray(res[key]).tolist() for key in keys}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--backend", choices=["loky", "dask"], default="loky")
    parser.add_argument("--without-reuse", action="store_true")
    add_json_option(parser)
    args = parser.parse_args(argv)

    from fmnist import BlockKNNClassifier
    from fmnist.datasets import load_train_test
    from fmnist.neighbors import search_cache

    X_train, X_test, y_train, y_test = load_train_test()
    X, y = X_train[: args.n_train], y_train[: args.n_train]

    # One full search in the same run, reuse off, after a warm-up compile.
    search_cache.max_bytes = 0
    one = BlockKNNClassifier(5, metric="manhattan").fit(X_train, y_train)
    one.kneighbors(X_test[:64])
    start = time.perf_counter()
    one.kneighbors(X_test)
    full_search = time.perf_counter() - start
    for metric in GRID["metric"]:  # compile every route outside the timing
        BlockKNNClassifier(metric=metric).fit(X[:200], y[:200]).predict(X[:50])

    search_cache.max_bytes = 256 << 20
    search_cache.clear()
    seconds, grid = _grid_search(X, y, args.n_jobs, args.backend)
    row = {
        "n_jobs": args.n_jobs,
        "backend": args.backend if args.n_jobs != 1 else "in process",
        "seconds": seconds,
        "searches_run_in_this_process": search_cache.misses,
        "searches_reused_in_this_process": search_cache.hits,
        "best_params": grid.best_params_,
        "best_cv_score": float(grid.best_score_),
        "test_score_of_best": float(grid.score(X_test, y_test)),
    }
    result = {
        "info": {
            "n_train": len(X),
            "one_full_search_60k_x_10k_s": full_search,
        },
        "reuse": row,
    }
    print(json.dumps(row, indent=2))
    print(f"one full 60k x 10k search (manhattan, k=5): {full_search:.2f} s")

    if args.without_reuse:
        search_cache.max_bytes = 0
        seconds_off, grid_off = _grid_search(X, y, args.n_jobs, args.backend)
        identical = _scores(grid) == _scores(grid_off)
        result["without_reuse"] = {
            "seconds": seconds_off,
            "identical_cv_results": identical,
        }
        print(f"without reuse: {seconds_off:.1f} s, cv_results_ identical: {identical}")
    write_results(args.json, result, seed=None, info_key="info")


if __name__ == "__main__":
    main()
