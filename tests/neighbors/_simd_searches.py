"""Exact uint8 searches on one SIMD code path: wide rows, pruned against
brute force, and the summation order of the float tiles.

Run in a child compiled for each SIMD target (``test_exactness.py``), or
in the test process itself for the target whose code path is the host's.
The child puts this folder and ``tests/`` (``_knn_helpers``) on ``sys.path``.
"""

import sys
from fractions import Fraction

import numpy as np
from _knn_helpers import knn_search

from fmnist import BlockKNNClassifier
from fmnist.neighbors._brute import _dispatch as _brute
from fmnist.neighbors._kernels._float_tiles import _squares_1x4


def check_searches(widths):
    """Assert that every search is exact on rows of each of ``widths`` bytes."""
    # Brute force takes the panel tiles (AVX2, AVX-512) for any batch here.
    before = _brute.PANELS["min_queries"]
    _brute.PANELS["min_queries"] = 1
    try:
        _check(widths)
    finally:
        _brute.PANELS["min_queries"] = before


def _exact_sqeuclidean(Q, X):
    Q, X = Q.astype(np.int64), X.astype(np.int64)
    return ((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1)


def _fma(d, acc):
    """``d * d + acc`` with one rounding, as a fused multiply-add rounds."""
    return float(Fraction(d) * Fraction(d) + Fraction(acc))


def _check(widths):
    rng = np.random.default_rng(0)
    for width in widths:
        # All-0 and all-255 training rows, the query equal to the all-255 row,
        # plus bright and dark random rows.
        X = np.zeros((6, width), np.uint8)
        X[1] = 255
        X[2] = rng.integers(200, 256, width)
        X[3] = rng.integers(0, 50, width)
        X[4] = rng.integers(0, 256, width)
        X[5] = X[2] // 2  # not parallel to X[2] (odd values round down)
        y = np.arange(6)
        Q = np.stack([X[1], X[2], X[3] + 1, np.full(width, 254, np.uint8)])
        ref = _exact_sqeuclidean(Q, X)
        order = np.argsort(ref, axis=1, kind="stable")
        for metric in ("sqeuclidean", "euclidean", "manhattan", "cosine"):
            for n_jobs in (1, 2):
                est = BlockKNNClassifier(6, metric=metric, n_jobs=n_jobs).fit(X, y)
                dist, ind = est.kneighbors(Q)
                assert np.isfinite(dist).all(), (width, metric, dist)
                if metric == "sqeuclidean":
                    assert (dist == np.take_along_axis(ref, order, 1)).all(), width
                    assert (ind == order).all(), (width, ind)
                elif metric == "euclidean":
                    assert (ind == order).all(), (width, ind)
                    expected = np.sqrt(np.take_along_axis(ref, order, 1))
                    assert np.allclose(dist, expected)
                elif metric == "manhattan":
                    diff = Q.astype(np.int64)[:, None] - X.astype(np.int64)
                    l1 = np.abs(diff).sum(-1)
                    assert (dist == np.sort(l1, axis=1)).all(), width
                else:
                    # The all-255 query is parallel to the all-255 row only;
                    # the all-254 query too. Both get exactly 0, rank it first.
                    for row, nearest in ((0, 1), (3, 1), (1, 2)):
                        got = (dist[row, 0], ind[row, 0])
                        assert got == (0.0, nearest), (width, row, got)
                    assert (dist[:, 1:] > 0).all()
                    assert (dist <= 2).all()
                one = est.set_params(n_neighbors=1)
                assert (one.predict(Q[:2]) == [1, 2]).all(), (width, metric)

    # The pruned search on this code path: image-like rows, against brute force.

    yy, xx = np.mgrid[:28, :28]

    def images(n):
        c = rng.uniform(0, 28, (n, 2, 1, 1))
        w = rng.uniform(2, 14, (n, 1, 1))
        img = np.exp(-((yy - c[:, 0]) ** 2 + (xx - c[:, 1]) ** 2) / w**2) * 255
        return np.round(img).astype(np.uint8).reshape(n, -1)

    Y, X = images(3000), images(60)
    for metric in ("manhattan", "euclidean", "sqeuclidean", "cosine"):
        for n_jobs in (1, 2):
            results = []
            for algorithm in ("brute", "pruned"):
                options = dict(algorithm=algorithm, n_jobs=n_jobs, reuse=False)
                results.append(knn_search(X, Y, 7, metric=metric, **options))
            for got, want in zip(results[1], results[0]):
                assert (got == want).all(), ("pruned", metric, n_jobs)
    # One order on every target: four lanes, (l0 + l1) + (l2 + l3), then the
    # rest, each square added with one rounding (fma, by fractions here).

    for n in (7, 785):
        A = rng.standard_normal((5, n)).astype(np.float32)
        for j, got in zip(range(1, 5), _squares_1x4(A, A, 0, 1, 2, 3, 4)):
            d = [float(a) - float(b) for a, b in zip(A[0], A[j])]
            lanes = [0.0] * 4
            for t in range(n - n % 4):
                lanes[t % 4] = _fma(d[t], lanes[t % 4])
            want = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
            for t in range(n - n % 4, n):
                want = _fma(d[t], want)
            assert got == want, (n, j, got, want)


if __name__ == "__main__":
    check_searches([int(w) for w in sys.argv[1:]])
    print("ok")
