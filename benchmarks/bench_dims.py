"""The kNN search over the number of features: fmnist against faiss and scikit-learn.

Usage::

    python benchmarks/bench_dims.py [--dims 2 8 16 50 128 784] [--queries 10000]
        [--sklearn-queries 1000] [--json PATH]

The rows are the Fashion-MNIST images projected on their first ``d``
principal components (fitted on the first 20,000 training images; 784 is the
pixels themselves), as a user's PCA output or embedding would be, in three
types: float64 and float32 as projected, and uint8 (the components scaled
into 0-255 with the training rows' range, the test rows clipped to it). For
each dimension, type and metric (euclidean, manhattan, cosine), all in one
run on the same arrays:

* fmnist: ``BlockKNNClassifier(5, metric=m).fit(X_train, y_train)`` and one
  timed ``kneighbors`` of the test rows, search reuse off
  (``algorithm='auto'``: whatever the library picks, named in the output);
* faiss (when installed), exact flat indexes on float32 copies:
  ``IndexFlatL2`` (euclidean), ``IndexFlatIP`` on unit rows (cosine),
  ``IndexFlat(d, METRIC_L1)`` (manhattan);
* scikit-learn: ``NearestNeighbors(algorithm='brute')`` on
  ``--sklearn-queries`` of the queries, scaled to all of them.

Each time is one call after a warm-up call (numba compiles or loads the
kernels of the route, faiss and BLAS start their threads; fmnist warms up on
all the queries, since a few of them take other kernels). Threads: numba's
search and faiss use every core; scikit-learn's BLAS too.
"""

import argparse
import os
import time

import numpy as np
from _results import add_json_option, write_results

METRICS = ("euclidean", "manhattan", "cosine")
DTYPES = ("uint8", "float32", "float64")


def _projections(X_train, X_test, d):
    """``{dtype: (train, test)}`` of the first ``d`` principal components."""
    if d >= X_train.shape[1]:
        A, B = X_train.astype(np.float64), X_test.astype(np.float64)
        return {
            "uint8": (X_train, X_test),
            "float32": (A.astype(np.float32), B.astype(np.float32)),
            "float64": (A, B),
        }
    from sklearn.decomposition import PCA

    pca = PCA(d, random_state=0).fit(X_train[:20000].astype(np.float64))
    A = pca.transform(X_train.astype(np.float64))
    B = pca.transform(X_test.astype(np.float64))
    low, high = A.min(), A.max()

    def to_uint8(M):
        return np.clip(np.round((M - low) / (high - low) * 255), 0, 255).astype(
            np.uint8
        )

    return {
        "uint8": (to_uint8(A), to_uint8(B)),
        "float32": (A.astype(np.float32), B.astype(np.float32)),
        "float64": (A, B),
    }


def _time_fmnist(A, B, y, metric):
    from fmnist import BlockKNNClassifier
    from fmnist.neighbors import search_cache
    from fmnist.neighbors._pruned import applies

    clf = BlockKNNClassifier(5, metric=metric).fit(A, y)
    clf.kneighbors(B)  # compiles the kernels this many queries take
    search_cache.clear()
    start = time.perf_counter()
    clf.kneighbors(B)
    seconds = time.perf_counter() - start
    spec = clf.search_index().spec
    pruned = applies(spec, spec.query_array(B[:1]), clf._fit_X)
    return seconds, "pruned" if pruned else "brute"


def _time_faiss(A, B, metric):
    try:
        import faiss
    except ImportError:
        return None
    a = np.ascontiguousarray(A, dtype=np.float32)
    b = np.ascontiguousarray(B, dtype=np.float32)
    if metric == "cosine":
        a, b = a.copy(), b.copy()
        faiss.normalize_L2(a)
        faiss.normalize_L2(b)
        index = faiss.IndexFlatIP(a.shape[1])
    elif metric == "manhattan":
        index = faiss.IndexFlat(a.shape[1], faiss.METRIC_L1)
    else:
        index = faiss.IndexFlatL2(a.shape[1])
    index.add(a)
    index.search(b[:200], 5)
    start = time.perf_counter()
    index.search(b, 5)
    return time.perf_counter() - start


def _time_sklearn(A, B, metric, n_queries):
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=5, metric=metric, algorithm="brute").fit(A)
    nn.kneighbors(B[:200])
    part = B[:n_queries]
    start = time.perf_counter()
    nn.kneighbors(part)
    return (time.perf_counter() - start) * len(B) / len(part)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 8, 16, 50, 128, 784])
    parser.add_argument("--queries", type=int, default=10000)
    parser.add_argument("--sklearn-queries", type=int, default=1000)
    add_json_option(parser)
    args = parser.parse_args()
    os.environ["FMNIST_KNN_CACHE_MB"] = "0"  # every call searches

    from fmnist.datasets import load_train_test

    X_train, X_test, y_train, _ = load_train_test()
    X_test = X_test[: args.queries]
    rows = []
    print(f"{'d':>4} {'dtype':8} {'metric':10} {'fmnist':>14}", end=" ")
    print(f"{'faiss':>7} {'sklearn':>8}")
    for d in args.dims:
        for dtype, (A, B) in _projections(X_train, X_test, d).items():
            for metric in METRICS:
                ours, route = _time_fmnist(A, B, y_train, metric)
                faiss_s = _time_faiss(A, B, metric)
                sklearn_s = _time_sklearn(A, B, metric, args.sklearn_queries)
                peers = [s for s in (faiss_s, sklearn_s) if s is not None]
                rows.append(
                    {
                        "features": d,
                        "dtype": dtype,
                        "metric": metric,
                        "fmnist_seconds": ours,
                        "fmnist_route": route,
                        "faiss_seconds": faiss_s,
                        "sklearn_seconds": sklearn_s,
                        "faster_than_a_peer": ours <= max(peers),
                        "ratio_to_fastest_peer": ours / min(peers),
                    }
                )
                faiss_text = "-" if faiss_s is None else f"{faiss_s:.2f}"
                print(
                    f"{d:>4} {dtype:8} {metric:10} {ours:>7.2f} {route:>6} "
                    f"{faiss_text:>7} {sklearn_s:>8.2f}",
                    flush=True,
                )
    write_results(
        args.json,
        {
            "n_train": len(X_train),
            "n_queries": len(X_test),
            "sklearn_queries": args.sklearn_queries,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
