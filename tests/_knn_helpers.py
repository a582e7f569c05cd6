"""The kNN tests' search helper, test data and exact reference distances.

Shared by ``tests/neighbors/`` and ``tests/distributed/`` (and the children
some of them start, which put ``tests/`` on ``sys.path``).
"""

import numpy as np

from fmnist.neighbors import SearchSpec
from fmnist.neighbors import search as _spine_search

#: Options of :meth:`SearchSpec.build`; any other keyword goes to the search.
_SPEC_OPTIONS = ("algorithm", "block_size", "n_jobs")


def knn_search(X, Y, k, *, metric="euclidean", p=2, convert_queries=False, **options):
    """The search spine, ``fmnist.neighbors.search``, on raw arrays.

    The spec is built for ``Y``'s dtype with ``metric`` and ``p``. Of
    ``options``, ``algorithm``, ``block_size`` and ``n_jobs`` go to
    :meth:`SearchSpec.build`, the rest (``exclude_self``, ``reuse``) to the
    search; an option not given keeps the library's default. With
    ``convert_queries``, ``X`` is first converted as the estimators convert
    queries (``spec.query_array``); otherwise the spine gets it as it is (and
    checks its dtype).
    """
    spec_options = {key: options.pop(key) for key in _SPEC_OPTIONS if key in options}
    spec = SearchSpec.build(metric, p, Y.dtype, **spec_options)
    if convert_queries:
        X = spec.query_array(X)
    return _spine_search(spec, X, Y, k, **options)


def _no_brute_force(*args):
    raise AssertionError("brute force ran where the pruned search should")


def assert_pruned_matches_brute(
    metric, X, Y, k, n_jobs=1, exclude_self=False, really_pruned=False
):
    """Assert that the pruned search returns brute force's answer bit for bit,
    and return it: both on ``n_jobs`` threads, neither reused. With
    ``really_pruned``, brute force is switched off for the pruned search, so a
    search that fell back to it fails."""
    import pytest

    from fmnist.neighbors._brute import _dispatch as _brute

    options = dict(metric=metric, n_jobs=n_jobs, exclude_self=exclude_self)
    d_b, i_b = knn_search(X, Y, k, algorithm="brute", reuse=False, **options)
    with pytest.MonkeyPatch.context() as patch:
        if really_pruned:
            patch.setattr(_brute, "search", _no_brute_force)
        d_p, i_p = knn_search(X, Y, k, algorithm="pruned", reuse=False, **options)
    np.testing.assert_array_equal(d_p, d_b)
    np.testing.assert_array_equal(i_p, i_b)
    return d_p, i_p


def blob_images(n, side, seed, levels=256):
    """Smooth, image-like uint8 rows of ``side * side`` pixels (blobs of
    random place, width and brightness), so that the pruned search's bounds
    prune; ``levels`` grey levels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    centres = rng.uniform(0, side, (n, 2, 1, 1))
    width = rng.uniform(2, side / 2, (n, 1, 1))
    img = np.exp(-((yy - centres[:, 0]) ** 2 + (xx - centres[:, 1]) ** 2) / width**2)
    img = img * rng.uniform(0.2, 1.0, (n, 1, 1)) * (levels - 1)
    return np.round(img).astype(np.uint8).reshape(n, -1)


def exact_distances(X, Y, metric, p=2):
    """All distances from ``X``'s rows to ``Y``'s, from explicit differences:
    exact for integer input (int64), float64 otherwise.

    No matrix product: its rounding depends on the BLAS kernel (AVX2 and
    AVX-512 builds differ) and cancels digits for close rows.
    """
    if metric == "cosine":
        return _exact_cosine(X, Y)
    integer = X.dtype.kind in "iub"
    work = np.int64 if integer else np.float64
    diff = np.abs(X.astype(work)[:, None, :] - Y.astype(work)[None, :, :])
    if metric == "minkowski" and p == 1:
        metric = "manhattan"
    if metric == "minkowski" and p == 2:
        metric = "euclidean"
    if metric == "manhattan":
        return diff.sum(axis=2).astype(np.float64)
    if metric == "sqeuclidean":
        return (diff * diff).sum(axis=2).astype(np.float64)
    if metric == "euclidean":
        return np.sqrt((diff * diff).sum(axis=2).astype(np.float64))
    if metric == "chebyshev":
        return diff.max(axis=2).astype(np.float64)
    return ((diff.astype(np.float64) ** p).sum(axis=2)) ** (1.0 / p)


def _exact_cosine(X, Y):
    """``1 - cos``, as half the squared distance of the rows scaled to unit
    length; exactly 0 for integer rows pointing the same way, 1 against a row
    of zeros."""
    if X.dtype.kind in "iub":  # exact: rows pointing the same way give 0
        A, B = X.astype(np.int64), Y.astype(np.int64)
        dot = A @ B.T
        sq = np.outer((A * A).sum(axis=1), (B * B).sum(axis=1))
        parallel = (dot > 0) & (dot * dot == sq)
    else:
        parallel = np.zeros((len(X), len(Y)), dtype=bool)
    A, B = X.astype(np.float64), Y.astype(np.float64)
    nx = np.sqrt((A * A).sum(axis=1))
    ny = np.sqrt((B * B).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        a, b = A / nx[:, None], B / ny[:, None]
        dist = np.clip(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2) / 2, 0.0, 2.0)
    dist[parallel] = 0.0
    dist[(nx == 0)[:, None] | (ny == 0)[None, :]] = 1.0
    return dist
